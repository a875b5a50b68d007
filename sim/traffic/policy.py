"""NSG and NetworkPolicy verdicts on the traffic path, and the one NetworkPolicy engine of a
run as the traffic path, ``aks-sim reach`` and ``aks-sim route`` build it: the scenario's
namespaces with their labels, the pods, the cluster's ``networkPolicy`` setting. All three
evaluate through :func:`cluster_policies`, so they cannot disagree
(tests/core/test_one_engine.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.azure import nsg
from sim.azure.vnet import ip_str
from sim.netpol import ContainerPort as NpPort
from sim.netpol import ExternalPeer, NetworkPolicies, Verdict
from sim.netpol import Namespace as NpNamespace
from sim.netpol import Pod as NpPod
from sim.scenario.loaded import LoadedScenario

if TYPE_CHECKING:
    from sim.objects import Node, Pod
    from sim.scenario.schema import ClusterSpec
    from sim.svc import ServiceController
    from sim.traffic.flows import FlowState
    from sim.workloads.controller import WorkloadController

INTERNET = ExternalPeer("203.0.113.10", "internet")
"""A client outside the cluster: a documentation address, matched by ipBlock rules like any
external IP."""

DNS_PORT = 53
"""CoreDNS answers on UDP 53 (the kube-dns Service's port and CoreDNS's container port)."""


def namespaces(loaded: LoadedScenario) -> list[NpNamespace]:
    """Every namespace the scenario declares, with its labels (a namespace only pods name gets
    the ``kubernetes.io/metadata.name`` label alone, as the API server sets it)."""
    return [NpNamespace(p.obj.metadata.name, dict(p.obj.metadata.labels))
            for p in loaded.workloads.namespaces]


def cluster_policies(loaded: LoadedScenario, policies: Iterable[Mapping[str, Any]],
                     pods: Iterable[NpPod]) -> NetworkPolicies:
    """The one NetworkPolicy engine of a run: its namespaces with their labels, *pods*, the
    cluster's ``networkPolicy`` setting. ``aks-sim reach``, ``aks-sim route`` and the traffic
    path all evaluate through this, so they cannot disagree."""
    return NetworkPolicies(list(policies), namespaces=namespaces(loaded), pods=pods,
                           external_peers=[INTERNET], engine=loaded.spec.cluster.network_policy)


def workload_ports(dep: Any) -> tuple[NpPort, ...]:
    """The container ports of a Deployment's pod template (named ports resolve against them)."""
    return tuple(NpPort(p.container_port, p.name, p.protocol)
                 for c in dep.manifest.spec.template.spec.containers for p in c.ports)


