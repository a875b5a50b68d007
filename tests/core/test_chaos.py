"""The fault library, fault by fault: what clients, pods and nodes see while a fault lasts and
after it ends, checked against the behaviour each fault stands for (glibc's resolver, the
kubelet's restart back-off, the Azure load balancer's probes, AKS's subnet checks,
NetworkPolicy and NSG semantics), not against the simulator's own output.
"""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from simkit import cluster_yaml, deployment, make_sim

from sim import chaos
from sim.scenario.schema import AnyFault, Fault

ROOT = Path(__file__).resolve().parents[2]
FAULT = TypeAdapter(Fault)


def _ticks(events: list, flow: str) -> list[tuple[float, int, dict[str, int]]]:
    """(tick start, ok, errors by cause) of every TrafficTick of *flow*."""
    return [(e.event.start, e.event.ok, json.loads(e.event.errors)) for e in events
            if e.event.reason == "TrafficTick" and e.event.flow == flow]


def _shop(chaos_block: str, cluster_extra: str = "") -> str:
    """scenarios/ingress-shop.yaml with *chaos_block* in place of its chaos list."""
    text = (ROOT / "scenarios" / "ingress-shop.yaml").read_text()
    text = text.replace("  - {at: 10m, fault: pod_kill, deployment: shop/cart}\n", chaos_block)
    if cluster_extra:
        text = text.replace("  networkPluginMode: overlay\n",
                            f"  networkPluginMode: overlay\n{cluster_extra}")
    return text


# --- the registry ---------------------------------------------------------------------------

def test_every_fault_model_has_exactly_one_chaos_function_taking_it() -> None:
    """Each ``fault:`` literal names a function of sim.chaos whose second parameter is that
    fault's model (Chaos Toolkit's provider check, once in CI)."""
    models = typing.get_args(AnyFault)
    names = [typing.get_args(m.model_fields["fault"].annotation)[0] for m in models]
    assert sorted(names) == sorted(chaos.FAULTS)
    for name, model in zip(names, models, strict=True):
        fn = chaos.FAULTS[name]
        assert fn.__name__ == name
        params = list(inspect.signature(fn).parameters.values())
        assert len(params) == 2 and params[1].annotation == model.__name__


# --- coredns_outage -------------------------------------------------------------------------

LOOKUPS = """
duration: 2m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 2, vmSize: Standard_D8s_v3}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec: {containers: [{name: api, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec: {selector: {app: api}, ports: [{port: 80}]}
traffic:
  networkLatency: 0s
  flows:
    - name: calls
      from: pods
      client: web
      to: {service: api}
      rate: {profile: constant, rps: 20}
      timeout: 30s
  coredns: {replicas: 2}
chaos:
  - {at: 30s, fault: coredns_outage, duration: 30s%s}
"""


def test_coredns_outage_fails_lookups_after_timeout_times_attempts_while_it_lasts() -> None:
    """No CoreDNS pod answers from 30 s to 60 s: glibc waits 5 s for each of its 2 attempts,
    so every lookup sent then fails 10 s after it was sent (dns_failure counted from 40 s to
    70 s); lookups sent before and after it succeed (resolv.conf(5) timeout:5 attempts:2)."""
    sim, events = make_sim(LOOKUPS % "")
    sim.run()
    ticks = _ticks(events, "calls")
    failing = [t for t, _, errors in ticks if errors.get("dns_failure")]
    assert failing and 40.0 <= min(failing) <= 41.0 and 68.0 <= max(failing) < 70.0
    assert all(set(errors) <= {"dns_failure"} for _, _, errors in ticks)
    lost = sum(errors.get("dns_failure", 0) for _, _, errors in ticks)
    assert 500 <= lost <= 700  # ~20/s for 30 s
    assert all(ok > 0 for t, ok, _ in ticks if t < 30 or t >= 61)  # before and after: answered
    assert [e.sim_time for e in events if e.event.reason == "FaultInjected"] == [30.0]
    assert [e.sim_time for e in events if e.event.reason == "FaultReverted"] == [60.0]


