"""Checks of meaning across fields: references resolve, ranges don't overlap, AKS limits hold.

Returns every problem at once (``list[Issue]``), errors and warnings, each at the path of the
field to fix.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from sim import sizing
from sim.azure.vmsizes import allocatable
from sim.azure.vnet import forbidden_overlap, usable_addresses
from sim.kernel.errors import Issue
from sim.scenario.loaded import Placed, Workloads
from sim.scenario.manifests import HorizontalPodAutoscaler, Service
from sim.scenario.schema import (
    MAX_PODS,
    AnyFault,
    CorednsOutage,
    Flow,
    IngressControllerCrash,
    LbProbeFailure,
    NodeFailure,
    NodePoolSpec,
    NsgRuleFault,
    Partition,
    PodKill,
    Scenario,
    SubnetSpec,
    SubnetSqueeze,
    TrafficSpec,
    ZoneLatency,
    ZoneLoss,
    max_pods_of,
    node_name,
    pod_ip_mode,
    pool_max_nodes,
    vmss_id,
)
from sim.scenario.units import format_duration
from sim.scenario.yamlmarks import Located, Path


class _Checker:
    def __init__(self, spec: Scenario, doc: Located, workloads: Workloads) -> None:
        self.spec, self.doc, self.workloads = spec, doc, workloads
        self.issues: list[Issue] = []

    def error(self, path: Path, message: str) -> None:
        self.issues.append(self.doc.issue(path, message))

    def warn(self, path: Path, message: str) -> None:
        self.issues.append(self.doc.issue(path, message, severity="warning"))

    # --- network ---------------------------------------------------------------------

    def ranges(self) -> None:
        c = self.spec.cluster
        self._address_space()
        self._subnets()
        if c.plugin in ("kubenet", "overlay"):
            self._pod_cidr()
        self._service_cidr()
        self._dns_service_ip(c.service_cidr, c.dns_service_ip)

    def _address_space(self) -> None:
        """Each VNet address space: not a range Azure forbids, and no larger than Azure allows."""
        base: Path = ("cluster", "vnet")
        for i, space in enumerate(self.spec.cluster.vnet.address_space):
            self._forbidden((*base, "addressSpace", i), space, "VNet address space")
            if space.prefixlen < sizing.VNET_LARGEST_PREFIX_LEN:
                self.error((*base, "addressSpace", i), f"expected a VNet address space of "
                           f"/{sizing.VNET_LARGEST_PREFIX_LEN} or smaller, got {space}")

    def _subnets(self) -> None:
        """Each subnet: a name used once, inside the address space, no smaller than Azure's
        smallest, no overlap, no more held addresses than it has; no customising a managed VNet."""
        vnet = self.spec.cluster.vnet
        seen: list[tuple[int, ipaddress.IPv4Network]] = []
        names: set[str] = set()
        for i, s in enumerate(vnet.subnets):
            path = ("cluster", "vnet", "subnets", i)
            if s.name in names:
                self.error((*path, "name"), f"subnet name {s.name!r} is used twice")
            names.add(s.name)
            net = s.address_prefix
            if not any(net.subnet_of(space) for space in vnet.address_space):
                spaces = ", ".join(map(str, vnet.address_space))
                self.error((*path, "addressPrefix"),
                           f"subnet {net} is outside the VNet address space ({spaces})")
            if net.prefixlen > sizing.SUBNET_SMALLEST_PREFIX_LEN:
                self.error((*path, "addressPrefix"), f"expected a subnet of "
                           f"/{sizing.SUBNET_SMALLEST_PREFIX_LEN} or larger (Azure's smallest), "
                           f"got {net}")
            for j, other in seen:
                if net.overlaps(other):
                    self.error((*path, "addressPrefix"), f"subnet {net} overlaps subnet "
                               f"{vnet.subnets[j].name} ({other})")
            seen.append((i, net))
            self._forbidden((*path, "addressPrefix"), net, "subnet")
            self._subnet_use(path, s, vnet.managed)

    def _subnet_use(self, path: Path, s: SubnetSpec, managed: bool) -> None:
        """What the subnet says it holds or carries: held addresses it has, and on a managed VNet
        neither a route table nor service endpoints (a warning)."""
        net = s.address_prefix
        if s.held_addresses > usable_addresses(net.prefixlen):
            self.error((*path, "heldAddresses"), f"expected at most the subnet's "
                       f"{usable_addresses(net.prefixlen)} usable addresses, got "
                       f"{s.held_addresses}")
        if managed and (s.route_table or s.service_endpoints):
            what = "a route table" if s.route_table else "service endpoints"
            self.warn((*path, "routeTable" if s.route_table else "serviceEndpoints"),
                      f"{what} on an AKS-managed VNet is unsupported (AKS support policy); "
                      "bring your own VNet (vnet.managed: false) to customise it")

    def _pod_cidr(self) -> None:
        """kubenet and overlay: the pod CIDR is outside the VNet and holds at least a node's range."""
        c = self.spec.cluster
        self._forbidden(("cluster", "podCidr"), c.pod_cidr, "pod CIDR")
        for space in c.vnet.address_space:
            if c.pod_cidr.overlaps(space):
                self.error(("cluster", "podCidr"), f"pod CIDR {c.pod_cidr} overlaps the VNet "
                           f"address space {space}")
        per_node = sizing.NODE_POD_PREFIX_LEN
        if c.pod_cidr.prefixlen > per_node:
            self.error(("cluster", "podCidr"), f"expected a pod CIDR of /{per_node} or larger "
                       f"(each node takes a /{per_node}), got {c.pod_cidr}")

    def _service_cidr(self) -> None:
        """The service CIDR: allowed, small enough (sizing's rule), clear of the VNet and pods."""
        c = self.spec.cluster
        svc = c.service_cidr
        self._forbidden(("cluster", "serviceCidr"), svc, "service CIDR")
        if sizing.validate_service_cidr_size(str(svc)):
            most = sizing.SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED
            self.error(("cluster", "serviceCidr"), f"expected a service CIDR smaller than /{most} "
                       f"(prefix length above {most}), got {svc}")
        for space in c.vnet.address_space:
            if svc.overlaps(space):
                self.error(("cluster", "serviceCidr"),
                           f"service CIDR {svc} overlaps the VNet address space {space}")
        if c.plugin in ("kubenet", "overlay") and svc.overlaps(c.pod_cidr):
            self.error(("cluster", "serviceCidr"), f"service CIDR {svc} overlaps the pod CIDR "
                       f"{c.pod_cidr}")

    def _dns_service_ip(self, svc: ipaddress.IPv4Network, dns: ipaddress.IPv4Address) -> None:
        """sizing.validate_dns_service_ip's rule; the message says which part of it failed."""
        if not sizing.validate_dns_service_ip(str(svc), str(dns)):
            return
        conventional = sizing.dns_service_ip(str(svc))
        if dns not in svc:
            self.error(("cluster", "dnsServiceIP"), f"expected an address inside the service "
                       f"CIDR {svc} (conventionally {conventional}), got {dns}")
        elif str(dns) == sizing.kubernetes_service_ip(str(svc)):
            self.error(("cluster", "dnsServiceIP"), f"{dns} is the first service address, taken "
                       f"by kubernetes.default; use {conventional}")
        else:  # the range's network or broadcast address
            self.error(("cluster", "dnsServiceIP"), f"{dns} is not a usable service address")

    def _forbidden(self, path: Path, net: ipaddress.IPv4Network, what: str) -> None:
        bad = forbidden_overlap(net)
        if bad is not None:
            self.error(path, f"{what} {net} overlaps {bad}, which AKS does not allow for "
                       "VNet, pod or service ranges")

    # --- node pools ------------------------------------------------------------------

    def pools(self) -> None:
        c = self.spec.cluster
        subnets = {s.name: s for s in c.vnet.subnets}
        names: set[str] = set()
        if len(c.node_pools) > sizing.MAX_NODE_POOLS:
            self.error(("cluster", "nodePools"), f"expected at most {sizing.MAX_NODE_POOLS} node "
                       f"pools, got {len(c.node_pools)}")
        if not any(p.mode == "System" for p in c.node_pools):
            self.error(("cluster", "nodePools"), "expected at least one node pool with mode: "
                       "System (AKS needs one for system pods)")
        if len(set(c.zones)) != len(c.zones):
            self.error(("cluster", "zones"), "zone names must be unique")
        total = 0
        for i, pool in enumerate(c.node_pools):
            path: Path = ("cluster", "nodePools", i)
            if pool.name in names:
                self.error((*path, "name"), f"node pool name {pool.name!r} is used twice")
            names.add(pool.name)
            self._pool_refs(path, pool, subnets)
            self._pool_counts(path, pool)
            self._pool_max_pods(path, pool)
            total += pool_max_nodes(pool)
        self._cluster_size(total)

    def _pool_refs(self, path: Path, pool: NodePoolSpec, subnets: dict) -> None:
        c = self.spec.cluster
        for z in pool.zones or []:
            if z not in c.zones:
                self.error((*path, "zones"), f"zone {z!r} is not one of the cluster's zones "
                           f"({', '.join(map(repr, c.zones))})")
        for key, ref in (("vnetSubnet", pool.vnet_subnet), ("podSubnet", pool.pod_subnet)):
            if ref is not None and ref not in subnets:
                self.error((*path, key), _unknown("subnet", ref, list(subnets)))
        if pool.pod_subnet is not None:
            if c.plugin != "azure":
                self.error((*path, "podSubnet"), "a pod subnet needs networkPlugin: azure "
                           f"without overlay mode; this cluster uses {c.plugin}")
            elif pool.pod_subnet == (pool.vnet_subnet or c.vnet.subnets[0].name):
                self.error((*path, "podSubnet"), "the pod subnet must differ from the node subnet")
        elif pool.pod_ip_allocation_mode == "StaticBlock":
            self.error((*path, "podIPAllocationMode"), "StaticBlock needs a podSubnet")

    def _pool_counts(self, path: Path, pool: NodePoolSpec) -> None:
        limit = sizing.MAX_NODES_PER_POOL
        if pool.count > limit:
            self.error((*path, "count"), f"expected at most {limit} nodes per pool, got {pool.count}")
        if pool.mode == "System" and pool.count < 1 and not pool.enable_auto_scaling:
            self.error((*path, "count"), "a System pool needs at least 1 node")
        if pool.mode == "System" and pool.enable_auto_scaling and pool.min_count == 0:
            self.error((*path, "minCount"), "expected at least 1 for a System pool (AKS needs a "
                       "node for system pods), got 0")
        if pool.enable_auto_scaling:
            if pool.min_count is None or pool.max_count is None:
                self.error(path, "enableAutoScaling needs minCount and maxCount")
                return
            if pool.max_count > limit:
                self.error((*path, "maxCount"), f"expected at most {limit}, got {pool.max_count}")
            if not pool.min_count <= pool.count <= pool.max_count:
                self.error((*path, "count"), f"expected minCount <= count <= maxCount, got "
                           f"{pool.min_count} <= {pool.count} <= {pool.max_count}")
        elif pool.min_count is not None or pool.max_count is not None:
            key = "minCount" if pool.min_count is not None else "maxCount"
            self.error((*path, key), f"{key} needs enableAutoScaling: true")

    def _pool_max_pods(self, path: Path, pool: NodePoolSpec) -> None:
        mode = pod_ip_mode(self.spec, pool)
        max_pods = max_pods_of(self.spec, pool)
        smallest = pool.min_count if pool.enable_auto_scaling and pool.min_count else pool.count
        for problem in sizing.validate_max_pods(max_pods, mode, max(smallest, 1)):
            self.error((*path, "maxPods"), f"expected {problem.expected}, got {problem.found}")
        if mode == "node-subnet":
            subnet = self._subnet(pool)
            need = sizing.azure_cni_required_ips(pool.count, max_pods, surge_nodes=0)
            have = usable_addresses(subnet.prefixlen)
            if need > have:
                self.warn((*path, "count"), f"{pool.count} nodes x (1 + {max_pods} pods) = {need} "
                          f"addresses, but subnet {subnet} has {have} usable: AKS would refuse "
                          "this (the run shows SubnetIsFull)")
        alloc = allocatable(pool.vm_size, max_pods)
        if alloc.cpu <= 0 or alloc.memory <= 0:
            self.error((*path, "vmSize"), f"{pool.vm_size} leaves nothing allocatable with "
                       f"maxPods {max_pods}")

    def subnet_fit(self) -> None:
        """Every pool on a subnet at its largest, plus the largest upgrade surge, must fit
        (sim.scenario.fit: the same computation as `aks-sim plan --scenario`)."""
        from sim.scenario.fit import cluster_fit

        c = self.spec.cluster
        index = {s.name: i for i, s in enumerate(c.vnet.subnets)}
        for s in cluster_fit(self.spec).subnets:
            if s.left < 0:
                held = f" (besides {s.held} held by other resources)" if s.held else ""
                self.warn(("cluster", "vnet", "subnets", index[s.name], "addressPrefix"),
                          f"the node pools on subnet {s.name} need up to {s.need - s.held} "
                          f"addresses at their largest (maxCount) plus an upgrade surge{held}, "
                          f"but {s.cidr} has {s.usable} usable: expect SubnetIsFull (aks-sim "
                          f"plan sizes it)")

    def _subnet(self, pool: NodePoolSpec) -> ipaddress.IPv4Network:
        c = self.spec.cluster
        name = pool.vnet_subnet or c.vnet.subnets[0].name
        for s in c.vnet.subnets:
            if s.name == name:
                return s.address_prefix
        return c.vnet.subnets[0].address_prefix

    def _cluster_size(self, total: int) -> None:
        c = self.spec.cluster
        if total > sizing.MAX_NODES_PER_CLUSTER:
            self.error(("cluster", "nodePools"), f"expected at most "
                       f"{sizing.MAX_NODES_PER_CLUSTER} nodes in a cluster, got up to {total}")
        if c.plugin == "kubenet" and total > sizing.KUBENET_MAX_NODES:
            self.warn(("cluster", "nodePools"), f"kubenet supports at most "
                      f"{sizing.KUBENET_MAX_NODES} nodes (one UDR route per node, "
                      f"{sizing.KUBENET_MAX_ROUTES} routes per route table); this cluster can "
                      f"reach {total}: nodes past {sizing.KUBENET_MAX_ROUTES} get "
                      "FailedToCreateRoute")
        if c.plugin in ("kubenet", "overlay"):
            ranges = sizing.pod_cidr_node_capacity(str(c.pod_cidr))
            if total > ranges:
                self.warn(("cluster", "podCidr"), f"pod CIDR {c.pod_cidr} holds {ranges} node "
                          f"/{sizing.NODE_POD_PREFIX_LEN}s, but the cluster can reach {total} "
                          "nodes: nodes past that get CIDRNotAvailable")
        if c.network_policy == "azure" and total > sizing.AZURE_NPM_MAX_NODES:
            self.warn(("cluster", "networkPolicy"), f"Azure NPM supports at most "
                      f"{sizing.AZURE_NPM_MAX_NODES} nodes; this cluster can reach {total}")
        if c.network_policy == "azure" and c.kube_proxy_config.mode == "IPVS":
            self.error(("cluster", "kubeProxyConfig", "mode"), "kube-proxy in IPVS mode does not "
                       "support Azure Network Policy (configure-kube-proxy.md); use networkPolicy "
                       "calico or cilium, or mode IPTABLES")

    # --- workloads, chaos, operations, expectations ------------------------------------

    def workload_refs(self) -> None:
        pools = {p.name for p in self.spec.cluster.node_pools}
        seen: dict[str, str] = {}
        w = self.workloads
        for p in (*w.deployments, *w.statefulsets, *w.daemonsets):
            d = p.obj
            if d.key in seen:
                again = "is defined twice" if seen[d.key] == d.kind else (
                    f"has the name of a {seen[d.key]}: aks-sim knows workloads by "
                    "namespace/name, rename one")
                self._at(p, ("metadata", "name"), f"{d.kind} {d.key} {again}")
            seen.setdefault(d.key, d.kind)
            if not d.spec.selector.matches(d.spec.template.metadata.labels):
                self._at(p, ("spec", "selector"), f"matchLabels {_labels(d.spec.selector.match_labels)} "
                         "does not select the pod template's labels "
                         f"{_labels(d.spec.template.metadata.labels)}; the API server rejects this "
                         f"{d.kind}")
            sel = d.spec.template.spec.node_selector
            for key in ("agentpool", "kubernetes.azure.com/agentpool"):
                if key in sel and sel[key] not in pools:
                    self._at(p, ("spec", "template", "spec", "nodeSelector", key),
                             _unknown("node pool", sel[key], sorted(pools)) +
                             " (its pods would stay Pending)", severity="warning")
        for p in self.workloads.hpas:
            h = p.obj
            assert isinstance(h, HorizontalPodAutoscaler)
            ref = f"{h.metadata.namespace}/{h.spec.scale_target_ref.name}"
            if self.workloads.deployment(ref) is None:
                self._at(p, ("spec", "scaleTargetRef", "name"),
                         f"HPA target Deployment {ref} is not defined in the scenario")
        for p in self.workloads.services:
            s = p.obj
            assert isinstance(s, Service)
            if s.spec.type == "ExternalName" and not s.spec.external_name:
                self._at(p, ("spec", "externalName"), "an ExternalName Service needs externalName")
        for i, u in enumerate(self.spec.utilization):
            if self.workloads.deployment(u.deployment) is None:
                self.error(("utilization", i, "deployment"), self._unknown_deployment(u.deployment))

    def pod_count(self) -> None:
        """aks-sim simulates at most MAX_PODS pods: each Deployment at its most (replicas, its
        HPA's maxReplicas, a scale_deployment operation), and all of them together."""
        total = self._daemon_pods()
        for p in (*self.workloads.deployments, *self.workloads.statefulsets):
            d = p.obj
            most, where = d.spec.replicas, (*p.path, "spec", "replicas")
            for h in self.workloads.hpas:
                target = f"{h.obj.metadata.namespace}/{h.obj.spec.scale_target_ref.name}"
                if target == d.key and h.obj.spec.max_replicas > most:
                    most, where = h.obj.spec.max_replicas, (*h.path, "spec", "maxReplicas")
            if most > MAX_PODS:
                self.issues.append(p.doc.issue(where, f"expected at most {MAX_PODS:,} replicas "
                                               f"(aks-sim's limit on pods), got {most:,}"))
            total += min(most, MAX_PODS)
        for i, op in enumerate(self.spec.operations):
            if op.operation == "scale_deployment" and op.replicas > MAX_PODS:
                self.error(("operations", i, "replicas"), f"expected at most {MAX_PODS:,} "
                           f"replicas (aks-sim's limit on pods), got {op.replicas:,}")
        if total > MAX_PODS:
            self.error(("workloads",), f"expected at most {MAX_PODS:,} pods in all "
                       f"(aks-sim's limit), but the Deployments ask for up to {total:,}")

    def _daemon_pods(self) -> int:
        """Pods the DaemonSets run at the pools' sizes (one per node each, at most)."""
        nodes = sum(max(p.count, p.max_count or 0) for p in self.spec.cluster.node_pools)
        return nodes * len(self.workloads.daemonsets)

    def _runs_coredns(self) -> bool:
        """CoreDNS joins the model when a flow from pods looks a Service up by name."""
        traffic = self.spec.traffic
        return traffic is not None and any(f.from_ == "pods" and f.to is not None
                                           for f in traffic.flows)

    def _unknown_deployment(self, ref: str) -> str:
        names = [p.obj.key for p in self.workloads.deployments]  # type: ignore[attr-defined]
        return _unknown("Deployment", ref, names)

    def _at(self, placed: Placed, sub: Path, message: str, severity: str = "error") -> None:
        self.issues.append(placed.doc.issue((*placed.path, *sub), message, severity=severity))

    def timeline(self) -> None:
        spec, c = self.spec, self.spec.cluster
        pools = {p.name: p for p in c.node_pools}
        for key, items in (("chaos", spec.chaos), ("operations", spec.operations)):
            for i, item in enumerate(items):
                path: Path = (key, i)
                if item.at >= spec.duration:
                    self.error((*path, "at"), f"expected a time before the end of the run "
                               f"({format_duration(spec.duration)}), got {format_duration(item.at)}")
                zone = getattr(item, "zone", None)
                if zone is not None and zone not in c.zones:
                    self.error((*path, "zone"), f"zone {zone!r} is not defined; the cluster has "
                               f"zones {', '.join(map(repr, c.zones))}")
                pool = getattr(item, "node_pool", None)
                if pool is not None and pool not in pools:
                    self.error((*path, "nodePool"), _unknown("node pool", pool, list(pools)))
                dep = getattr(item, "deployment", None)
                if dep is not None and self.workloads.deployment(dep) is None and not (
                        dep in ("kube-system/coredns", "coredns") and self._runs_coredns()):
                    self.error((*path, "deployment"), self._unknown_deployment(dep))
                op = getattr(item, "operation", None)
                if op == "scale" and pool in pools and pools[pool].enable_auto_scaling:
                    self.error(path, f"node pool {pool} has the cluster autoscaler enabled; AKS "
                               "refuses a manual scale of it")
                if op == "scale" and item.count > sizing.MAX_NODES_PER_POOL:
                    self.error((*path, "count"), f"expected at most {sizing.MAX_NODES_PER_POOL} "
                               f"nodes per pool, got {item.count}")
        self._flows()

    def _services(self) -> dict[str, Service]:
        """The scenario's Services by name and by namespace/name."""
        services = {}
        for p in self.workloads.services:
            meta = p.obj.metadata
            services[meta.name] = services[f"{meta.namespace}/{meta.name}"] = p.obj
        return services

    def faults(self) -> None:
        """References of the faults that name something: Services, subnets, rules, selectors."""
        subnets = {s.name: s for s in self.spec.cluster.vnet.subnets}
        services = self._services()
        for i, fault in enumerate(self.spec.chaos):
            self._fault(("chaos", i), fault, subnets, services)

    def _fault(self, path: Path, fault: AnyFault, subnets: dict[str, Any],
               services: dict[str, Service]) -> None:
        match fault:
            case PodKill() if fault.deployment is None:
                self._pod_kill_selector(path, fault)
            case NodeFailure():
                self._node_failure(path, fault)
            case CorednsOutage() if not self._runs_coredns():
                self.error((*path, "fault"), "this scenario runs no CoreDNS: it joins the model "
                           "when a flow from pods calls a Service by name (from: pods, to:)")
            case IngressControllerCrash() if (
                    self.spec.traffic is None or self.spec.traffic.ingress_controller is None):
                self.error((*path, "fault"), "this scenario has no ingress controller "
                           "(traffic.ingressController)")
            case LbProbeFailure():
                self._lb_probe_failure(path, fault, services)
            case SubnetSqueeze() | NsgRuleFault() if fault.subnet is not None and (
                    fault.subnet not in subnets):
                self.error((*path, "subnet"), _unknown("subnet", fault.subnet, list(subnets)))
            case ZoneLatency() | ZoneLoss() | Partition():
                self._fault_zones(path, fault)
            case NsgRuleFault() if fault.remove is not None:
                c = self.spec.cluster
                name = fault.subnet or c.node_pools[0].vnet_subnet or c.vnet.subnets[0].name
                rules = [r.name for r in subnets[name].security_rules] if name in subnets else []
                if fault.remove not in rules:
                    self.error((*path, "remove"), _unknown(f"security rule of subnet {name}",
                                                           fault.remove, rules))

    def _pod_kill_selector(self, path: Path, fault: PodKill) -> None:
        """A pod_kill by selector must match the pods of some Deployment (or StatefulSet, DaemonSet)."""
        if not any(
                fault.namespace in (None, d.obj.metadata.namespace) and all(
                    d.obj.spec.template.metadata.labels.get(k) == v
                    for k, v in fault.selector.items())
                for d in (*self.workloads.deployments, *self.workloads.statefulsets,
                          *self.workloads.daemonsets)):
            where = " in namespace " + fault.namespace if fault.namespace else ""
            self.error((*path, "selector"), f"selector {_labels(fault.selector)} matches no "
                       f"Deployment's pods{where}")

    def _node_failure(self, path: Path, fault: NodeFailure) -> None:
        """A node_failure names a node that exists (or may), or a pool and an index in it."""
        c = self.spec.cluster
        if fault.node is not None:
            problem = self._unknown_node(fault.node)
            if problem:
                self.error((*path, "node"), problem)
        elif fault.index is not None:
            pool = next((p for p in c.node_pools if p.name == fault.node_pool), None)
            if pool is None:
                self.error((*path, "nodePool"), _unknown(
                    "node pool", str(fault.node_pool), [p.name for p in c.node_pools]))
            elif fault.zone is None:
                problem = self._unknown_node(node_name(c.name, pool.name, fault.index))
                if problem:
                    self.error((*path, "index"), problem)

    def _lb_probe_failure(self, path: Path, fault: LbProbeFailure,
                          services: dict[str, Service]) -> None:
        """An lb_probe_failure names a LoadBalancer Service that some flow reaches through it."""
        svc = services.get(fault.service)
        if svc is None:
            self.error((*path, "service"), _unknown(
                "Service", fault.service, sorted(k for k in services if "/" in k)))
        elif svc.spec.type != "LoadBalancer":
            self.error((*path, "service"), f"Service {fault.service} is "
                       f"{svc.spec.type}: only a LoadBalancer Service has load balancer "
                       "health probes")
        elif not self._load_balanced(svc):
            self.warn((*path, "service"), f"no flow of traffic reaches Service "
                      f"{svc.metadata.namespace}/{svc.metadata.name} through its load "
                      "balancer: the fault would change nothing (the run skips it)")

    def _fault_zones(self, path: Path, fault: ZoneLatency | ZoneLoss | Partition) -> None:
        """The zones (two or more, or none) and node pools of a fault between zones."""
        c = self.spec.cluster
        for j, zone in enumerate(fault.zones):
            if zone not in c.zones:
                self.error((*path, "zones", j), f"zone {zone!r} is not defined; the "
                           f"cluster has zones {', '.join(map(repr, c.zones))}")
        if not isinstance(fault, Partition) and len(fault.zones) == 1:
            self.error((*path, "zones"), "expected at least two zones (the fault is on "
                       "the paths between them), or none for every pair")
        pools = [p.name for p in c.node_pools]
        for j, pool in enumerate(getattr(fault, "node_pools", [])):
            if pool not in pools:
                self.error((*path, "nodePools", j), _unknown("node pool", pool, pools))

    def _unknown_node(self, name: str) -> str | None:
        """Why no node of the run can be called *name* (None: one is, or may be later)."""
        spec, c = self.spec, self.spec.cluster
        for pool in c.node_pools:
            prefix = f"aks-{pool.name}-{vmss_id(c.name, pool.name)}-vmss"
            if not name.startswith(prefix):
                continue
            first = [node_name(c.name, pool.name, i) for i in range(pool.count)]
            if name in first:
                return None
            grows = pool.enable_auto_scaling or any(
                getattr(op, "node_pool", None) == pool.name and op.operation in ("scale", "upgrade")
                for op in spec.operations)
            suffix = name[len(prefix):]
            if grows and len(suffix) == 6 and suffix.isalnum() and suffix == suffix.lower():
                return None  # a node a scale, upgrade or the autoscaler adds later
            have = (f"{first[0]} to {first[-1]}" if len(first) > 1 else first[0]) if first \
                else "no nodes"
            return (f"node {name!r} does not exist: node pool {pool.name} starts with {have} "
                    "and no operation or autoscaler adds nodes to it")
        examples = ", ".join(node_name(c.name, p.name, 0) for p in c.node_pools)
        return (f"node {name!r} does not exist: nodes are named aks-<pool>-<id>-vmss<instance>, "
                f"e.g. {examples}")

    def _load_balanced(self, svc: Service) -> bool:
        """Whether a flow reaches *svc* through its load balancer (the run builds one then)."""
        traffic = self.spec.traffic
        if traffic is None:
            return False
        names = {svc.metadata.name, f"{svc.metadata.namespace}/{svc.metadata.name}"}
        controller = traffic.ingress_controller
        return any((f.ingress is not None and controller is not None
                    and controller.service in names)
                   or (f.from_ != "pods" and f.to is not None and f.to.service in names)
                   for f in traffic.flows)

    def network_policies(self) -> None:
        """Every NetworkPolicy must be one the API server accepts (compiled as the engine does)."""
        from sim.netpol import NetworkPolicies, NetworkPolicyError

        known = set()
        for p in self.workloads.network_policies:
            obj = p.obj.model_dump(by_alias=True, exclude_none=True)
            known.add(f"{p.obj.metadata.namespace}/{p.obj.metadata.name}")
            try:
                NetworkPolicies([obj])
            except NetworkPolicyError as exc:
                self._at(p, ("spec",), str(exc))
        changes = [(("operations", i), op) for i, op in enumerate(self.spec.operations)
                   if getattr(op, "operation", None) == "network_policy"]
        changes += [(("chaos", i), f) for i, f in enumerate(self.spec.chaos)
                    if f.fault == "network_policy"]
        for where, op in sorted(changes, key=lambda c: c[1].at):
            i = where[1]
            if op.apply is not None:
                meta = op.apply.get("metadata") or {}
                try:
                    NetworkPolicies([op.apply])
                except NetworkPolicyError as exc:
                    self.error((where[0], i, "apply"), str(exc))
                else:
                    known.add(f"{meta.get('namespace', 'default')}/{meta.get('name')}")
            elif op.delete not in known:
                self.error((where[0], i, "delete"), _unknown("NetworkPolicy", op.delete or "",
                                                                  sorted(known)))

    def ingresses(self) -> None:
        """Ingresses applied by operations must be valid, and deletions must name one."""
        from sim.ingress import IngressError, IngressRouter

        known = {f"{p.obj.metadata.namespace}/{p.obj.metadata.name}"
                 for p in self.workloads.ingresses}
        for p in self.workloads.ingresses:  # as the run reads them (sim.traffic.controller)
            try:
                IngressRouter([p.obj.model_dump(by_alias=True, exclude_none=True)])
            except IngressError as exc:
                sub, message = _ingress_where(str(exc))
                self._at(p, sub, message)
        for i, op in enumerate(self.spec.operations):
            if getattr(op, "operation", None) != "ingress":
                continue
            if op.apply is not None:
                meta = op.apply.get("metadata") or {}
                try:
                    IngressRouter([op.apply])
                except IngressError as exc:
                    sub, message = _ingress_where(str(exc))
                    self.error(("operations", i, "apply", *sub), message)
                else:
                    known.add(f"{meta.get('namespace', 'default')}/{meta.get('name')}")
            elif op.delete not in known:
                self.error(("operations", i, "delete"), _unknown("Ingress", op.delete or "",
                                                                  sorted(known)))

    def _flows(self) -> None:
        traffic = self.spec.traffic
        if traffic is None:
            return
        services = self._services()
        names: set[str] = set()
        for i, flow in enumerate(traffic.flows):
            path: Path = ("traffic", "flows", i)
            if flow.name in names:
                self.error((*path, "name"), f"flow name {flow.name!r} is used twice")
            names.add(flow.name)
            if flow.from_ == "pods":
                self._pod_flow(path, flow, services)
            elif flow.pods is not None:
                if self.workloads.deployment(flow.pods) is None:
                    self.error((*path, "pods"), self._unknown_deployment(flow.pods))
            else:
                self._load_balancer_flow(path, flow, traffic, services)
        for i, b in enumerate(traffic.backends):
            if self.workloads.deployment(b.deployment) is None:
                self.error(("traffic", "backends", i, "deployment"),
                           self._unknown_deployment(b.deployment))

    def _pod_flow(self, path: Path, flow: Flow, services: dict[str, Service]) -> None:
        """A flow from pods: its client Deployment, and the Service (and port) it calls."""
        if flow.client and self.workloads.deployment(flow.client) is None:
            self.error((*path, "client"), self._unknown_deployment(flow.client))
        target_svc = services.get(flow.to.service) if flow.to is not None else None
        if flow.to is not None and target_svc is None:
            self.error((*path, "to", "service"), _unknown(
                "Service", flow.to.service, sorted(k for k in services if "/" in k)))
        elif (flow.to is not None and target_svc is not None and flow.to.port is not None
              and target_svc.spec.type != "ExternalName"
              and flow.to.port not in [p.port for p in target_svc.spec.ports]):
            # an ExternalName is only a name: any port of the far end may be called
            ports = [p.port for p in target_svc.spec.ports]
            self.error((*path, "to", "port"), f"Service {flow.to.service} has no port "
                       f"{flow.to.port} (ports: {', '.join(map(str, ports)) or 'none'})")

    def _load_balancer_flow(self, path: Path, flow: Flow, traffic: TrafficSpec,
                            services: dict[str, Service]) -> None:
        """A flow from outside the pods (internet, VNet, ingress): the Service it reaches must
        exist, have the port, and be a LoadBalancer (public, for internet clients)."""
        if flow.ingress is not None:
            controller = traffic.ingress_controller
            if controller is None:
                self.error((*path, "ingress"), "an ingress flow needs traffic.ingressController "
                           "(the controller's LoadBalancer Service)")
                return
            target, where, port = controller.service, ("traffic", "ingressController", "service"), None
        else:
            assert flow.to is not None
            target, where, port = flow.to.service, (*path, "to", "service"), flow.to.port
        svc = services.get(target)
        if svc is None:
            self.error(where, _unknown("Service", target, sorted(k for k in services if "/" in k)))
            return
        ports = [p.port for p in svc.spec.ports]
        if port is not None and port not in ports:
            self.error((*path, "to", "port"), f"Service {target} has no port "
                       f"{port} (ports: {', '.join(map(str, ports)) or 'none'})")
        if svc.spec.type != "LoadBalancer":
            self.error(where, f"Service {target} is "
                       f"{svc.spec.type}: clients from {flow.from_} reach a Service through a "
                       "load balancer (type: LoadBalancer)")
        elif flow.from_ == "internet" and svc.is_internal_lb:
            self.error((*path, "from"), f"Service {target} has an internal load "
                       "balancer: it has no public address for internet clients")

    def _event_match(self, path: tuple[Any, ...], e: Any, known_reasons: set[str]) -> None:
        from sim.events import event_fields

        if e.event not in known_reasons:
            self.error((*path, "event"), _unknown("event reason", e.event, sorted(known_reasons)))
            return
        names = event_fields(e.event) or ()
        for key in e.fields:
            if key not in names:
                self.error((*path, "fields", key), _unknown(f"field of {e.event} events", key,
                                                            list(names)))

    def expectations(self, known_reasons: set[str], figure_ok: Callable[[str], str | None]) -> None:
        deployments = {k for d in self.workloads.deployments
                       for k in (d.obj.key, d.obj.metadata.name)}  # type: ignore[attr-defined]
        for i, e in enumerate(self.spec.expect):
            if hasattr(e, "event"):
                self._event_match(("expect", i), e, known_reasons)
            elif hasattr(e, "sequence"):
                for j, item in enumerate(e.sequence):
                    if isinstance(item, str):
                        if item not in known_reasons:
                            self.error(("expect", i, "sequence", j), _unknown(
                                "event reason", item, sorted(known_reasons)))
                    else:
                        self._event_match(("expect", i, "sequence", j), item, known_reasons)
            elif hasattr(e, "reach"):
                for side in ("from", "to"):
                    name = e.reach.from_ if side == "from" else e.reach.to
                    if name not in deployments and not (side == "from" and name == "internet"):
                        self.error(("expect", i, "reach", side), _unknown(
                            "Deployment", name, sorted(k for k in deployments if "/" in k)
                            + (["internet"] if side == "from" else [])))
            else:
                problem = figure_ok(e.figure)
                if problem:
                    self.error(("expect", i, "figure"), problem)
                elif e.at is not None and e.at > self.spec.duration:
                    self.error(("expect", i, "at"), f"at {e.at:g}s is after the end of the run "
                               f"(duration {self.spec.duration:g}s)")


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) + "}"


