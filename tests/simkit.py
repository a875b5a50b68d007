"""Test kit: build a scenario from a few lines of YAML, run it, look at its events."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from sim.engine import Simulation
from sim.events import SimEvent
from sim.kernel.bus import Envelope
from sim.scenario import load_text

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """A simulation and every envelope it published."""

    sim: Simulation
    events: list[Envelope]

    def of(self, reason: str) -> list[Envelope]:
        """Envelopes whose event has *reason*."""
        return [e for e in self.events if e.event.reason == reason]

    def times(self, reason: str) -> list[float]:
        """Sim times of the events with *reason*."""
        return [e.sim_time for e in self.of(reason)]

    @property
    def model(self):  # noqa: ANN201 - the Model, for white-box checks
        return self.sim.model


def make_sim(text: str, *, seed: int | None = None) -> tuple[Simulation, list[Envelope]]:
    """A Simulation of the scenario *text* (YAML), with a recorder of every envelope."""
    loaded = load_text(textwrap.dedent(text), "<test>", str(ROOT / "scenarios"))
    sim = Simulation(loaded, seed=seed)
    events: list[Envelope] = []
    sim.bus.subscribe(SimEvent, events.append)
    return sim, events


CLUSTER = """
duration: {duration}
seed: 1
cluster:
  networkPlugin: {plugin}
  {mode}
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - name: nodes
        addressPrefix: {subnet}
  nodePools:
    - name: system
      mode: System
      count: 1
      maxPods: {max_pods}
    - name: user
      count: {count}
      maxPods: {max_pods}
"""


def cluster_yaml(*, plugin: str = "azure", overlay: bool = False, subnet: str = "10.10.0.0/22",
                 count: int = 3, max_pods: int = 30, duration: str = "30m") -> str:
    """A small two-pool cluster scenario, as YAML text, for tests to extend."""
    return CLUSTER.format(plugin=plugin, mode="networkPluginMode: overlay" if overlay else "",
                          subnet=subnet, count=count, max_pods=max_pods, duration=duration)


def deployment(name: str = "web", replicas: int = 3, cpu: str = "250m", memory: str = "256Mi",
               pool: str | None = "user", extra_spec: str = "") -> str:
    """A Deployment manifest as an inline ``workloads:`` list item (YAML text)."""
    selector = f"\n          nodeSelector: {{agentpool: {pool}}}" if pool else ""
    return f"""
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: {name}}}
    spec:
      replicas: {replicas}
      selector: {{matchLabels: {{app: {name}}}}}
      template:
        metadata: {{labels: {{app: {name}}}}}
        spec:{selector}{extra_spec}
          containers:
            - name: {name}
              resources: {{requests: {{cpu: "{cpu}", memory: {memory}}}}}
"""