def test_coredns_outage_of_one_of_two_pods_fails_about_half_of_the_lookups() -> None:
    """A socket per lookup gets a new conntrack entry, which kube-proxy sends to either CoreDNS
    pod uniformly: with one of two silent, about half of the lookups fail."""
    sim, events = make_sim(LOOKUPS % ", count: 1")
    sim.run()
    window = [(ok, errors) for t, ok, errors in _ticks(events, "calls") if 41 <= t < 60]
    failed = sum(e.get("dns_failure", 0) for _, e in window)
    total = failed + sum(ok for ok, _ in window)
    assert 0.35 < failed / total < 0.65


# --- ingress_controller_crash ---------------------------------------------------------------

def test_ingress_controller_crash_resets_in_flight_and_its_pods_restart_in_place() -> None:
    """The controller's containers crash at 10m: requests they hold are reset, the pods go
    NotReady (their Local health check fails, so the load balancer has no backend after 2
    probes), and the kubelet restarts each container after 10 s in the same pod."""
    text = _shop("  - {at: 10m, fault: ingress_controller_crash}\n").replace(
        "serviceTime: {distribution: exponential, mean: 20ms}\n      concurrency: 2",
        "serviceTime: 1s\n      concurrency: 200")
    sim, events = make_sim(text)
    sim.advance_to(599)
    dep = sim.model.workloads.find("ingress-nginx/ingress-nginx-controller")
    before = sorted(dep.pods)
    sim.advance_to(1200)
    assert sorted(dep.pods) == before  # restarted, not replaced
    ticks = _ticks(events, "cart")
    assert sum(e.get("reset", 0) for t, _, e in ticks if 600 <= t < 601) > 50
    # endpoints go 1 s later (refused); the probes at 605 and 610 s fail, so connections sent
    # from 610 s are dropped (the clients give up 5 s later); the containers restart at 610 s,
    # are Ready at once (no readiness delay) and the probe at 615 s brings them back
    assert any(e.get("no_endpoint") for t, _, e in ticks if 601 <= t < 605)
    dropped = [t for t, _, e in ticks if e.get("no_healthy_backend")]
    assert dropped and min(dropped) == 615.0 and max(dropped) == 619.0
    assert all(not e for t, _, e in ticks if t >= 620)


def test_ingress_controller_crash_loops_with_doubling_backoff_while_it_lasts() -> None:
    """With a 2 minute duration the containers crash at every restart (10 s, then 20 s, 40 s,
    80 s later: CrashLoopBackOff); the restart 150 s in is after the fault ended and sticks."""
    sim, events = make_sim(_shop("  - {at: 10m, fault: ingress_controller_crash, duration: 2m}\n"))
    sim.run()
    ticks = _ticks(events, "pages")
    assert all(ok == 0 for t, ok, _ in ticks if 615 <= t < 750)
    assert all(ok > 0 and not e for t, ok, e in ticks if t >= 770)


# --- lb_probe_failure -----------------------------------------------------------------------

def test_lb_probe_failure_takes_backends_out_after_two_probes_and_back_after_one() -> None:
    """Probes every 5 s (from 0): a failure from 602 s is seen at 605 and 610 s, so the
    backends leave rotation at 610 s (threshold 2); the fault ends at 662 s and the probe at
    665 s brings them back (one success). A dropped connection is counted when its client
    gives up (timeout 5 s): for connections from 610 s to 664 s, from 615 s to 669 s."""
    sim, events = make_sim(_shop("  - {at: 602s, fault: lb_probe_failure, duration: 60s,"
                                 " service: ingress-nginx/ingress-nginx-controller}\n"))
    sim.run()
    dropped = [t for t, _, e in _ticks(events, "pages") if e.get("no_healthy_backend")]
    assert dropped and min(dropped) == 615.0 and max(dropped) == 669.0
    assert all(set(e) <= {"no_healthy_backend"} for t, _, e in _ticks(events, "pages"))


