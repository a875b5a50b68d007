"""HorizontalPodAutoscaler, autoscaling/v2 defaults (kubernetes/kubernetes
pkg/controller/podautoscaler): sync every 15 s, desiredReplicas = ceil(currentReplicas x
currentUtilization / target), tolerance 0.1, scale-down stabilisation window 300 s,
scale-up policies 100% or 4 pods per 15 s (the larger), replicas bounded by
minReplicas/maxReplicas.

The scenario's ``utilization:`` profile is the CPU utilisation the Deployment's initial
replicas would show; with more replicas the same load spreads thinner.
"""

from __future__ import annotations

import pytest
from simkit import Run, cluster_yaml, deployment, make_sim

SYNC = 15.0
WINDOW = 300.0


def hpa_scenario(replicas: int, profile: str, *, target: int = 50, min_replicas: int = 1,
                 max_replicas: int = 100, duration: str = "20m") -> str:
    """A Deployment of *replicas* pods (100m each) with an HPA and a utilisation profile
    (``[{at: 0s, cpu: 100}, ...]``)."""
    return cluster_yaml(overlay=True, count=3, duration=duration) + "workloads:" + deployment(
        replicas=replicas, cpu="100m", memory="64Mi") + f"""
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {{name: web}}
    spec:
      scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
      minReplicas: {min_replicas}
      maxReplicas: {max_replicas}
      metrics:
        - type: Resource
          resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {target}}}}}
utilization:
  - deployment: web
    profile: {profile}
"""


def rescales(run: Run) -> list[tuple[float, int]]:
    """(time, new replicas) of every SuccessfulRescale."""
    return [(e.sim_time, e.event.replicas) for e in run.of("SuccessfulRescale")]


def desired(run: Run) -> int:
    """The Deployment's replicas at the end."""
    return int(run.sim.report().figures["deployment.web.desiredFinal"])


def test_utilisation_twice_the_target_doubles_the_replicas(simulate) -> None:
    """10 replicas at 100% against a 50% target: ceil(10 x 100/50) = 20 at the first sync,
    published as SuccessfulRescale (HPA) and ScalingReplicaSet (Deployment controller); at
    20 replicas the load is 50% per pod and nothing changes any more."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 100}]"))
    assert rescales(run) == [(SYNC, 20)]
    [rs] = run.of("ScalingReplicaSet")
    assert (rs.sim_time, rs.event.old, rs.event.new) == (SYNC, 10, 20)
    assert rs.event.name.startswith("web-")
    [hpa] = run.of("SuccessfulRescale")
    assert hpa.event.name == "web"
    assert "above target" in hpa.event.message
    assert desired(run) == 20
    assert run.sim.report().figures["deployment.web.availableFinal"] == 20


@pytest.mark.parametrize(("replicas", "cpu", "target", "expected"), [
    (10, 56, 50, 12),   # ratio 1.12: ceil(11.2)
    (4, 90, 60, 6),     # ratio 1.5
    (3, 70, 50, 5),     # ratio 1.4: ceil(4.2)
    (6, 75, 50, 9),     # ratio 1.5
])
def test_desired_replicas_is_ceil_of_current_times_ratio(
        simulate, replicas: int, cpu: int, target: int, expected: int) -> None:
    """desiredReplicas = ceil(currentReplicas x currentMetricValue / desiredMetricValue)
    (HPA docs, algorithm details), outside the 0.1 tolerance."""
    run = simulate(hpa_scenario(replicas, f"[{{at: 0s, cpu: {cpu}}}]", target=target),
                   until=60)
    assert rescales(run)[0] == (SYNC, expected)


@pytest.mark.parametrize("cpu", [52, 48, 54, 46])
def test_no_rescale_within_tolerance(simulate, cpu: int) -> None:
    """|utilisation/target - 1| <= 0.1 (--horizontal-pod-autoscaler-tolerance): the HPA
    leaves 10 replicas alone at 46-54% against a 50% target."""
    run = simulate(hpa_scenario(10, f"[{{at: 0s, cpu: {cpu}}}]"), until=900)
    assert run.of("SuccessfulRescale") == []
    assert run.of("ScalingReplicaSet") == []
    assert desired(run) == 10


def test_scale_down_waits_for_the_stabilisation_window(simulate) -> None:
    """Load halves at 10 min: the recommendation drops to 5 at once, but the HPA uses the
    highest recommendation of the last 300 s, so the scale-down comes 300 s after the last
    recommendation of 10 (the sync just before 10 min), not before."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 50}, {at: 10m, cpu: 25}]"), until=1200)
    [(t, replicas)] = rescales(run)
    assert replicas == 5
    last_high = 600.0 - SYNC     # the last sync that saw 50%
    assert last_high + WINDOW <= t <= 600.0 + WINDOW + SYNC
    [rs] = run.of("ScalingReplicaSet")
    assert (rs.event.old, rs.event.new) == (10, 5)
    assert desired(run) == 5


