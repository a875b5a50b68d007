"""The model: every room of the cluster wired together for one run.

Built from a loaded scenario by :class:`sim.engine.Simulation`. The model builds the rooms,
hands each its :class:`~sim.kernel.context.Context` and the rooms below it, and wires the
watches between them (:meth:`Model._wire`); the controllers never hold the model. Actors and
views on a run (chaos, operations, the report, telemetry) read it. Nothing here does I/O.
"""

from __future__ import annotations

import simpy

from sim import ipam
from sim.azure.vnet import Subnet
from sim.cluster.autoscaler import ClusterAutoscaler
from sim.cluster.nodes import NodeController
from sim.cluster.scheduler import NodeTable, Scheduler
from sim.kernel.bus import Bus
from sim.kernel.context import Context
from sim.kernel.rng import Streams
from sim.kernel.timers import Timers
from sim.objects import Node, NodePool
from sim.scenario.loaded import LoadedScenario
from sim.scenario.manifests import (
    Deployment,
    HorizontalPodAutoscaler,
    Service,
)
from sim.scenario.schema import max_pods_of
from sim.svc import ServiceController
from sim.traffic.controller import TrafficController
from sim.workloads.controller import WorkloadController


class Model:
    """Cluster state and controllers of one run."""

    def __init__(self, loaded: LoadedScenario, env: simpy.Environment, streams: Streams,
                 bus: Bus) -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.env = env
        self.streams = streams
        self.bus = bus
        self.timers = Timers(env)
        c = self.spec.cluster
        self.subnets = {s.name: Subnet(s.name, s.address_prefix) for s in c.vnet.subnets}
        for s in c.vnet.subnets:  # what others hold before the cluster takes anything
            if s.held_addresses:
                self.subnets[s.name].allocate(min(s.held_addresses, self.subnets[s.name].usable),
                                              "other")
        self.zone_index = {z: i for i, z in enumerate(c.zones)}
        self.table = NodeTable()
        self.scheduler = Scheduler(self.table, streams["scheduler"], len(c.zones))
        self.nodes_by_row: dict[int, Node] = {}
        self.pools: dict[str, NodePool] = {}
        default_subnet = c.vnet.subnets[0].name
        for i, spec in enumerate(c.node_pools):
            self.pools[spec.name] = NodePool(
                spec, i, c.name, max_pods_of(self.spec, spec), spec.zones or list(c.zones),
                spec.vnet_subnet or default_subnet, spec.pod_subnet, c.kubernetes_version)
        self.ipam = ipam.build(self.spec, self.bus, self.subnets, self.pools)
        ctx = self.ctx = Context(env, bus, self.timers, streams)
        self.nodes = NodeController(ctx, c, self.ipam, self.table, self.nodes_by_row,
                                    self.zone_index)
        self.workloads = WorkloadController(ctx, c, self.pools, self.table, self.scheduler,
                                            self.nodes_by_row, self.ipam)
        self.autoscaler = ClusterAutoscaler(ctx, c.autoscaler_profile, self.pools, self.table,
                                            self.nodes_by_row, self.nodes, self.workloads)
        traffic = self.spec.traffic
        self.service_ctl = ServiceController(
            self.timers, bus, traffic.endpoint_propagation_delay if traffic else 1.0,
            c.service_cidr, c.dns_service_ip, self.subnets)
        self.traffic = TrafficController(ctx, loaded, self.workloads, self.service_ctl, self.pools,
                                         self.table, self.nodes_by_row)
        self._wire()

    def _wire(self) -> None:
        """Who watches whom: the only place that knows the whole graph (Kubernetes' informers:
        each controller reacts to the objects it watches, none calls a sibling)."""
        nodes, workloads = self.nodes, self.workloads
        nodes.became_ready.subscribe(workloads.node_became_ready)
        nodes.went_not_ready.subscribe(workloads.taint_manager.node_went_not_ready)
        nodes.deleting.subscribe(workloads.node_deleting)
        nodes.stopped.subscribe(workloads.node_stopped)
        nodes.schedulable.subscribe(workloads.node_schedulable)
        nodes.provisioning_failed.subscribe(self.autoscaler.provisioning_failed)
        workloads.readiness_changed.subscribe(self.service_ctl.pod_readiness_changed)
        workloads.pod_lost.subscribe(self.traffic.pod_lost)
        self.service_ctl.endpoints_changed.subscribe(self.traffic.endpoints_changed)

    def start(self) -> None:
        """The cluster as the scenario describes it at time 0: nodes Ready, workloads applied."""
        for pool in self.pools.values():
            for _ in range(pool.spec.count):
                node = self.nodes.create(pool, "create", immediate=True)
                if node is None:
                    break
        for placed in self.loaded.workloads.services:
            assert isinstance(placed.obj, Service)
            self.service_ctl.create(placed.obj)
        for placed in self.loaded.workloads.deployments:
            assert isinstance(placed.obj, Deployment)
            self.workloads.add_deployment(placed.obj)
        for placed in (*self.loaded.workloads.statefulsets, *self.loaded.workloads.daemonsets):
            self.workloads.add_deployment(placed.obj)
        self.workloads.budgets.pdbs = [p.obj for p in self.loaded.workloads.pdbs]
        self._add_coredns()
        for profile in self.spec.utilization:
            dep = self.workloads.find(profile.deployment)
            dep.utilization = [(p.at, p.cpu) for p in profile.profile]
        for placed in self.loaded.workloads.hpas:
            assert isinstance(placed.obj, HorizontalPodAutoscaler)
            self.workloads.add_hpa(placed.obj)
        self.service_ctl.bind_deployments(list(self.workloads.deployments.values()))
        # the workloads as they run when the scenario starts: scheduled, Running and Ready
        self.workloads.instant = True
        for node in sorted(self.nodes_by_row.values(), key=lambda n: n.row):
            if node.state == "Ready":  # daemon pods first: they are there before the rest
                self.workloads.node_ready(node)
        for dep in self.workloads.deployments.values():
            self.workloads.reconcile(dep)
        self.workloads.settle()  # StatefulSets start their next ordinal when one is Ready
        self.workloads.instant = False
        self.service_ctl.sync_all()
        self.traffic.start()

    def _add_coredns(self) -> None:
        """CoreDNS and kube-dns, as every AKS cluster runs them, when a flow looks names up
        (kube-system/coredns, requests cpu 100m and memory 70Mi, 2+ replicas by the AKS
        coredns-autoscaler ladder; kube-dns at dnsServiceIP)."""
        traffic = self.spec.traffic
        if traffic is None or not any(f.from_ == "pods" and f.to is not None
                                      for f in traffic.flows):
            return
        if "kube-system/coredns" in self.workloads.deployments:
            return
        from sim import dns
        from sim.azure.vmsizes import VM_SIZES

        nodes = sum(p.spec.count for p in self.pools.values())
        cores = sum(p.spec.count * VM_SIZES[p.spec.vm_size][0] for p in self.pools.values())
        replicas = traffic.coredns.replicas
        if replicas is None:
            replicas = dns.replicas(cores, nodes)
        labels = {"k8s-app": "kube-dns"}
        self.workloads.add_deployment(Deployment.model_validate({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                         "name": "coredns",
                         "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}],
                         "resources": {"requests": {"cpu": "100m", "memory": "70Mi"}}}]}}}}))
        kube_dns = Service.model_validate({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {"selector": labels, "clusterIP": str(self.spec.cluster.dns_service_ip),
                     "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})
        self.service_ctl.create_kube_dns(kube_dns)