class Verdicts:
    """What the node subnet's NSG and the NetworkPolicies in effect say about a connection on
    the traffic path (cached until a policy or rule changes). ``aks-sim route`` asks the same
    questions of the same object."""

    def __init__(self, loaded: LoadedScenario, cluster: ClusterSpec, workloads: WorkloadController,
                 service_ctl: ServiceController) -> None:
        self.loaded = loaded
        self.cluster = cluster
        self.workloads = workloads
        self.service_ctl = service_ctl
        self.policy_objects: dict[str, dict[str, Any]] = {}
        """The NetworkPolicies in effect now (the scenario's, changed by operations and faults)."""
        self._policies: NetworkPolicies | None = None
        self._verdicts: dict[tuple[str, str, int], bool] = {}
        self._nsg_cache: dict[int, bool] = {}
        self.nsg_rules: dict[str, list[Any]] = {
            s.name: list(s.security_rules) for s in cluster.vnet.subnets}
        """Each subnet's NSG rules as they are now (the scenario's, changed by nsg_rule faults)."""

    # --- the node subnet's NSG ----------------------------------------------------------

    def nsg_allows(self, flow: FlowState) -> bool:
        """Whether the node subnet's NSG lets the flow's clients reach the LB port
        (:meth:`nsg_rule`, once per flow)."""
        verdict = self._nsg_cache.get(id(flow))
        if verdict is None:
            verdict = self.nsg_rule(str(flow.spec.client_ip), flow.port, flow.spec.from_,
                                    flow.svc.key).allow
            self._nsg_cache[id(flow)] = verdict
        return verdict

    def nsg_rule(self, client_ip: str, port: int, from_: str, svc_key: str) -> nsg.Rule:
        """The NSG rule that decides a connection from *client_ip* (a client ``from_``
        internet, vnet, peered-vnet or on-premises) to *port* of the LoadBalancer Service
        *svc_key*: the rules AKS writes in its managed NSG (always there) with the scenario's
        rules layered on them by priority (sim.nsg). The traffic path and ``aks-sim route``
        both ask this."""
        c = self.cluster
        user = next((r for r in self.nsg_rules.values() if r), [])
        rules = [nsg.Rule(r.name, r.priority, r.access == "Allow", r.source,
                          tuple(r.destination_ports) if r.destination_ports else None,
                          r.protocol) for r in user]
        rules += nsg.managed_rules(self._public_balancers())
        addr = ipaddress.IPv4Address(client_ip)
        vnet = list(c.vnet.address_space)
        if from_ in ("peered-vnet", "on-premises"):
            # the VirtualNetwork service tag covers peered VNets and connected on-premises
            # ranges (virtual-networks service tags)
            vnet.append(ipaddress.IPv4Network(f"{addr}/32"))
        return nsg.evaluate(rules, addr, port, "TCP", vnet, svc_key)

    def _public_balancers(self) -> list[nsg.LoadBalancerPorts]:
        """Every LoadBalancer Service the managed NSG has rules for, in creation order: the
        public ones; an internal one only with source ranges (without, the cloud provider
        writes none: AllowVnetInBound admits the VNet)."""
        out = []
        for svc in self.service_ctl.services.values():
            spec = svc.manifest.spec
            if svc.type != "LoadBalancer" or (svc.internal and not spec.load_balancer_source_ranges):
                continue
            out.append(nsg.LoadBalancerPorts(
                svc.key, tuple((p.port, p.protocol) for p in spec.ports),
                tuple(spec.load_balancer_source_ranges or ())))
        return out

    # --- NetworkPolicy at the destination pod ------------------------------------------

    def change_policy(self, apply: dict[str, Any] | None, delete: str | None) -> None:
        """kubectl apply / delete of a NetworkPolicy: verdicts are recomputed from now on."""
        if apply is not None:
            meta = apply.get("metadata", {})
            self.policy_objects[f"{meta.get('namespace', 'default')}/{meta.get('name')}"] = apply
        if delete is not None:
            self.policy_objects.pop(delete, None)
        self._policies = None
        self._verdicts.clear()

    def engine(self) -> NetworkPolicies:
        if self._policies is None:
            # one pod stands for its Deployment: verdicts depend on labels, namespace (and its
            # labels) and port, not on which replica; the engine is reach's (sim.views.reach)
            pods = [NpPod(dep.namespace, dep.name, dict(dep.manifest.spec.template.metadata.labels),
                          None, workload_ports(dep))
                    for dep in self.workloads.deployments.values()]
            self._policies = cluster_policies(self.loaded, self.policy_objects.values(), pods)
        return self._policies

    def policy_verdict(self, source: Any, dst: Any, port: int,
                       protocol: str = "TCP") -> Verdict | None:
        """The NetworkPolicy verdict for a connection from *source* (a DeploymentState, whose
        pods stand for it, or an :class:`ExternalPeer`) to the pods of Deployment *dst* at
        *port*, under the policies in effect now; None when the cluster's ``networkPolicy``
        engine enforces nothing. The traffic path and ``aks-sim route`` both ask this."""
        engine = self.engine()
        if not engine.is_enforced:
            return None
        src = source if isinstance(source, ExternalPeer) else f"{source.namespace}/{source.name}"
        return engine.allows(src, f"{dst.namespace}/{dst.name}", port, protocol)

    def dns_allowed(self, client: Any) -> bool:
        """Whether the client Deployment's pods may send their lookups to CoreDNS (UDP 53 at
        a kube-system/coredns pod): an egress default-deny without a DNS rule blocks them."""
        key = (f"pod:{client.key}", "dns", DNS_PORT)
        verdict = self._verdicts.get(key)
        if verdict is None:
            coredns = self.workloads.deployments.get("kube-system/coredns")
            if not self.policy_objects or coredns is None:
                verdict = True
            else:
                v = self.policy_verdict(client, coredns, DNS_PORT, "UDP")
                verdict = v is None or v.allowed
            self._verdicts[key] = verdict
        return verdict

    def allowed(self, src_ip: str, pod: Pod, port: int) -> bool:
        key = (src_ip, pod.dep.key, port)
        verdict = self._verdicts.get(key)
        if verdict is None:
            v = self.policy_verdict(ExternalPeer(src_ip), pod.dep, port)
            verdict = self._verdicts[key] = v is None or v.allowed
        return verdict

    def set_nsg_rules(self, subnet: str, rules: list[Any]) -> None:
        """The NSG of *subnet* has these rules now (an nsg_rule fault): verdicts are redone."""
        self.nsg_rules[subnet] = rules
        self._nsg_cache.clear()
    def denied(self, flow: FlowState, pod: Pod, idx: np.ndarray, nodes: list[Node] | None,
                node_idx: np.ndarray | None) -> np.ndarray | None:
        """Which of the requests *idx* a NetworkPolicy drops at *pod* (None: none)."""
        if (not self.policy_objects or self.cluster.network_policy == "none"
                or flow.svc is None):
            return None  # direct flows check their policy before serving
        port, _ = flow.svc.target(flow.port)
        if flow.svc.local or nodes is None or node_idx is None:
            ok = self.allowed(str(flow.spec.client_ip), pod, port)
            return None if ok else np.ones(idx.size, bool)
        denied = np.zeros(idx.size, bool)
        chosen = node_idx[idx]
        for i in np.unique(chosen).tolist():
            node = nodes[i]
            if node is pod.node:
                continue  # traffic from the pod's own node is always allowed
            if not self.allowed(ip_str(node.net.node_ip), pod, port):
                denied |= chosen == i
        return denied if denied.any() else None

    def allowed_from_pod(self, src: Pod, dst: Pod, port: int) -> bool:
        key = (f"pod:{src.dep.key}", dst.dep.key, port)
        verdict = self._verdicts.get(key)
        if verdict is None:
            v = self.policy_verdict(src.dep, dst.dep, port)
            verdict = self._verdicts[key] = v is None or v.allowed
        return verdict
