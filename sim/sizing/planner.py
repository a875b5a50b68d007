"""The subnet planner: how big the node subnet (and pod subnet or pod CIDR) must be, and which
published limits bind (``aks-sim plan``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

from sim.sizing.addresses import (
    azure_cni_required_ips,
    dynamic_pod_ips_per_node,
    min_prefix_len,
    node_subnet_required_ips,
    pod_cidr_min_prefix_len,
    pod_cidr_node_capacity,
    static_block_ideal_max_pods,
    static_block_min_prefix_len,
    static_block_wasted_ips,
    static_blocks_per_node,
    subnet_total_addresses,
)
from sim.sizing.limits import (
    AZURE_NPM_MAX_NODES,
    DEFAULT_POD_CIDR,
    DYNAMIC,
    DYNAMIC_BATCH_IPS,
    DYNAMIC_MAX_PODS_PER_CLUSTER,
    DYNAMIC_MIN_IPS_PER_NODE,
    KUBENET,
    KUBENET_MAX_NODES,
    KUBENET_MAX_ROUTES,
    KUBENET_RETIREMENT,
    MAX_NODES_PER_POOL,
    MAX_SURGE_DEFAULT,
    MAX_SURGE_RECOMMENDED,
    MODE_LABELS,
    NODE_SUBNET,
    OVERLAY,
    OVERLAY_MAX_PODS_PER_CLUSTER,
    SNAT_DEFAULT_TIERS,
    SRC_IP_PLANNING,
    SRC_KUBENET,
    SRC_KUBENET_RETIREMENT,
    SRC_LARGE,
    SRC_LB_STANDARD,
    SRC_OVERLAY,
    SRC_POD_SUBNET,
    SRC_QUOTAS,
    SRC_UPGRADE,
    STATIC_BLOCK,
    STATIC_BLOCK_IPS,
    STATIC_BLOCK_LARGEST_SUBNET_PREFIX_LEN,
    STATIC_BLOCK_MAX_PODS_PER_CLUSTER,
    VNET_MAX_PRIVATE_IPS,
    InputProblem,
    raise_if,
)
from sim.sizing.modes import default_max_pods, ip_mode, max_pods_limits, plugin_problems, validate_max_pods
from sim.sizing.outbound import snat_ports_per_instance
from sim.sizing.revisions import MODEL, DocRevision
from sim.sizing.upgrades import surge_nodes, surge_problems

# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class BindingLimit:
    """A published limit the plan reaches (``at limit``) or goes past (``exceeded``).

    Attributes:
        name: What is limited.
        limit: The published limit.
        value: The plan's value.
        source: Doc path of the limit.
        status: ``at limit`` or ``exceeded``.
    """

    name: str
    limit: int
    value: int
    source: str
    status: str


def _limit(name: str, limit: int, value: int, source: str) -> list[BindingLimit]:
    if value < limit:
        return []
    return [BindingLimit(name, limit, value, source, "exceeded" if value > limit else "at limit")]


@dataclass(frozen=True)
class Plan:
    """How big the node subnet (and pod subnet or pod CIDR) must be, and what binds.

    Attributes:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None``.
        pod_ip_allocation: The pod IP allocation flag, or ``None``.
        mode: The IP mode (one of :data:`IP_MODES`).
        nodes: Nodes of the pool.
        max_count: Autoscaler maximum, or ``None``.
        max_pods: Max pods per node (given or the mode's default).
        max_pods_defaulted: Whether *max_pods* is the default.
        max_surge: Max surge as given.
        pool_nodes: ``max(nodes, max_count)``.
        surge_nodes: Surge nodes an upgrade adds.
        nodes_to_fit: ``pool_nodes + surge_nodes``: nodes present at once at worst.
        required_ips: Node-subnet IPs.
        min_prefix_len: Longest node-subnet prefix holding them (``None``: no IPv4 subnet does).
        pod_subnet_required_ips: Pod-subnet IPs (pod subnet modes).
        pod_subnet_min_prefix_len: Longest pod-subnet prefix holding them.
        pod_subnet_floor_ips: Dynamic: the doc's floor of 16 IPs per node.
        static_blocks_per_node: Static block: /28 blocks per node.
        static_wasted_ips_per_node: Static block: IPs per node no pod can use.
        pod_cidr_min_prefix_len: kubenet/Overlay: longest ``--pod-cidr`` holding a /24 per node.
        max_pods_total: ``pool_nodes * max_pods``, the pod capacity of the pool.
        snat_ports_per_node: Default SNAT ports per node (1 outbound IP, pool of
            *nodes_to_fit*), ``None`` past the table's 1,000 instances.
        binding_limits: Limits reached or exceeded.
        warnings: Things to know.
    """

    network_plugin: str
    network_plugin_mode: str | None
    pod_ip_allocation: str | None
    mode: str
    nodes: int
    max_count: int | None
    max_pods: int
    max_pods_defaulted: bool
    max_surge: int | str
    pool_nodes: int
    surge_nodes: int
    nodes_to_fit: int
    required_ips: int
    min_prefix_len: int | None
    pod_subnet_required_ips: int | None
    pod_subnet_min_prefix_len: int | None
    pod_subnet_floor_ips: int | None
    static_blocks_per_node: int | None
    static_wasted_ips_per_node: int | None
    pod_cidr_min_prefix_len: int | None
    max_pods_total: int
    snat_ports_per_node: int | None
    binding_limits: tuple[BindingLimit, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``binding_limits`` become dicts, tuples lists."""
        out = asdict(self)
        out["binding_limits"] = [asdict(b) for b in self.binding_limits]
        out["warnings"] = list(self.warnings)
        out["mode_label"] = MODE_LABELS[self.mode]
        return out


def _count_problems(nodes: int, max_count: int | None) -> list[InputProblem]:
    problems: list[InputProblem] = []
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 0:
        problems.append(InputProblem("nodes", repr(nodes), "a node count >= 0"))
    if max_count is None:
        return problems
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 0:
        problems.append(InputProblem("max_count", repr(max_count), "a node count >= 0"))
    elif not problems and max_count < nodes:
        problems.append(InputProblem("max_count", str(max_count),
                                     f"at least --nodes ({nodes})"))
    return problems


def _min_prefix_or_none(required: int) -> int | None:
    try:
        return min_prefix_len(required)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Counts:
    mode: str
    max_pods: int
    pool_nodes: int
    surge: int

    @property
    def total(self) -> int:
        return self.pool_nodes + self.surge


def _pod_subnet_fields(c: _Counts) -> dict[str, int | None]:
    fields: dict[str, int | None] = dict.fromkeys((
        "pod_subnet_required_ips", "pod_subnet_min_prefix_len", "pod_subnet_floor_ips",
        "static_blocks_per_node", "static_wasted_ips_per_node", "pod_cidr_min_prefix_len"))
    if c.mode in (KUBENET, OVERLAY):
        fields["pod_cidr_min_prefix_len"] = pod_cidr_min_prefix_len(max(c.total, 1))
    elif c.mode == DYNAMIC:
        need = c.total * dynamic_pod_ips_per_node(c.max_pods)
        fields["pod_subnet_required_ips"] = need
        fields["pod_subnet_min_prefix_len"] = _min_prefix_or_none(need)
        fields["pod_subnet_floor_ips"] = c.total * DYNAMIC_MIN_IPS_PER_NODE
    elif c.mode == STATIC_BLOCK:
        blocks = static_blocks_per_node(c.max_pods)
        fields["static_blocks_per_node"] = blocks
        fields["static_wasted_ips_per_node"] = static_block_wasted_ips(c.max_pods)
        fields["pod_subnet_required_ips"] = c.total * blocks * STATIC_BLOCK_IPS
        try:
            fields["pod_subnet_min_prefix_len"] = static_block_min_prefix_len(c.total * blocks)
        except ValueError:
            fields["pod_subnet_min_prefix_len"] = None
    return fields


_POD_CLUSTER_LIMITS: Mapping[str, tuple[int, str]] = MappingProxyType({
    OVERLAY: (OVERLAY_MAX_PODS_PER_CLUSTER, SRC_LARGE),
    DYNAMIC: (DYNAMIC_MAX_PODS_PER_CLUSTER, SRC_LARGE),
    STATIC_BLOCK: (STATIC_BLOCK_MAX_PODS_PER_CLUSTER, SRC_POD_SUBNET),
})


def _vnet_ips(c: _Counts, required: int, pod_fields: Mapping[str, int | None]) -> int:
    if c.mode == STATIC_BLOCK:  # a block counts as one private IP (PodIPAllocationMode docs)
        return required + c.total * (pod_fields["static_blocks_per_node"] or 0)
    return required + (pod_fields["pod_subnet_required_ips"] or 0)


def _binding_limits(
    c: _Counts, required: int, pod_fields: Mapping[str, int | None],
    network_policy: str | None, revision: DocRevision,
) -> tuple[BindingLimit, ...]:
    low_high = max_pods_limits(c.mode, revision=revision)
    out = _limit("max pods per node", low_high[1], c.max_pods,
                 SRC_KUBENET if c.mode == KUBENET else SRC_IP_PLANNING)
    out += _limit("nodes per node pool", MAX_NODES_PER_POOL, c.pool_nodes, SRC_QUOTAS)
    out += _limit("nodes per cluster", revision.max_nodes_per_cluster, c.pool_nodes,
                  SRC_OVERLAY if c.mode == OVERLAY else SRC_QUOTAS)
    if c.mode == KUBENET:
        out += _limit("kubenet UDR routes (one per node, surge included)", KUBENET_MAX_ROUTES,
                      c.total, SRC_KUBENET)
    if c.mode in (KUBENET, OVERLAY):
        out += _limit(f"/24 node ranges in the default --pod-cidr {DEFAULT_POD_CIDR}",
                      pod_cidr_node_capacity(DEFAULT_POD_CIDR), c.total, SRC_KUBENET)
    if c.mode in _POD_CLUSTER_LIMITS:
        limit, source = _POD_CLUSTER_LIMITS[c.mode]
        out += _limit("pods per cluster (nodes x max pods)", limit,
                      c.pool_nodes * c.max_pods, source)
    if network_policy == "azure":
        out += _limit("Azure NPM nodes", AZURE_NPM_MAX_NODES, c.pool_nodes, SRC_LARGE)
    out += _limit("VNet configured private IPs", VNET_MAX_PRIVATE_IPS,
                  _vnet_ips(c, required, pod_fields), SRC_IP_PLANNING)
    pod_prefix = pod_fields["pod_subnet_min_prefix_len"]
    if c.mode == STATIC_BLOCK and pod_prefix is not None:
        # a shorter prefix is a bigger subnet: compare sizes, /12 being the largest allowed
        out += _limit("static block pod subnet size (largest /12)",
                      subnet_total_addresses(STATIC_BLOCK_LARGEST_SUBNET_PREFIX_LEN),
                      subnet_total_addresses(pod_prefix), SRC_POD_SUBNET)
    return tuple(out)


def _surge_warning(max_surge: int | str, c: _Counts) -> str:
    how = f"max surge {max_surge}"
    if isinstance(max_surge, str) and max_surge.strip().endswith("%"):
        how += f" of {c.pool_nodes} nodes, rounded up"
    return (f"upgrade surge counted: {c.surge} extra node(s) ({how}); nodes to fit "
            f"{c.total} (default max surge is {MAX_SURGE_DEFAULT} node, {MAX_SURGE_RECOMMENDED} "
            f"recommended for production; {SRC_UPGRADE})")


def _mode_warnings(c: _Counts, pod_fields: Mapping[str, int | None]) -> list[str]:
    out: list[str] = []
    if c.mode == KUBENET:
        out.append(f"kubenet retires on {KUBENET_RETIREMENT:%d %b %Y}; plan a move to Azure "
                   f"CNI Overlay ({SRC_KUBENET_RETIREMENT})")
        if c.total > KUBENET_MAX_NODES:
            out.append(f"{c.total} nodes (surge included) is above kubenet's "
                       f"{KUBENET_MAX_NODES}-node maximum (400-route UDR table; {SRC_KUBENET})")
    if c.mode == OVERLAY:
        out.append(f"each node takes a fixed /24 of --pod-cidr, which cannot be resized later "
                   f"({SRC_OVERLAY})")
    if c.mode == DYNAMIC:
        out.append(f"pod subnet sized for the worst case: every node full to {c.max_pods} pods, "
                   f"rounded up to batches of {DYNAMIC_BATCH_IPS}; the documented floor is "
                   f"{DYNAMIC_MIN_IPS_PER_NODE} IPs per node = "
                   f"{pod_fields['pod_subnet_floor_ips']} "
                   f"({SRC_POD_SUBNET})")
    if c.mode == STATIC_BLOCK and pod_fields["static_wasted_ips_per_node"]:
        blocks = pod_fields["static_blocks_per_node"] or 0
        out.append(f"max pods {c.max_pods} wastes {pod_fields['static_wasted_ips_per_node']} "
                   f"block IP(s) per node; {static_block_ideal_max_pods(blocks)} uses "
                   f"{blocks} block(s) fully (max_pods = 16N - 1; {SRC_POD_SUBNET})")
    return out


def _scale_warnings(c: _Counts, nodes: int, max_count: int | None,
                    network_policy: str | None) -> list[str]:
    out: list[str] = []
    if max_count is not None and max_count > nodes:
        out.append(f"scale-out headroom counted: sized for --max-count {max_count}, "
                   f"not --nodes {nodes}")
    if network_policy is None and c.pool_nodes > AZURE_NPM_MAX_NODES:
        out.append(f"{c.pool_nodes} nodes: Azure NPM supports only {AZURE_NPM_MAX_NODES}; use "
                   f"Cilium or Calico for network policy ({SRC_LARGE})")
    if c.total > SNAT_DEFAULT_TIERS[-1][1]:
        out.append(f"{c.total} nodes: the default SNAT table stops at 1,000 instances; set "
                   f"allocatedOutboundPorts and enough outbound IPs ({SRC_LB_STANDARD})")
    elif c.total > SNAT_DEFAULT_TIERS[0][1]:
        out.append(f"{c.total} nodes get {snat_ports_per_instance(c.total)} default SNAT ports "
                   f"each, not 1,024 (one outbound IP; {SRC_LB_STANDARD})")
    return out


def _check_input(network_plugin: str, network_plugin_mode: str | None,
                 pod_ip_allocation: str | None, nodes: int, max_count: int | None,
                 max_surge: int | str) -> None:
    """Raise ``SizingError`` listing every problem of :func:`plan`'s input but max pods."""
    problems = plugin_problems(network_plugin, network_plugin_mode, pod_ip_allocation)
    problems += _count_problems(nodes, max_count)
    problems += surge_problems(max_surge)
    raise_if(problems)


def _counts(mode: str, max_pods: int | None, nodes: int, max_count: int | None,
            max_surge: int | str, revision: DocRevision) -> _Counts:
    """Max pods (the mode's default when ``None``, then checked) and the nodes that must fit:
    ``max(nodes, max_count)`` plus the surge."""
    pods = default_max_pods(mode, revision=revision) if max_pods is None else max_pods
    raise_if(validate_max_pods(pods, mode, nodes, revision=revision))
    pool = max(nodes, max_count or 0)
    return _Counts(mode, pods, pool, surge_nodes(max_surge, pool))


def _required_ips(c: _Counts) -> int:
    """The node subnet's IPs: Azure CNI node subnet counts every pod, the others a node."""
    if c.mode == NODE_SUBNET:
        return azure_cni_required_ips(c.pool_nodes, c.max_pods, c.surge)
    return node_subnet_required_ips(c.pool_nodes, c.surge)


def plan(
    network_plugin: str,
    network_plugin_mode: str | None,
    pod_ip_allocation: str | None,
    nodes: int,
    max_pods: int | None = None,
    max_surge: int | str = MAX_SURGE_DEFAULT,
    max_count: int | None = None,
    *,
    network_policy: str | None = None,
    revision: DocRevision = MODEL,
) -> Plan:
    """Answer "how big must my node subnet (and pod subnet or pod CIDR) be".

    The node count that must fit is ``max(nodes, max_count) + surge``. Node subnet: kubenet,
    Overlay and the pod-subnet modes need one IP per node; Azure CNI node subnet needs
    :func:`azure_cni_required_ips`. Dynamic pod subnet: worst case, every node full, rounded
    up to batches of 16 (:func:`dynamic_pod_ips_per_node`). Static block: blocks x 16 per
    node. kubenet/Overlay: a /24 of the pod CIDR per node.

    Args:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None``.
        pod_ip_allocation: ``node-subnet``, ``dynamic``, ``static-block`` or ``None``.
        nodes: Node count of the pool (autoscaler minimum).
        max_pods: Max pods per node, ``None`` for the mode's default.
        max_surge: Upgrade surge, a count or a percentage string such as ``"33%"``.
        max_count: Autoscaler maximum, or ``None``.
        network_policy: ``azure`` to check Azure NPM's node limit, else ``None``/other.
        revision: Doc revision for max-pods defaults and limits.

    Returns:
        The plan.

    Raises:
        SizingError: Bad input; every problem is listed.
    """
    _check_input(network_plugin, network_plugin_mode, pod_ip_allocation, nodes, max_count, max_surge)
    mode = ip_mode(network_plugin, network_plugin_mode, pod_ip_allocation)
    c = _counts(mode, max_pods, nodes, max_count, max_surge, revision)
    required = _required_ips(c)
    pod_fields = _pod_subnet_fields(c)
    warnings = [_surge_warning(max_surge, c)] if c.surge else []
    warnings += _mode_warnings(c, pod_fields) + _scale_warnings(c, nodes, max_count, network_policy)
    prefix = _min_prefix_or_none(required)
    if prefix is None:
        warnings.append(f"{required} IPs fit in no IPv4 subnet (largest /2)")
    return Plan(
        network_plugin=network_plugin, network_plugin_mode=network_plugin_mode,
        pod_ip_allocation=pod_ip_allocation, mode=mode, nodes=nodes, max_count=max_count,
        max_pods=c.max_pods, max_pods_defaulted=max_pods is None, max_surge=max_surge,
        pool_nodes=c.pool_nodes, surge_nodes=c.surge, nodes_to_fit=c.total, required_ips=required,
        min_prefix_len=prefix, max_pods_total=c.pool_nodes * c.max_pods,
        snat_ports_per_node=(snat_ports_per_instance(c.total)
                             if 1 <= c.total <= SNAT_DEFAULT_TIERS[-1][1] else None),
        binding_limits=_binding_limits(c, required, pod_fields, network_policy, revision),
        warnings=tuple(warnings),
        **pod_fields,
    )