def test_lb_probe_failure_on_one_node_moves_its_share_to_the_others() -> None:
    """With the probe failing on one node only, that node leaves rotation and the others take
    all new connections: no client error."""
    sim, events = make_sim(_shop("  - {at: 602s, fault: lb_probe_failure, count: 1, "
                                 "service: ingress-nginx-controller}\n"))
    sim.advance_to(660)
    lb = next(iter(sim.model.traffic.balancers.values()))
    (blocked,) = lb.probe_blocked
    assert blocked not in [n.name for n in lb.healthy]
    assert all(not e for t, _, e in _ticks(events, "pages"))


# --- subnet_squeeze -------------------------------------------------------------------------

def test_subnet_squeeze_makes_aks_refuse_a_scale_out_until_it_ends() -> None:
    """A /24 holds 251 addresses; 4 Azure CNI nodes with maxPods 30 take 124. With 100 taken by
    something else, scaling the user pool to 6 (93 more) fails AKS's subnet check
    (InsufficientSubnetSize); after the squeeze ends the same scale succeeds."""
    text = cluster_yaml(subnet="10.10.0.0/24", count=3) + """
chaos:
  - {at: 1m, fault: subnet_squeeze, subnet: nodes, addresses: 100, duration: 5m}
operations:
  - {at: 2m, operation: scale, nodePool: user, count: 6}
  - {at: 8m, operation: scale, nodePool: user, count: 6}
"""
    sim, events = make_sim(text)
    sim.advance_to(150)
    subnet = sim.model.subnets["nodes"]
    assert subnet.held_by["squeeze"] == 100
    full = [e for e in events if e.event.reason == "SubnetIsFull"]
    assert len(full) == 1 and full[0].sim_time == 120.0
    assert [e.sim_time for e in events if e.event.reason == "OperationFailed"] == [120.0]
    sim.advance_to(sim.end)
    assert subnet.held_by["squeeze"] == 0
    assert [e.sim_time for e in events if e.event.reason == "OperationSucceeded"][-1] >= 480.0
    assert len(sim.model.pools["user"].nodes) == 6


def test_subnet_squeeze_takes_at_most_what_is_free() -> None:
    """Something else cannot take addresses that are in use: the squeeze takes what is free."""
    sim, _ = make_sim(cluster_yaml(subnet="10.10.0.0/24", count=3) + """
chaos:
  - {at: 1m, fault: subnet_squeeze, subnet: nodes, addresses: 1000}
""")
    sim.advance_to(90)
    subnet = sim.model.subnets["nodes"]
    assert subnet.pool.free == 0 and subnet.held_by["squeeze"] == 251 - 4 * 31


def test_subnet_squeeze_of_a_dynamic_pod_subnet_fails_new_pods_sandboxes() -> None:
    """Azure CNI dynamic IP allocation: the node holds a batch of 16 pod addresses and asks
    for 16 more when fewer than 8 are free. With the rest of the /26 pod subnet (59 usable)
    taken by something else, pods beyond the node's batch fail FailedCreatePodSandBox
    (SubnetIsFull); once the squeeze ends, the kubelet's retry gets them addresses."""
    text = f"""
duration: 20m
cluster:
  networkPlugin: azure
  vnet:
    managed: false
    addressSpace: [10.10.0.0/16]
    subnets:
      - {{name: nodes, addressPrefix: 10.10.0.0/24}}
      - {{name: pods, addressPrefix: 10.10.16.0/26}}
  nodePools:
    - {{name: system, mode: System, count: 1, maxPods: 30}}
    - {{name: user, count: 1, maxPods: 40, podSubnet: pods, podIPAllocationMode: DynamicIndividual}}
workloads:{deployment(replicas=2, cpu="10m", memory="16Mi")}
chaos:
  - {{at: 1m, fault: subnet_squeeze, subnet: pods, addresses: 100, duration: 5m}}
operations:
  - {{at: 2m, operation: scale_deployment, deployment: web, replicas: 20}}
"""
    sim, events = make_sim(text)
    sim.advance_to(90)
    assert sim.model.subnets["pods"].held_by["squeeze"] == 59 - 16
    sim.advance_to(300)
    failed = [e for e in events if e.event.reason == "FailedCreatePodSandBox"]
    assert failed and min(e.sim_time for e in failed) >= 120.0
    assert "SubnetIsFull" in failed[0].event.message
    dep = sim.model.workloads.find("web")
    assert dep.available < 20
    sim.advance_to(sim.end)
    assert dep.available == 20


