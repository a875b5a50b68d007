"""Every number of a scenario is finite and inside its documented range.

The fields are found by walking the pydantic models of ``sim/scenario/schema.py`` (a new
numeric field is covered without touching this file); each is set, in a scenario that uses
every model, to non-finite, negative, huge and mistyped values. Each must give a located error
at that very field (file:line:column, the field's path), never a traceback.
"""

from __future__ import annotations

import math
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.kernel.errors import ScenarioError
from sim.scenario import load_text, schema
from sim.scenario.messages import types_at
from sim.scenario.yamlmarks import render_path

ROOT = Path(__file__).resolve().parents[2]

SINK = """
name: kitchen-sink
seed: 7
duration: 1h
cluster:
  networkPlugin: azure
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - name: nodes
        addressPrefix: 10.10.0.0/20
        securityRules:
          - {name: deny-ssh, priority: 200, access: Deny, destinationPorts: [22]}
      - name: spare
        addressPrefix: 10.10.16.0/24
  nodePools:
    - {name: system, mode: System, count: 2, maxPods: 30, enableAutoScaling: true, minCount: 1,
       maxCount: 5}
    - {name: user, count: 3, maxPods: 30, maxSurge: 1}
  timings:
    nodeMonitorGracePeriod: 40s
    nodeMonitorPeriod: 5s
    defaultNotReadyTolerationSeconds: 300
    defaultUnreachableTolerationSeconds: 300
    nodeProvisioningTime: {distribution: uniform, min: 2m, max: 5m}
    podStartupTime: {distribution: normal, mean: 5s, stddev: 1s, min: 1s}
    sandboxRetryInterval: 10s
    nodeDrainTime: 30s
    nodeReimageTime: 5m
  autoscalerProfile:
    scanInterval: 10s
    scaleDownDelayAfterAdd: 10m
    scaleDownDelayAfterFailure: 3m
    scaleDownUnneededTime: 10m
    scaleDownUnreadyTime: 20m
    scaleDownUtilizationThreshold: 0.5
    maxNodeProvisionTime: 15m
    newPodScaleUpDelay: 0s
    initialBackoff: 5m
    maxBackoff: 30m
  autoRepair: {unhealthyAfter: 10m, rebootTime: 5m, reimageTime: 10m, redeployTime: 15m}
  loadBalancerProfile: {managedOutboundIPs: 1, allocatedOutboundPorts: 1024, idleTimeoutInMinutes: 30}
  kubeProxyConfig: {mode: IPVS, ipvsConfig: {scheduler: LeastConnection, tcpFinTimeoutSeconds: 120}}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          nodeSelector: {agentpool: user}
          containers:
            - name: web
              ports: [{name: http, containerPort: 8080}]
              resources: {requests: {cpu: 250m, memory: 256Mi}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: client}
    spec:
      replicas: 2
      selector: {matchLabels: {app: client}}
      template:
        metadata: {labels: {app: client}}
        spec:
          nodeSelector: {agentpool: user}
          containers:
            - name: client
              resources: {requests: {cpu: 100m, memory: 128Mi}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ingress, namespace: ingress}
    spec:
      replicas: 2
      selector: {matchLabels: {app: ingress}}
      template:
        metadata: {labels: {app: ingress}}
        spec:
          nodeSelector: {agentpool: user}
          containers:
            - name: nginx
              ports: [{name: http, containerPort: 80}]
              resources: {requests: {cpu: 100m, memory: 128Mi}}
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {type: LoadBalancer, selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: ingress, namespace: ingress}
    spec: {type: LoadBalancer, selector: {app: ingress}, ports: [{name: http, port: 80, targetPort: http}]}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: web}
    spec:
      rules:
        - host: shop.example.com
          http:
            paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-web}
    spec: {podSelector: {matchLabels: {app: web}}, ingress: [{}], policyTypes: [Ingress]}
utilization:
  - deployment: web
    profile: [{at: 0s, cpu: 50}, {at: 30m, cpu: 80}]
traffic:
  tick: 1s
  endpointPropagationDelay: 1s
  probeInterval: 5s
  probeThreshold: 2
  networkLatency: 1ms
  ingressController: {service: ingress/ingress, proxyTime: 500us, tlsTime: 1ms, concurrency: 1024}
  coredns:
    replicas: 2
    serviceTime: 200us
    concurrency: 16
    queryTimeout: 5s
    attempts: 2
    upstreamLatency: 2ms
    cacheTtl: 30s
  httpApplicationRouting:
    dnsZone: example.com
    dnsSyncInterval: 1m
    certificates: {issuanceTime: {distribution: uniform, min: 30s, max: 2m}, failureProbability: 0.1}
  flows:
    - {name: constant, to: {service: web, port: 80}, rate: {profile: constant, rps: 10},
       clients: 100, timeout: 10s}
    - {name: ramp, to: {service: web}, rate: {profile: ramp, from: 1, to: 20, at: 1m, over: 10m}}
    - {name: steps, to: {service: web}, rate: {profile: step, steps: [{at: 0s, rps: 5}, {at: 10m, rps: 10}]}}
    - {name: diurnal, to: {service: web},
       rate: {profile: diurnal, mean: 10, amplitude: 5, period: 1h, peakAt: 30m}}
    - {name: spike, to: {service: web}, rate: {profile: spike, base: 5, peak: 50, at: 20m, duration: 2m}}
    - {name: shop, ingress: {host: shop.example.com, path: /}, rate: {profile: constant, rps: 5}}
    - {name: lookups, from: pods, client: client, to: {service: web}, rate: {profile: constant, rps: 5}}
    - {name: outbound, from: pods, client: client, rate: {profile: constant, rps: 5},
       external: {address: 20.1.2.3, port: 443, latency: {distribution: exponential, mean: 50ms}}}
  backends:
    - {deployment: web, serviceTime: {distribution: fixed, value: 20ms}, concurrency: 2, cpu: 1}
chaos:
  - {fault: node_failure, at: 5m, duration: 5m, nodePool: user, count: 1}
  - {fault: zone_failure, at: 5m, duration: 5m, zone: "1"}
  - {fault: pod_kill, at: 6m, deployment: web, count: 1}
  - {fault: coredns_outage, at: 7m, duration: 1m, count: 1}
  - {fault: ingress_controller_crash, at: 8m, duration: 1m, count: 1}
  - {fault: lb_probe_failure, at: 9m, duration: 1m, service: web, count: 1}
  - {fault: subnet_squeeze, at: 10m, duration: 1m, subnet: nodes, addresses: 10}
  - {fault: network_policy, at: 11m, duration: 1m, delete: default/allow-web}
  - {fault: nsg_rule, at: 12m, duration: 1m, add: {name: deny-web, priority: 300, access: Deny}}
  - {fault: snat_pressure, at: 13m, duration: 1m, deployment: client, address: 20.1.2.3, port: 443,
     connections: 100}
  - {fault: zone_latency, at: 14m, duration: 1m, latency: 50ms}
  - {fault: zone_loss, at: 15m, duration: 1m, loss: 0.1}
  - {fault: partition, at: 16m, duration: 1m, zones: ["1"]}
operations:
  - {operation: scale, at: 20m, nodePool: user, count: 4}
  - {operation: upgrade, at: 25m, nodePool: user, kubernetesVersion: "1.31", maxSurge: 33%}
  - {operation: scale_deployment, at: 30m, deployment: web, replicas: 4}
  - {operation: network_policy, at: 31m, delete: default/allow-web}
  - {operation: ingress, at: 32m, delete: default/web}
expect:
  - {event: NodeNotReady, atLeast: 0, atMost: 100, after: 1m, before: 50m}
  - {figure: flow.constant.errorRate, atMost: 1, equals: 0.5}
  - {sequence: [NodeNotReady, {event: NodeReady, after: 1m, before: 50m}]}
  - {reach: {from: internet, to: ingress/ingress, port: 80, verdict: allow}}
"""


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], [*meta, *args[1:]]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType) and len(
                [a for a in typing.get_args(tp) if a is not type(None)]) == 1:
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return tp, meta