def _unknown(what: str, got: str, known: list[str]) -> str:
    close = difflib.get_close_matches(got, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"{what} {got!r} is not defined{hint} (defined: {listing or 'none'})"


_INGRESS_WHERE = re.compile(r"^(?:Ingress \S+ |ingresses\[\d+\]\.?)((?:spec|metadata)[^\s:]*)?:? ?")


def _ingress_where(message: str) -> tuple[Path, str]:
    """An IngressError's field (``spec.rules[0].host``) as a path inside the Ingress, and the
    message; the whole Ingress when the message names no field."""
    m = _INGRESS_WHERE.match(message)
    if m is None or not m.group(1):
        return (), message
    path: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", m.group(1)):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(path), message[m.end():] or message


def check(spec: Scenario, doc: Located, workloads: Workloads, known_reasons: set[str],
          figure_ok: Callable[[str], str | None]) -> list[Issue]:
    """Every semantic problem of a scenario whose shape is already valid."""
    checker = _Checker(spec, doc, workloads)
    checker.ranges()
    checker.pools()
    if not any(i.severity == "error" for i in checker.issues):
        checker.subnet_fit()
    checker.workload_refs()
    checker.pod_count()
    checker.timeline()
    checker.faults()
    checker.network_policies()
    checker.ingresses()
    checker.expectations(known_reasons, figure_ok)
    return checker.issues


__all__ = ["check"]