# --- network_policy -------------------------------------------------------------------------

DENY_CART = ("  - at: 5m\n    fault: network_policy\n    duration: 1m\n    apply:\n"
             "      apiVersion: networking.k8s.io/v1\n      kind: NetworkPolicy\n"
             "      metadata: {name: deny-all, namespace: shop}\n"
             "      spec: {podSelector: {matchLabels: {app: cart}}, policyTypes: [Ingress]}\n")


def test_network_policy_fault_denies_while_it_lasts_then_the_policy_is_gone() -> None:
    """A deny-all ingress policy on the cart pods from 5m to 6m: requests reaching them then
    are dropped (the client times out after 5 s, so denials are counted up to 6m5s); the
    storefront is not selected and never denied; after 6m the policy no longer exists."""
    sim, events = make_sim(_shop(DENY_CART, "  networkPolicy: calico\n"))
    sim.run()
    denied = [t for t, _, e in _ticks(events, "cart") if e.get("denied")]
    assert denied and 304.0 <= min(denied) <= 306.0 and max(denied) < 366.0
    assert not any(e.get("denied") for _, _, e in _ticks(events, "pages"))
    assert "shop/deny-all" not in sim.model.traffic.policy_objects


def test_network_policy_fault_deleting_a_policy_puts_it_back_afterwards() -> None:
    """Deleting an existing policy for a minute: it applies again when the fault ends."""
    text = _shop(DENY_CART.replace("duration: 1m", "duration: 20m") +
                 "  - {at: 7m, fault: network_policy, delete: shop/deny-all, duration: 1m}\n",
                 "  networkPolicy: calico\n")
    sim, events = make_sim(text)
    sim.run()
    denied = {int(t) for t, _, e in _ticks(events, "cart") if e.get("denied")}
    assert 400 in denied and 500 in denied  # before the deletion and after it was put back
    assert not any(430 <= t < 475 for t in denied)


# --- nsg_rule -------------------------------------------------------------------------------

def test_nsg_rule_fault_denies_internet_clients_while_it_lasts() -> None:
    """A Deny rule at priority 100 for Internet sources to 80 and 443 beats AKS's allow rules
    (priority 500+): every ingress request is dropped at the NIC from 5m to 6m (the clients
    give up 5 s later, when they are counted)."""
    rule = ("  - at: 5m\n    fault: nsg_rule\n    duration: 1m\n    add: {name: block-web, "
            "priority: 100, access: Deny, source: Internet, destinationPorts: [80, 443], "
            "protocol: TCP}\n")
    sim, events = make_sim(_shop(rule))
    sim.run()
    for flow in ("cart", "pages"):
        ticks = _ticks(events, flow)
        denied = [t for t, _, e in ticks if e.get("nsg_denied")]
        assert min(denied) == 305.0 and max(denied) == 364.0
        assert all(ok == 0 for t, ok, _ in ticks if 301 <= t < 359)
        assert all(ok > 0 for t, ok, _ in ticks if t < 300 or t >= 361)