NUMERIC_PARSERS = {schema.parse_duration, schema._period, schema._tick, schema._surge}


def _is_numeric(annotation: Any, metadata: list[Any]) -> bool:
    base, meta = _strip(annotation)
    meta = [*metadata, *meta]
    if any(getattr(m, "func", None) in NUMERIC_PARSERS for m in meta):
        return True
    return base in (int, float)


def _models(tp: Any, out: list[type[BaseModel]]) -> list[type[BaseModel]]:
    if typing.get_origin(tp) is typing.Annotated:
        return _models(typing.get_args(tp)[0], out)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in out:
            out.append(tp)
            for info in tp.model_fields.values():
                _models(info.annotation, out)
        return out
    for arg in typing.get_args(tp):
        _models(arg, out)
    return out


MODELS = _models(schema.Scenario, [])
NUMERIC = {(m, name): info for m in MODELS for name, info in m.model_fields.items()
           if _is_numeric(info.annotation, list(info.metadata))}


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> typing.Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _nodes(v, (*path, i))


def _targets() -> list[tuple[str, tuple[Any, ...]]]:
    """Every numeric field of every model, at the first place the sink has that model."""
    data = yaml.safe_load(SINK)
    seen: dict[tuple[type, str], tuple[Any, ...]] = {}
    for path, node in _nodes(data):
        if not isinstance(node, dict):
            continue
        for tp in types_at(schema.Scenario, path, data):
            model = _strip(tp)[0]
            for (m, name), info in NUMERIC.items():
                if m is model and (m, name) not in seen:
                    seen[(m, name)] = (*path, info.alias or name)
    missing = sorted(f"{m.__name__}.{n}" for m, n in NUMERIC if (m, n) not in seen)
    assert not missing, f"the kitchen sink lacks a place for {missing}"
    return [(f"{m.__name__}.{n}", p) for (m, n), p in seen.items()]