def test_scale_down_at_the_first_sync_whose_window_holds_no_higher_recommendation(simulate) -> None:
    """horizontal.go stabilizeRecommendationWithBehaviors: a recommendation counts while
    ``timestamp.After(now - 300 s)``. The last recommendation of 10 is at 585 s, so at 885 s it
    no longer counts and the HPA scales down to 5 then."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 50}, {at: 10m, cpu: 25}]"), until=1200)
    assert rescales(run) == [(885.0, 5)]


def test_a_new_hpa_does_not_scale_down_before_the_window(simulate) -> None:
    """horizontal.go reconcileAutoscaler calls recordInitialRecommendation(currentReplicas)
    before computing anything, so the scale-down stabilisation window also covers the HPA's
    start: 10 replicas at 25% against 50% go to 5 only after 300 s."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 25}]"), until=900)
    assert rescales(run)
    t, replicas = rescales(run)[0]
    assert replicas == 5
    assert t >= WINDOW - SYNC


def test_max_replicas_caps_the_scale_up(simulate) -> None:
    """A recommendation of 20 with maxReplicas 15 gives 15."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 100}]", max_replicas=15), until=300)
    assert rescales(run) == [(SYNC, 15)]
    assert desired(run) == 15


def test_min_replicas_floors_the_scale_down(simulate) -> None:
    """Load falls to 5% (a recommendation of ceil(10 x 0.1) = 1); minReplicas 4 keeps 4, and
    the scale-down still waits for the window."""
    run = simulate(hpa_scenario(10, "[{at: 0s, cpu: 50}, {at: 5m, cpu: 5}]", min_replicas=4),
                   until=1200)
    [(t, replicas)] = rescales(run)
    assert replicas == 4
    assert t >= 300.0 - SYNC + WINDOW
    assert desired(run) == 4


def test_replicas_below_min_replicas_are_raised_to_it(simulate) -> None:
    """Current replicas below minReplicas: the HPA sets minReplicas even with the metric on
    target."""
    run = simulate(hpa_scenario(2, "[{at: 0s, cpu: 50}]", min_replicas=4), until=120)
    assert rescales(run) == [(SYNC, 4)]
    assert desired(run) == 4


def test_scale_up_per_sync_is_limited_to_double_or_four_more(simulate) -> None:
    """Default scaleUp policies (100% or 4 pods per 15 s, selectPolicy Max): 2 replicas at
    500% against 50% want 20; the HPA goes 2 -> 6 (+4 beats x2) -> 12 (x2 beats +4) -> 20,
    one step per sync."""
    run = simulate(hpa_scenario(2, "[{at: 0s, cpu: 500}]"), until=300)
    assert rescales(run) == [(SYNC, 6), (2 * SYNC, 12), (3 * SYNC, 20)]
    steps = [(e.event.old, e.event.new) for e in run.of("ScalingReplicaSet")]
    assert steps == [(2, 6), (6, 12), (12, 20)]
    assert desired(run) == 20


TRAFFIC_HPA = """
duration: 20m
seed: 2
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1}
    - {name: user, count: 6, vmSize: Standard_D8s_v3}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          nodeSelector: {agentpool: user}
          containers:
            - name: api
              resources: {requests: {cpu: "1", memory: 256Mi}}
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec: {type: LoadBalancer, selector: {app: api}, ports: [{port: 80}]}
  - apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: api}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
      minReplicas: 2
      maxReplicas: 20
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
traffic:
  flows:
    - name: users
      to: {service: api}
      rate: {profile: step, steps: [{at: 0s, rps: 20}, {at: 5m, rps: 200}]}
  backends:
    - deployment: api
      serviceTime: {distribution: exponential, mean: 20ms}
      concurrency: 8
      cpu: 0.5
"""


def test_hpa_scales_on_the_cpu_that_traffic_causes() -> None:
    """At 200 rps x 20 ms x 0.5 core = 2 cores of demand and a 50% target of 1-core requests,
    the HPA settles at ceil(2 / 0.5) = 4 replicas (desired = ceil(current x usage / target))."""
    sim, events = make_sim(TRAFFIC_HPA)
    sim.advance_to(299)
    assert sim.model.workloads.find("api").desired == 2  # 20 rps: 0.2 cores, 10% < 50%
    sim.run()
    assert sim.model.workloads.find("api").desired == 4
    assert any(e.event.reason == "SuccessfulRescale" for e in events)