def test_nsg_rule_fault_removing_a_deny_rule_opens_the_port_for_a_while() -> None:
    """Removing the subnet's own Deny rule lets the clients in from 5m until 6m (denials are
    counted when the clients give up, 5 s after sending)."""
    text = _shop("  - {at: 5m, fault: nsg_rule, remove: no-web, duration: 1m}\n")
    text = text.replace("  nodePools:\n", "  vnet:\n    managed: false\n"
                        "    addressSpace: [10.10.0.0/16]\n    subnets:\n"
                        "      - name: nodes\n        addressPrefix: 10.10.0.0/22\n"
                        "        securityRules:\n          - {name: no-web, priority: 100, "
                        "access: Deny, source: Internet, destinationPorts: [80, 443]}\n"
                        "  nodePools:\n", 1)
    sim, events = make_sim(text)
    sim.run()
    ticks = _ticks(events, "pages")
    assert all(e.get("nsg_denied") for t, _, e in ticks if 5 <= t < 305 or t >= 365)
    assert all(not e for t, _, e in ticks if 305 <= t < 365)
    assert all(ok > 0 for t, ok, _ in ticks if 300 <= t < 360)


# --- pod_kill by selector -------------------------------------------------------------------

def test_pod_kill_by_selector_kills_the_labelled_pods_of_the_namespace() -> None:
    """``selector: {app: cart}, namespace: shop, count: 2`` kills 2 of the 3 cart pods (and
    nothing else); the ReplicaSet replaces them."""
    sim, events = make_sim(_shop("  - {at: 10m, fault: pod_kill, selector: {app: cart}, "
                                 "namespace: shop, count: 2}\n"))
    sim.advance_to(700)
    killed = [e.event for e in events if e.event.reason == "Killing"]
    assert len(killed) == 2 and all(k.pod.startswith("cart-") for k in killed)
    assert len(sim.model.workloads.find("shop/cart").pods) == 3


def test_pod_kill_needs_a_deployment_or_a_selector() -> None:
    """A pod_kill with neither would kill every pod of the cluster: rejected."""
    with pytest.raises(ValidationError, match="exactly one of deployment"):
        FAULT.validate_python({"fault": "pod_kill", "at": "1m"})
    with pytest.raises(ValidationError, match="exactly one of deployment"):
        FAULT.validate_python({"fault": "pod_kill", "at": "1m", "deployment": "web",
                               "selector": {"app": "web"}})


def test_pod_kill_of_a_missing_deployment_is_a_fault_error_not_a_crash() -> None:
    """Injected live, a pod_kill naming no Deployment is refused with FaultError."""
    from sim.kernel.errors import FaultError

    sim, _ = make_sim(cluster_yaml() + "workloads:" + deployment())
    sim.advance_to(10)
    with pytest.raises(FaultError, match="does not exist"):
        sim.inject(FAULT.validate_python({"fault": "pod_kill", "at": 0, "deployment": "nope"}))
    with pytest.raises(FaultError, match="no pod matches"):
        sim.inject(FAULT.validate_python({"fault": "pod_kill", "at": 0,
                                          "selector": {"app": "nope"}}))


# --- snat_pressure --------------------------------------------------------------------------

SNAT = """
duration: 15m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: batch}
    spec:
      replicas: 2
      selector: {matchLabels: {app: batch}}
      template:
        metadata: {labels: {app: batch}}
        spec: {containers: [{name: batch, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
traffic:
  flows:
    - name: out
      from: pods
      client: web
      external: {address: 20.30.40.50, port: 443}
      rate: {profile: constant, rps: 1}
    - name: other
      from: pods
      client: web
      external: {address: 20.30.40.60, port: 443}
      rate: {profile: constant, rps: 1}
chaos:
  - {at: 5m, fault: snat_pressure, deployment: batch, address: 20.30.40.50, connections: 600,
     duration: 2m}
"""