TARGETS = _targets()


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _load_with(path: tuple[Any, ...], value: Any) -> list[Any]:
    """The issues of the sink with *value* at *path* (a traceback fails the test)."""
    data = yaml.safe_load(SINK)
    _set(data, path, value)
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        load_text(text, "<sink>", str(ROOT / "scenarios"))
    except ScenarioError as exc:
        return exc.issues
    return []


def _assert_located(path: tuple[Any, ...], value: Any) -> None:
    issues = _load_with(path, value)
    where = render_path(path)
    here = [i for i in issues if i.severity == "error" and i.path == where]
    assert here, f"{where} = {value!r}: expected an error at {where}, got {[i.render() for i in issues]}"
    for issue in here:
        assert issue.file == "<sink>" and issue.line > 0 and issue.column > 0, issue
        assert "expected" in issue.message or "must" in issue.message, issue


def test_the_kitchen_sink_is_valid_and_covers_every_numeric_field() -> None:
    assert len(NUMERIC) >= 100  # the walk found the schema's numbers
    issues = [i for i in _load_with(("seed",), 7) if i.severity == "error"]
    assert not issues, [i.render() for i in issues]


FIXED_HOSTILE = [math.nan, -math.inf, -1, 2**63, "1e9", True, [1]]


@pytest.mark.parametrize(("field", "path"), TARGETS, ids=[t[0] for t in TARGETS])
def test_each_numeric_field_refuses_non_finite_negative_huge_and_mistyped(
        field: str, path: tuple[Any, ...]) -> None:
    for value in FIXED_HOSTILE:
        if value == -1 and field.split(".")[1] in ("at_least", "at_most", "equals"):
            continue  # an expectation's bound may be negative (from -1e15 to 1e15)
        _assert_located(path, value)


def _hostile() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.integers(min_value=2**53, max_value=2**200),
        st.floats(min_value=1e16, allow_infinity=False),
        st.floats(max_value=-1e16, allow_infinity=False),
        st.text(alphabet="abcxyz%!.-e", min_size=1, max_size=8).filter(
            lambda s: not s.rstrip("%").isdigit()),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.builds(lambda n, u: f"{n}{u}", st.integers(min_value=10**7, max_value=10**30),
                  st.sampled_from(["d", "h", "s", "%"])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), value=_hostile())
def test_any_hostile_number_is_a_located_error(target: tuple[str, tuple[Any, ...]], value: Any) -> None:
    _assert_located(target[1], value)