def test_snat_pressure_exhausts_the_nodes_ports_for_that_destination_only() -> None:
    """One node has 1,024 ports per destination (pool below 50 nodes). web's calls (1/s) hold
    ~240 (each port kept 240 s after its FIN); 2 batch pods opening 600 each take the rest
    and, while the burst lasts (5m-7m), every port web frees: no call of web to 20.30.40.50
    gets through then, each failing as snat_exhausted when its client gives up (timeout 10
    s); calls to another destination never fail (ports are per destination IP:port). The
    burst's ports stay held 240 s after it ends, so from 11m (660 s) web is fine again."""
    sim, events = make_sim(SNAT)
    sim.run()
    out = _ticks(events, "out")
    assert all(not e for t, _, e in out if t < 310)
    assert all(ok == 0 for t, ok, _ in out if 300 <= t < 420)
    exhausted = sum(e.get("snat_exhausted", 0) for t, _, e in out if 310 <= t < 430)
    assert 95 <= exhausted <= 145  # ~120 calls sent in the 2 minutes
    assert all(not e for t, _, e in out if t >= 670)
    assert all(not e for _, _, e in _ticks(events, "other"))
    assert any(e.event.reason == "SNATPortExhaustion" and e.sim_time >= 300 for e in events)


# --- zone_latency, zone_loss, partition -----------------------------------------------------

ZONES = """
duration: 4m
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  nodePools:
    - {name: system, mode: System, count: 1, zones: ["1"]}
    - {name: east, count: 1, zones: ["2"]}
workloads:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          nodeSelector: {agentpool: system}
          containers: [{name: web, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: caller}
    spec:
      replicas: 2
      selector: {matchLabels: {app: caller}}
      template:
        metadata: {labels: {app: caller}}
        spec:
          nodeSelector: {agentpool: east}
          containers: [{name: caller, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {selector: {app: web}, ports: [{port: 80}]}
traffic:
  networkLatency: 0s
  flows:
    - name: calls
      from: pods
      client: caller
      to: {service: web}
      rate: {profile: constant, rps: 50}
      timeout: 5s
  backends:
    - {deployment: web, serviceTime: 2ms, concurrency: 50}
chaos:
  - {at: 1m, duration: 1m, %s}
"""


def test_zone_latency_slows_the_calls_crossing_zones_by_the_added_round_trip() -> None:
    """Every call goes from zone 2 (the caller's pool) to zone 1 (web's): with 300 ms more
    between the zones from 1m to 2m, each call then takes about 300 ms more."""
    sim, events = make_sim(ZONES % "fault: zone_latency, latency: 300ms")
    sim.run()
    for e in events:
        if e.event.reason != "TrafficTick" or e.event.p50 is None or e.event.start in (60, 120):
            continue  # (the ticks at the edges mix both)
        slow = 60 < e.event.start < 120
        assert (0.29 <= e.event.p50 <= 0.36) if slow else e.event.p50 < 0.05, e.event
    assert all(not e for _, _, e in _ticks(events, "calls"))


def test_zone_latency_between_other_zones_leaves_these_calls_alone() -> None:
    """A fault between zones 1 and 3 does not touch calls from zone 2 to zone 1."""
    sim, events = make_sim(ZONES % "fault: zone_latency, latency: 300ms, zones: ['1', '3']")
    sim.run()
    assert all(e.event.p50 < 0.05 for e in events
               if e.event.reason == "TrafficTick" and e.event.p50 is not None and e.event.start > 2)


def test_zone_loss_costs_syn_retransmissions_and_times_some_calls_out() -> None:
    """Half of the packets between the zones are lost: a SYN gets through at the first try
    half the time, after 1 s a quarter, after 1+2 s an eighth; after 1+2+4 s the 5 s timeout
    has passed, so about 1/8 of the calls time out, and about 3/8 take at least a second."""
    sim, events = make_sim(ZONES % "fault: zone_loss, loss: 0.5")
    sim.run()
    flow = sim.model.traffic.flows[0]
    ticks = _ticks(events, "calls")
    sent = sum(ok + sum(e.values()) for t, ok, e in ticks if 60 <= t < 120)
    timeouts = sum(e.get("timeout", 0) for t, _, e in ticks if 65 <= t < 125)
    assert 0.09 < timeouts / sent < 0.16
    from sim.outcomes import LATENCY_EDGES
    slow = int(flow.latency_total[np.searchsorted(LATENCY_EDGES, 0.9, side="right"):].sum())
    assert 0.30 < slow / sent < 0.45
    assert all(not e for t, _, e in ticks if t < 60 or t >= 126)


def test_zone_loss_on_kept_alive_connections_retransmits_after_the_minimum_rto() -> None:
    """On a kept-alive connection a lost request is sent again after 200 ms (TCP_RTO_MIN),
    then 400 ms...: with half the packets lost, half the calls take at least 200 ms more,
    and only those losing 5 in a row (1/32: 6.2 s) pass the 5 s timeout."""
    text = (ZONES % "fault: zone_loss, loss: 0.5").replace(
        "      timeout: 5s\n", "      timeout: 5s\n      connection: keepalive\n")
    sim, events = make_sim(text)
    sim.run()
    from sim.outcomes import LATENCY_EDGES
    flow = sim.model.traffic.flows[0]
    ticks = _ticks(events, "calls")
    sent = sum(ok + sum(e.values()) for t, ok, e in ticks if 60 <= t < 120)
    timeouts = sum(e.get("timeout", 0) for t, _, e in ticks if 65 <= t < 125)
    assert 0.015 < timeouts / sent < 0.05
    slow = int(flow.latency_total[np.searchsorted(LATENCY_EDGES, 0.18, side="right"):].sum())
    assert 0.42 < slow / sent < 0.56


def test_partition_between_pools_times_out_every_call_that_crosses_it() -> None:
    """The east pool is cut off from the others from 1m to 2m: no call of the caller pods
    (east) reaches web (system): each times out after 5 s, or fails its lookup when its
    CoreDNS pod is across too; calls work again after the partition heals."""
    sim, events = make_sim(ZONES % "fault: partition, nodePools: [east]")
    sim.run()
    ticks = _ticks(events, "calls")
    assert all(ok == 0 for t, ok, _ in ticks if 60 <= t < 120)
    failed = sum(sum(e.values()) for t, _, e in ticks if 60 <= t < 126)
    assert failed > 0.9 * 50 * 60
    assert all(set(e) <= {"timeout", "dns_failure"} for _, _, e in ticks)
    assert all(ok > 0 and not e for t, ok, e in ticks if t < 60 or t >= 126)


def test_partition_needs_a_side() -> None:
    """A partition with neither nodePools nor zones has no sides: rejected."""
    with pytest.raises(ValidationError, match="expected nodePools or zones"):
        FAULT.validate_python({"fault": "partition", "at": "1m"})


def test_partition_cuts_what_the_load_balancer_sends_through_nodes_on_the_other_side() -> None:
    """externalTrafficPolicy Cluster: the load balancer spreads connections over both nodes
    (their probes still answer: the probe comes from Azure, not across the partition), and
    kube-proxy on the east node forwards to a web pod on the system node. With east cut off,
    about half of the internet requests (those through east) time out."""
    text = (ZONES % "fault: partition, nodePools: [east]").replace(
        "spec: {selector: {app: web}, ports: [{port: 80}]}",
        "spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}").replace(
        "      from: pods\n      client: caller\n", "      from: internet\n")
    sim, events = make_sim(text)
    sim.run()
    ticks = _ticks(events, "calls")
    sent = sum(ok + sum(e.values()) for t, ok, e in ticks if 60 <= t < 120)
    timeouts = sum(e.get("timeout", 0) for t, _, e in ticks if 65 <= t < 125)
    assert 0.4 < timeouts / sent < 0.6
    assert all(not e for t, _, e in ticks if t < 65 or t >= 126)


# --- faults injected live that cannot apply -------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ({"fault": "coredns_outage"}, "has no CoreDNS"),
    ({"fault": "ingress_controller_crash"}, "has no ingress controller"),
    ({"fault": "lb_probe_failure", "service": "nope"}, "does not exist"),
    ({"fault": "subnet_squeeze", "subnet": "nope", "addresses": 3}, "does not exist"),
    ({"fault": "nsg_rule", "remove": "nope"}, "has no rule"),
    ({"fault": "network_policy", "delete": "default/nope"}, "does not exist"),
    ({"fault": "snat_pressure", "deployment": "nope", "address": "20.1.2.3",
      "connections": 5}, "does not exist"),
])
def test_a_live_fault_that_cannot_apply_is_refused_with_fault_error(body: dict, message: str
                                                                      ) -> None:
    """Through the HTTP API or MQTT these are checked only for shape: the model refuses what
    it cannot do (FaultError: the service answers 409) instead of failing the run."""
    from sim.kernel.errors import FaultError

    sim, events = make_sim(cluster_yaml() + "workloads:" + deployment())
    sim.advance_to(10)
    with pytest.raises(FaultError, match=message):
        sim.inject(FAULT.validate_python({"at": 0, **body}))
    assert not [e for e in events if e.event.reason == "FaultInjected"]


def test_network_policy_fault_replacing_a_policy_restores_the_original_after() -> None:
    """Replacing the deny-all policy by an allow-all of the same name for a minute: requests
    pass during that minute and are denied again after it."""
    allow = DENY_CART.replace("at: 5m", "at: 7m").replace(
        "policyTypes: [Ingress]}", "policyTypes: [Ingress], ingress: [{}]}")
    text = _shop(DENY_CART.replace("duration: 1m", "duration: 20m") + allow,
                 "  networkPolicy: calico\n")
    sim, events = make_sim(text)
    sim.run()
    denied = {int(t) for t, _, e in _ticks(events, "cart") if e.get("denied")}
    assert 400 in denied and 500 in denied
    assert not any(430 <= t < 475 for t in denied)
    assert "ingress" not in sim.model.traffic.policy_objects["shop/deny-all"]["spec"]


def test_a_crash_looping_controller_pod_keeps_phase_running_but_is_not_ready() -> None:
    """kubectl shows a crash-looping pod as Running with 0/1 ready (CrashLoopBackOff is the
    container's reason, not a phase): the Deployment counts it running, not available."""
    sim, _ = make_sim(_shop("  - {at: 10m, fault: ingress_controller_crash, duration: 2m}\n"))
    sim.advance_to(660)
    dep = sim.model.workloads.find("ingress-nginx/ingress-nginx-controller")
    assert dep.running == len(dep.pods) and dep.available == 0
    sim.advance_to(800)
    assert dep.running == len(dep.pods) == dep.available


EXAMPLES = """
- {at: 5m, fault: coredns_outage, duration: 1m, count: 1}
- {at: 8m, fault: ingress_controller_crash, duration: 2m}
- {at: 12m, fault: lb_probe_failure, service: ingress-nginx/ingress-nginx-controller, zone: "1"}
- {at: 15m, fault: subnet_squeeze, subnet: aks-subnet, addresses: 200, duration: 30m}
- {at: 20m, fault: snat_pressure, deployment: batch, address: 20.30.40.50, connections: 600}
- {at: 25m, fault: network_policy, delete: shop/deny-all, duration: 5m}
- {at: 30m, fault: nsg_rule, duration: 5m, add: {name: block-web, priority: 100, access: Deny,
   source: Internet, destinationPorts: [80, 443]}}
- {at: 40m, fault: zone_latency, zones: ["1", "2"], latency: 40ms, duration: 10m}
- {at: 50m, fault: zone_loss, loss: 0.1, duration: 5m}
- {at: 60m, fault: partition, nodePools: [user], zones: ["3"], duration: 2m}
- {at: 70m, fault: pod_kill, selector: {app: web}, namespace: shop, count: 2}
"""


def test_every_fault_survives_the_round_trip_a_recording_makes() -> None:
    """A live run records each fault as JSON (camelCase, as FaultInjected.spec) and replay
    validates it again: the same fault comes back."""
    import yaml

    for raw in yaml.safe_load(EXAMPLES):
        fault = FAULT.validate_python(raw)
        dumped = json.loads(json.dumps(fault.model_dump(mode="json", by_alias=True,
                                                        exclude_none=True)))
        assert FAULT.validate_python(dumped) == fault, raw
