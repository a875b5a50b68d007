"""The azure sizing family: compute every ``expected`` key of a case with sim.sizing/sim.network.

Dispatch is on the expected key, the case's ``inputs`` and its group, never on the case id;
no expected value is written here. A key nothing here can compute fails the case, naming the
key. Human-only keys (``note``, ``why``, ``doubt``, ...) are ignored at every level.

Decisions on documented conflicts (cases carrying ``doubt``); the model's choice is
``sim.sizing.MODEL``, every other revision is in ``sim.sizing.REVISIONS``:

* kubenet max pods: the model follows the current concepts-network-ip-address-planning.md:
  maximum **250**, default 110. configure-kubenet.md (2020) and configure-azure-cni.md (2019)
  allowed only 110: the model exposes them as revisions ``configure-kubenet-2020`` and
  ``configure-azure-cni-2019``.
* max-pods defaults: the model follows every revision but one: kubenet **110**, Azure CNI
  (legacy) **30**, pod subnet 110, Overlay 250. The 2024-05 ip-address-planning revision
  (kubenet 30, legacy 110, kubenet up to 250) is revision ``ip-address-planning-2024-05``.
* SNAT with several frontend IPs: the model follows the current load-balancer doc,
  ``MIN(table x FIPs, 1024)``. The older revision's uncapped ``2 x 1024 = 2048`` is revision
  ``lb-outbound-multiple-frontends-old``.

So a ``doubt`` case passes when either the model reproduces it *and* some known revision
differs from the model on it (the conflict is known), or the model does not reproduce it but
one known revision reproduces every expected key (the case is that revision). A case without
``doubt`` must be reproduced by the model, or by a known revision *of the same document* as the
case's ``source.path`` (the case read an older copy of a page the model knows changed).
Anything else fails.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim import sizing
from sim.azure import vnet as network
from sim.sizing import MODEL, REVISIONS, DocRevision

HUMAN_KEYS = frozenset({
    "note", "notes", "why", "doubt", "setup_note", "source", "derived", "derived_parts",
    "comment", "quote", "revision_note",
})
_MISSING = object()


class CannotCompute(Exception):
    """No computation in the harness (or no usable input) for an expected key."""


class Inconsistent(Exception):
    """Two public functions of the project disagree on one quantity."""


@dataclass
class Ctx:
    """What a resolver may look at: group, inputs, revision, and the expected value's shape."""

    group: str
    inputs: Mapping[str, Any]
    revision: DocRevision
    key: str = ""
    shape: Any = None

    def get(self, *names: str, default: Any = _MISSING) -> Any:
        """The first input present among *names*, else *default*, else CannotCompute."""
        for name in names:
            if name in self.inputs and self.inputs[name] is not None:
                return self.inputs[name]
        if default is _MISSING:
            raise CannotCompute(f"cannot compute {self.key!r}: it needs input "
                                f"{' or '.join(names)}")
        return default

    def has(self, *names: str) -> bool:
        """Whether any of *names* is an input."""
        return any(self.inputs.get(n) is not None for n in names)


# --------------------------------------------------------------------------- semantic values


@dataclass(frozen=True)
class Configurable:
    """A doc's ``Yes (up to 250)`` / ``No`` cell, computed from the model's table."""

    configurable: bool
    up_to: int | None

    def matches(self, text: str) -> bool:
        """Whether the cell text says the same."""
        said_yes = text.strip().lower().startswith("yes")
        up_to = re.search(r"up to\s+([\d,]+)", text)
        return said_yes == self.configurable and (
            up_to is None or int(up_to.group(1).replace(",", "")) == self.up_to)


@dataclass(frozen=True)
class Behaviour:
    """A property the model was checked to have, matched against the doc's wording."""

    holds: bool
    words: tuple[str, ...]

    def matches(self, text: str) -> bool:
        """Whether the property holds and the text describes it."""
        return self.holds and any(w in text.lower() for w in self.words)


# --------------------------------------------------------------------------- input helpers

NODE_INPUTS = ("nodes", "node_count", "cluster_nodes", "nodes_count")
EXTRA_NODE_INPUTS = ("scale_out_nodes", "additional_nodes", "extra_nodes", "scale_nodes")
MAX_PODS_INPUTS = ("max_pods", "maxPods", "max_pods_per_node")
SURGE_INPUTS = ("upgrade_surge_nodes", "surge_nodes", "max_surge", "surge")
PLUGIN_INPUTS = ("plugin", "ip_mode", "mode", "network_plugin_label")
PREFIX_INPUTS = ("subnet_prefix_len", "prefix_len", "prefix")
CIDR_INPUTS = ("subnet", "subnet_cidr", "cidr", "range")
POOL_INPUTS = ("backend_pool_size", "pool_size", "backend_pool", "instances")
FIP_INPUTS = ("frontend_ips", "frontend_ip_count", "frontend_ip_configurations",
              "managed_outbound_ips", "outbound_ips", "public_ips")
PORTS_INPUTS = ("allocated_outbound_ports_per_node", "allocated_outbound_ports",
                "ports_per_node")


def nodes(ctx: Ctx) -> int:
    """Nodes to fit, anticipated scale-out included."""
    return int(ctx.get(*NODE_INPUTS)) + int(ctx.get(*EXTRA_NODE_INPUTS, default=0))


def mode(ctx: Ctx, default: str | None = None) -> str:
    """The IP mode the inputs name (plugin label, or the three AKS flags)."""
    if ctx.has("network_plugin"):
        return sizing.ip_mode(ctx.get("network_plugin"),
                              ctx.get("network_plugin_mode", default=None),
                              ctx.get("pod_ip_allocation", default=None))
    if ctx.has(*PLUGIN_INPUTS):
        return sizing.ip_mode_from_name(str(ctx.get(*PLUGIN_INPUTS)))
    if default is None:
        raise CannotCompute(f"expected key {ctx.key!r} needs input plugin")
    return default


def max_pods(ctx: Ctx, default_mode: str | None = None) -> int:
    """Max pods per node: the input, else the mode's default."""
    given = ctx.get(*MAX_PODS_INPUTS, default=None)
    if given is not None:
        return int(given)
    return sizing.default_max_pods(mode(ctx, default_mode), revision=ctx.revision)


def surge(ctx: Ctx, pool_nodes: int) -> int:
    """Upgrade surge nodes (the revision's default max surge when not given)."""
    value = ctx.get(*SURGE_INPUTS, default=sizing.default_max_surge(revision=ctx.revision))
    return sizing.surge_nodes(value, pool_nodes)


def prefix(ctx: Ctx) -> int:
    """Subnet prefix length, given directly or as a CIDR."""
    if ctx.has(*PREFIX_INPUTS):
        return int(str(ctx.get(*PREFIX_INPUTS)).lstrip("/"))
    return ipaddress.IPv4Network(str(ctx.get(*CIDR_INPUTS))).prefixlen


def pool_size(ctx: Ctx) -> int:
    """Backend pool size (or node count)."""
    return int(ctx.get(*POOL_INPUTS, *NODE_INPUTS))


def frontend_ips(ctx: Ctx) -> int:
    """Frontend / outbound IPs (1 when not given)."""
    return int(ctx.get(*FIP_INPUTS, default=1))


def explicit_allocation(ctx: Ctx) -> bool:
    """Whether the inputs describe an explicit outbound rule rather than the default table."""
    text = str(ctx.get("allocation", default="default")).lower()
    return any(w in text for w in ("explicit", "manual", "outbound rule"))


# --------------------------------------------------------------------------- registry

Resolver = Callable[[Ctx], Any]
RESOLVERS: dict[str, Resolver] = {}
PATTERN_RESOLVERS: list[tuple[re.Pattern[str], Callable[[Ctx, re.Match[str]], Any]]] = []


def resolves(*keys: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for expected keys (case-insensitive)."""
    def register(fn: Resolver) -> Resolver:
        for k in keys:
            RESOLVERS[k.lower()] = fn
        return fn
    return register


def resolves_pattern(
    pattern: str,
) -> Callable[[Callable[[Ctx, re.Match[str]], Any]], Callable[[Ctx, re.Match[str]], Any]]:
    """Register a resolver for expected keys matching a regex."""
    def register(fn: Callable[[Ctx, re.Match[str]], Any]) -> Callable[[Ctx, re.Match[str]], Any]:
        PATTERN_RESOLVERS.append((re.compile(pattern, re.IGNORECASE), fn))
        return fn
    return register


def compute(key: str, ctx: Ctx) -> Any:
    """Compute one expected key, or raise CannotCompute naming it."""
    fn = RESOLVERS.get(key.lower())
    if fn is not None:
        return fn(ctx)
    for pattern, pfn in PATTERN_RESOLVERS:
        match = pattern.fullmatch(key)
        if match:
            return pfn(ctx, match)
    raise CannotCompute(f"cannot compute {key!r}: no rule book of the project computes this "
                        f"quantity (group {ctx.group!r})")


# --------------------------------------------------------------------------- plan() cases


def _plan(ctx: Ctx) -> sizing.Plan:
    return sizing.plan(
        ctx.get("network_plugin"), ctx.get("network_plugin_mode", default=None),
        ctx.get("pod_ip_allocation", default=None), nodes=int(ctx.get(*NODE_INPUTS)),
        max_pods=ctx.get(*MAX_PODS_INPUTS, default=None),
        max_surge=ctx.get("max_surge", default=sizing.default_max_surge(revision=ctx.revision)),
        max_count=ctx.get("max_count", default=None), revision=ctx.revision,
    )


def _plan_field(name: str) -> Resolver:
    def resolve(ctx: Ctx) -> Any:
        if not ctx.has("network_plugin"):
            raise CannotCompute(f"expected key {ctx.key!r} needs input network_plugin")
        return getattr(_plan(ctx), name)
    return resolve


for _name in ("pod_subnet_required_ips", "pod_subnet_min_prefix_len", "pod_subnet_floor_ips",
              "static_wasted_ips_per_node", "nodes_to_fit", "surge_nodes", "pool_nodes"):
    RESOLVERS[_name] = _plan_field(_name)


@resolves("binding_limit_names", "binding_limits")
def _binding_limit_names(ctx: Ctx) -> list[str]:
    return sorted(b.name for b in _plan(ctx).binding_limits)


@resolves("exceeded_limits")
def _exceeded_limits(ctx: Ctx) -> list[str]:
    return sorted(b.name for b in _plan(ctx).binding_limits if b.status == "exceeded")


# --------------------------------------------------------------------------- node subnet


def _node_subnet_mode(ctx: Ctx) -> str:
    return mode(ctx, sizing.NODE_SUBNET)


@resolves("required_ips", "min_subnet_ips", "subnet_ips")
def _required_ips(ctx: Ctx) -> int:
    if ctx.has("network_plugin"):
        return _plan(ctx).required_ips
    n = nodes(ctx)
    pods = max_pods(ctx, sizing.NODE_SUBNET)
    s = surge(ctx, n)
    if _node_subnet_mode(ctx) != sizing.NODE_SUBNET:
        return sizing.node_subnet_required_ips(n, s)
    direct = sizing.azure_cni_required_ips(n, pods, s)
    via_plan = sizing.plan("azure", None, "node-subnet", nodes=n, max_pods=pods,
                           max_surge=s).required_ips
    if direct != via_plan:
        raise Inconsistent(f"azure_cni_required_ips={direct} but plan().required_ips={via_plan}")
    return direct


@resolves("min_prefix_len", "min_subnet_prefix_len", "subnet_min_prefix_len")
def _min_prefix_len(ctx: Ctx) -> int:
    if ctx.has("network_plugin"):
        return _plan(ctx).min_prefix_len
    if ctx.has("required_ips", "ips", "addresses"):
        return network.min_prefix_len(int(ctx.get("required_ips", "ips", "addresses")))
    if ctx.has(*NODE_INPUTS):
        return network.min_prefix_len(_required_ips(ctx))
    return sizing.SUBNET_LARGEST_PREFIX_LEN  # no sizing inputs: the largest subnet Azure allows


@resolves("max_prefix_len", "smallest_subnet_prefix_len", "smallest_prefix_len")
def _max_prefix_len(ctx: Ctx) -> int:
    return sizing.SUBNET_SMALLEST_PREFIX_LEN


@resolves("largest_subnet_prefix_len", "largest_prefix_len")
def _largest_prefix_len(ctx: Ctx) -> int:
    return sizing.SUBNET_LARGEST_PREFIX_LEN


@resolves("node_ips")
def _node_ips(ctx: Ctx) -> int:
    n = nodes(ctx)
    return sizing.node_subnet_required_ips(n, surge(ctx, n))


@resolves("pod_ips")
def _pod_ips(ctx: Ctx) -> int:
    n = nodes(ctx)
    return (n + surge(ctx, n)) * max_pods(ctx, sizing.NODE_SUBNET)


# --------------------------------------------------------------------------- subnets


@resolves("total", "total_addresses", "total_count", "total_ips")
def _total(ctx: Ctx) -> int:
    return sizing.subnet_total_addresses(prefix(ctx))


@resolves("usable", "usable_count", "usable_addresses", "usable_ips")
def _usable(ctx: Ctx) -> int:
    if ctx.has(*PREFIX_INPUTS, *CIDR_INPUTS):
        return sizing.subnet_usable_addresses(prefix(ctx), revision=ctx.revision)
    return sizing.subnet_usable_addresses(_min_prefix_len(ctx), revision=ctx.revision)


@resolves("reserved_count", "reserved_per_subnet", "reserved_addresses_count",
          "reserved_ips_per_subnet")
def _reserved_count(ctx: Ctx) -> int:
    return ctx.revision.reserved_per_subnet


@resolves("reserved", "reserved_addresses")
def _reserved(ctx: Ctx) -> dict[str, str]:
    return sizing.subnet_reserved_addresses(str(ctx.get(*CIDR_INPUTS)))


@resolves("first_assignable", "first_usable")
def _first_assignable(ctx: Ctx) -> str:
    return sizing.subnet_assignable_range(str(ctx.get(*CIDR_INPUTS)))[0]


@resolves("last_assignable", "last_usable")
def _last_assignable(ctx: Ctx) -> str:
    return sizing.subnet_assignable_range(str(ctx.get(*CIDR_INPUTS)))[1]


@resolves("valid", "allowed", "supported", "accepted")
def _valid(ctx: Ctx) -> bool:
    if ctx.has("service_cidr") and ctx.has("dns_service_ip"):
        return not sizing.validate_dns_service_ip(ctx.get("service_cidr"),
                                                  ctx.get("dns_service_ip"))
    if ctx.has("service_cidr"):
        return not sizing.validate_service_cidr(str(ctx.get("service_cidr")))
    if ctx.has(*MAX_PODS_INPUTS):
        pool = ctx.get(*NODE_INPUTS, default=None)
        return not sizing.validate_max_pods(int(ctx.get(*MAX_PODS_INPUTS)),
                                            mode(ctx, sizing.NODE_SUBNET), pool,
                                            revision=ctx.revision)
    ranges = (*CIDR_INPUTS, "pod_cidr", "vnet_cidr", "address_space")
    if ctx.has(*ranges) and not (ctx.group == "azure_subnet_reserved" and ctx.has(*CIDR_INPUTS)):
        return not sizing.validate_range(str(ctx.get(*ranges)))
    return sizing.subnet_prefix_supported(prefix(ctx))


@resolves("forbidden", "overlaps_forbidden_range")
def _forbidden(ctx: Ctx) -> bool:
    return bool(sizing.validate_range(str(ctx.get(*CIDR_INPUTS, "service_cidr", "pod_cidr"))))


@resolves("forbidden_ranges", "forbidden_cidrs", "forbidden_address_ranges",
          "reserved_forbidden_ranges", "disallowed_ranges")
def _forbidden_ranges(ctx: Ctx) -> list[str]:
    return [str(n) for n in network.FORBIDDEN_RANGES]


@resolves("kubenet_max_nodes", "kubenet_node_limit", "kubenet_max_nodes_per_cluster")
def _kubenet_nodes(ctx: Ctx) -> int:
    return sizing.KUBENET_MAX_NODES


@resolves("max_lb_services_per_cluster", "lb_services_per_cluster",
          "max_load_balancer_services")
def _lb_services(ctx: Ctx) -> int:
    return sizing.MAX_LB_SERVICES_PER_CLUSTER


@resolves("max_clusters_per_subscription", "clusters_per_subscription")
def _clusters(ctx: Ctx) -> int:
    return sizing.MAX_CLUSTERS_PER_SUBSCRIPTION


@resolves("lb_max_backend_ip_configs_per_frontend", "max_backend_ip_configs_per_frontend",
          "backend_ip_configs_per_frontend")
def _backend_configs(ctx: Ctx) -> int:
    return sizing.LB_MAX_BACKEND_IP_CONFIGS_PER_FRONTEND


@resolves("ilb_recommended_max_nodes", "internal_lb_recommended_max_nodes")
def _ilb_nodes(ctx: Ctx) -> int:
    return sizing.ILB_RECOMMENDED_MAX_NODES


@resolves("snat_port_range", "ports_per_rule_range", "snat_ports_per_rule_port")
def _port_range(ctx: Ctx) -> int:
    return sizing.SNAT_PORT_RANGE


@resolves("nat_gateway_snat_ports_per_ip", "nat_gateway_ports_per_ip")
def _nat_gateway(ctx: Ctx) -> int:
    return sizing.NAT_GATEWAY_SNAT_PORTS_PER_IP


@resolves("lb_idle_timeout_default_minutes", "standard_lb_idle_timeout_default_minutes")
def _lb_idle(ctx: Ctx) -> int:
    return sizing.LB_IDLE_TIMEOUT_DEFAULT_MINUTES


@resolves("service_tcp_idle_timeout_minutes", "tcp_idle_timeout_annotation_minutes")
def _service_idle(ctx: Ctx) -> dict[str, int]:
    low, high = sizing.SERVICE_TCP_IDLE_TIMEOUT_MINUTES
    return {"default": low, "min": low, "max": high}


@resolves("max_surge_recommended", "recommended_max_surge")
def _surge_recommended(ctx: Ctx) -> str:
    return sizing.MAX_SURGE_RECOMMENDED


@resolves("kubenet_retirement", "kubenet_retirement_date")
def _kubenet_retirement(ctx: Ctx) -> str:
    return sizing.KUBENET_RETIREMENT.isoformat()


@resolves("default_max_surge", "max_surge_default")
def _default_surge(ctx: Ctx) -> int | str:
    return sizing.default_max_surge(revision=ctx.revision)


@resolves("max_nodes_including_surge", "snat_max_nodes_including_surge",
          "max_nodes_with_surge", "outbound_max_nodes_with_surge")
def _snat_nodes_with_surge(ctx: Ctx) -> int:
    return sizing.outbound_max_nodes_with_surge(
        int(ctx.get(*PORTS_INPUTS)), frontend_ips(ctx),
        ctx.get(*SURGE_INPUTS, default=sizing.default_max_surge(revision=ctx.revision)))


@resolves("vnet_max_private_ips", "max_private_ips_per_vnet", "vnet_private_ip_limit",
          "max_private_ips")
def _vnet_ips(ctx: Ctx) -> int:
    return sizing.VNET_MAX_PRIVATE_IPS


@resolves("vnet_largest_prefix_len", "vnet_max_prefix_len", "vnet_min_prefix_len",
          "max_vnet_prefix_len", "largest_vnet_prefix_len")
def _vnet_prefix(ctx: Ctx) -> int:
    return sizing.VNET_LARGEST_PREFIX_LEN


# --------------------------------------------------------------------------- capacity


def _capacity(ctx: Ctx) -> sizing.SubnetCapacity:
    m = mode(ctx)
    return sizing.subnet_capacity(m, prefix(ctx), max_pods(ctx, m))


@resolves("max_nodes", "max_cluster_nodes", "cluster_max_nodes")
def _max_nodes(ctx: Ctx) -> int:
    if ctx.has(*PORTS_INPUTS):
        return sizing.outbound_max_nodes(int(ctx.get(*PORTS_INPUTS)), frontend_ips(ctx))
    if ctx.has(*PREFIX_INPUTS, *CIDR_INPUTS):
        return _capacity(ctx).max_nodes
    m = mode(ctx, sizing.KUBENET if ctx.group.startswith("kubenet") else "")
    limits = {sizing.KUBENET: sizing.KUBENET_MAX_NODES, sizing.OVERLAY: sizing.OVERLAY_MAX_NODES}
    return limits.get(m, ctx.revision.max_nodes_per_cluster)


@resolves("max_pods_total", "max_pods_in_subnet", "total_pods")
def _max_pods_total(ctx: Ctx) -> int:
    if ctx.has(*PREFIX_INPUTS, *CIDR_INPUTS):
        return _capacity(ctx).max_pods_total
    if ctx.has("network_plugin"):
        return _plan(ctx).max_pods_total
    return nodes(ctx) * max_pods(ctx, mode(ctx, sizing.NODE_SUBNET))


@resolves("max_nodes_per_cluster", "nodes_per_cluster")
def _nodes_per_cluster(ctx: Ctx) -> int:
    return ctx.revision.max_nodes_per_cluster


@resolves("max_nodes_per_pool", "nodes_per_pool", "max_nodes_per_node_pool")
def _nodes_per_pool(ctx: Ctx) -> int:
    return sizing.MAX_NODES_PER_POOL


@resolves("max_node_pools", "node_pools_per_cluster")
def _node_pools(ctx: Ctx) -> int:
    return sizing.MAX_NODE_POOLS


@resolves("azure_npm_max_nodes", "npm_max_nodes")
def _npm(ctx: Ctx) -> int:
    return sizing.AZURE_NPM_MAX_NODES


@resolves("max_pods_per_cluster", "pods_per_cluster")
def _pods_per_cluster(ctx: Ctx) -> int:
    limits = {sizing.OVERLAY: sizing.OVERLAY_MAX_PODS_PER_CLUSTER,
              sizing.DYNAMIC: sizing.DYNAMIC_MAX_PODS_PER_CLUSTER,
              sizing.STATIC_BLOCK: sizing.STATIC_BLOCK_MAX_PODS_PER_CLUSTER}
    m = mode(ctx)
    if m not in limits:
        raise CannotCompute(f"no published pods-per-cluster limit for {m}")
    return limits[m]


# --------------------------------------------------------------------------- kubenet / pod CIDR


def _pod_cidr(ctx: Ctx) -> str:
    return str(ctx.get("pod_cidr", default=sizing.DEFAULT_POD_CIDR))


def _per_node_prefix(ctx: Ctx) -> int:
    return int(ctx.get("per_node_prefix_len", "node_prefix_len",
                       default=sizing.NODE_POD_PREFIX_LEN))


@resolves("max_node_ranges", "node_ranges", "max_nodes_in_pod_cidr", "pod_cidr_node_capacity")
def _node_ranges(ctx: Ctx) -> int:
    return sizing.pod_cidr_node_capacity(_pod_cidr(ctx), _per_node_prefix(ctx))


@resolves("node_pod_cidr", "pod_cidr_for_node", "node_cidr")
def _node_pod_cidr(ctx: Ctx) -> str:
    index = int(ctx.get("node_index", "index", "node"))
    return sizing.node_pod_cidr(_pod_cidr(ctx), index, _per_node_prefix(ctx))


@resolves("node_pod_cidrs", "per_node_pod_cidrs", "pod_cidrs", "node_cidrs",
          "node_pod_ranges")
def _node_pod_cidrs(ctx: Ctx) -> Any:
    if isinstance(ctx.shape, Mapping):  # keyed by node index
        return {k: sizing.node_pod_cidr(_pod_cidr(ctx), int(k), _per_node_prefix(ctx))
                for k in ctx.shape}
    count = ctx.get(*NODE_INPUTS, default=len(ctx.shape or []))
    return [sizing.node_pod_cidr(_pod_cidr(ctx), i, _per_node_prefix(ctx))
            for i in range(int(count))]


@resolves_pattern(r"node[_-]?(\d+)(?:[_-]pod[_-]?cidr)?")
def _node_n_cidr(ctx: Ctx, match: re.Match[str]) -> str:
    return sizing.node_pod_cidr(_pod_cidr(ctx), int(match.group(1)), _per_node_prefix(ctx))


_ORDINALS = ("first", "second", "third", "fourth", "fifth")


@resolves_pattern(rf"({'|'.join(_ORDINALS)})[_-]node(?:[_-]pod[_-]?cidr)?")
def _ordinal_node_cidr(ctx: Ctx, match: re.Match[str]) -> str:
    index = _ORDINALS.index(match.group(1).lower())
    return sizing.node_pod_cidr(_pod_cidr(ctx), index, _per_node_prefix(ctx))


@resolves_pattern(r"(?!.*(?:forbidden|reserved|service|vnet|private|blocked|address))"
                  r"(?=.*(?:node|pod)).*(?:cidrs|ranges)")
def _any_node_ranges(ctx: Ctx, match: re.Match[str]) -> Any:
    """A plural ranges key with a list or per-index shape: the node pod ranges in order."""
    if not isinstance(ctx.shape, list | Mapping):
        raise CannotCompute(f"expected key {ctx.key!r}: no list of node ranges to compare")
    return _node_pod_cidrs(ctx)


@resolves("pod_cidr_min_prefix_len", "min_pod_cidr_prefix_len")
def _pod_cidr_prefix(ctx: Ctx) -> int:
    if ctx.has("network_plugin"):
        return _plan(ctx).pod_cidr_min_prefix_len
    return sizing.pod_cidr_min_prefix_len(nodes(ctx), _per_node_prefix(ctx))


@resolves("max_routes", "route_table_max_routes", "udr_max_routes", "max_udr_routes",
          "route_limit", "udr_route_limit", "route_table_limit")
def _max_routes(ctx: Ctx) -> int:
    return sizing.KUBENET_MAX_ROUTES


@resolves("routes_needed", "routes")
def _routes_needed(ctx: Ctx) -> int:
    return nodes(ctx) * _routes_per_node(ctx)


@resolves("routes_per_node")
def _routes_per_node(ctx: Ctx) -> int:
    # one UDR route per kubenet node (configure-kubenet.md): the 400-route table caps nodes
    return sizing.KUBENET_MAX_ROUTES // sizing.KUBENET_MAX_NODES


@resolves("route_status", "routes_status", "status")
def _route_status(ctx: Ctx) -> str:
    if ctx.key.lower() == "status" and not any(w in ctx.group.lower() for w in ("route", "kubenet")):
        raise CannotCompute(f"cannot compute {ctx.key!r}: a bare 'status' is the kubenet route "
                            f"table's only in a route or kubenet group (group {ctx.group!r})")
    return sizing.kubenet_route_status(nodes(ctx))


@resolves("routes_fit", "fits_route_table")
def _routes_fit(ctx: Ctx) -> bool:
    return sizing.kubenet_routes_fit(nodes(ctx))


@resolves_pattern(r"\d+")
def _per_count(ctx: Ctx, match: re.Match[str]) -> Any:
    """A key that is a number: one item of a list input (node counts or pool sizes)."""
    n = int(match.group(0))
    if ctx.has("backend_pool_sizes", "pool_sizes"):
        return sizing.snat_ports_per_instance(n, frontend_ips(ctx), revision=ctx.revision)
    if ctx.has("node_counts", "nodes_list") or ctx.group.startswith("kubenet"):
        return sizing.kubenet_route_status(n)
    raise CannotCompute(f"numeric expected key {ctx.key!r}: no list input to index")


@resolves("per_node_prefix_len", "per_node_pod_prefix_len", "node_pod_prefix_len")
def _per_node_pod_prefix(ctx: Ctx) -> int:
    return sizing.NODE_POD_PREFIX_LEN


@resolves("per_node_pod_ips", "per_node_ips", "node_pod_ips")
def _per_node_pod_ips(ctx: Ctx) -> int:
    return sizing.NODE_POD_IPS


@resolves("default_pod_cidr")
def _default_pod_cidr(ctx: Ctx) -> str:
    return sizing.DEFAULT_POD_CIDR


@resolves("default_service_cidr")
def _default_service_cidr(ctx: Ctx) -> str:
    return sizing.DEFAULT_SERVICE_CIDR


def _service_cidr(ctx: Ctx) -> str:
    return str(ctx.get("service_cidr", default=sizing.DEFAULT_SERVICE_CIDR))


@resolves("dns_service_ip", "doc_example_dns_service_ip", "default_dns_service_ip")
def _dns_ip(ctx: Ctx) -> str:
    ip = sizing.dns_service_ip(_service_cidr(ctx))
    problems = sizing.validate_dns_service_ip(_service_cidr(ctx), ip)
    if problems:
        raise Inconsistent(f"dns_service_ip() gave {ip}, validate_dns_service_ip rejects it")
    return ip


@resolves("kubernetes_default_service_ip", "kubernetes_service_ip", "first_service_ip")
def _kubernetes_ip(ctx: Ctx) -> str:
    return sizing.kubernetes_service_ip(_service_cidr(ctx))


@resolves("dns_service_ip_must_not_be")
def _dns_not(ctx: Ctx) -> str:
    ip = sizing.kubernetes_service_ip(_service_cidr(ctx))
    if not sizing.validate_dns_service_ip(_service_cidr(ctx), ip):
        raise Inconsistent(f"validate_dns_service_ip accepts {ip} (kubernetes.default)")
    return ip


@resolves("service_cidr_prefix_len_must_be_greater_than", "service_cidr_min_prefix_len_exclusive")
def _service_cidr_limit(ctx: Ctx) -> int:
    limit = sizing.SERVICE_CIDR_PREFIX_LEN_MUST_EXCEED
    at, above = f"10.0.0.0/{limit}", f"10.0.0.0/{limit + 1}"
    if not sizing.validate_service_cidr(at) or sizing.validate_service_cidr(above):
        raise Inconsistent(f"validate_service_cidr disagrees with the /{limit} constant")
    return limit


# --------------------------------------------------------------------------- max pods


@resolves("absolute_max_per_node", "absolute_max_pods_per_node", "overlay_max_pods_per_node")
def _absolute_max(ctx: Ctx) -> int:
    return sizing.MAX_PODS_PER_NODE


@resolves("max_pods_per_node", "max_per_node")
def _max_per_node(ctx: Ctx) -> int:
    if ctx.has(*PLUGIN_INPUTS, "network_plugin"):
        return sizing.max_pods_limits(mode(ctx), revision=ctx.revision)[1]
    return sizing.MAX_PODS_PER_NODE


@resolves("min_max_pods", "minimum_max_pods", "min_pods_per_node")
def _min_max_pods(ctx: Ctx) -> int:
    return sizing.MIN_PODS_PER_NODE


def _method_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    row = sizing.max_pods_by_deployment_method(str(entry.get("method")))
    return {"method": row.method, "kubenet": row.kubenet, "azure_cni": row.azure_cni,
            "configurable": Configurable(row.configurable, row.configurable_up_to)}


@resolves("defaults", "default_max_pods")
def _defaults(ctx: Ctx) -> Any:
    if isinstance(ctx.shape, list):  # rows by deployment method
        return [_method_row(e) if isinstance(e, Mapping) else None for e in ctx.shape]
    if isinstance(ctx.shape, Mapping):  # by plugin label
        return {label: sizing.default_max_pods(label, revision=ctx.revision)
                for label in ctx.shape}
    return sizing.default_max_pods(mode(ctx), revision=ctx.revision)


@resolves("new_node_pool_default_without_maxpods", "default_without_max_pods")
def _new_pool_defaults(ctx: Ctx) -> dict[str, int]:
    return {label: sizing.default_max_pods(label, revision=ctx.revision)
            for label in (ctx.shape or {})}


@resolves("limits", "max_pods_limits")
def _limits(ctx: Ctx) -> Any:
    if isinstance(ctx.shape, Mapping):
        out = {}
        for label in ctx.shape:
            low, high = sizing.max_pods_limits(label, revision=ctx.revision)
            out[label] = {"min": low, "max": high}
        return out
    return list(sizing.max_pods_limits(mode(ctx), revision=ctx.revision))


@resolves("max_configurable", "maximum", "max", "configurable_max")
def _max_configurable(ctx: Ctx) -> int:
    return sizing.max_pods_limits(mode(ctx), revision=ctx.revision)[1]


@resolves("min_configurable", "minimum", "min", "configurable_min")
def _min_configurable(ctx: Ctx) -> int:
    return sizing.max_pods_limits(mode(ctx), revision=ctx.revision)[0]


@resolves("default")
def _default(ctx: Ctx) -> int:
    return sizing.default_max_pods(mode(ctx), revision=ctx.revision)


@resolves("min_nodes_per_pool")
def _min_nodes_per_pool(ctx: Ctx) -> int:
    return sizing.min_nodes_per_pool(int(ctx.get(*MAX_PODS_INPUTS)))


@resolves("min_pod_capacity_per_pool", "min_pods_per_pool")
def _min_pods_per_pool(ctx: Ctx) -> int:
    if ctx.has(*MAX_PODS_INPUTS):  # the rule's pool really has room for that many
        pods = int(ctx.get(*MAX_PODS_INPUTS))
        if sizing.min_nodes_per_pool(pods) * pods < sizing.MIN_PODS_PER_POOL:
            raise Inconsistent("min_nodes_per_pool leaves room for fewer than 30 pods")
    return sizing.MIN_PODS_PER_POOL


@resolves("windows_recommended_max_pods", "recommended_max_pods_windows")
def _windows_max(ctx: Ctx) -> int:
    return sizing.OVERLAY_WINDOWS_RECOMMENDED_MAX_PODS


# --------------------------------------------------------------------------- pod subnet


@resolves("blocks_per_node", "cidr_blocks_per_node", "static_blocks_per_node")
def _blocks(ctx: Ctx) -> int:
    if ctx.has("network_plugin"):
        return _plan(ctx).static_blocks_per_node
    return sizing.static_blocks_per_node(int(ctx.get(*MAX_PODS_INPUTS)))


@resolves("pod_ips_per_node", "total_ip_available_for_pods", "ips_available_for_pods")
def _block_pod_ips(ctx: Ctx) -> int:
    return sizing.static_block_pod_ips_per_node(int(ctx.get(*MAX_PODS_INPUTS)))


@resolves("wasted_ips_per_node", "ip_wastage_per_node", "wasted_ips")
def _wasted(ctx: Ctx) -> int:
    return sizing.static_block_wasted_ips(int(ctx.get(*MAX_PODS_INPUTS)))


@resolves("ideal_max_pods")
def _ideal(ctx: Ctx) -> int:
    return sizing.static_block_ideal_max_pods(int(ctx.get("blocks", "blocks_per_node")))


@resolves("block_prefix_len", "static_block_prefix_len")
def _block_prefix(ctx: Ctx) -> int:
    return sizing.STATIC_BLOCK_PREFIX_LEN


@resolves("block_ips", "ips_per_block")
def _block_ips(ctx: Ctx) -> int:
    return sizing.STATIC_BLOCK_IPS


@resolves("pod_subnet_blocks_capacity", "subnet_block_capacity")
def _block_capacity(ctx: Ctx) -> int:
    return sizing.static_block_subnet_capacity(prefix(ctx))


@resolves("batch_size", "batch_ips", "batch_size_ips")
def _batch(ctx: Ctx) -> int:
    return sizing.DYNAMIC_BATCH_IPS


@resolves("refill_below", "refill_below_free_ips", "request_threshold_free_ips")
def _refill(ctx: Ctx) -> int:
    return sizing.DYNAMIC_REFILL_BELOW


@resolves("min_ips_per_node", "minimum_ips_per_node")
def _min_ips(ctx: Ctx) -> int:
    return sizing.DYNAMIC_MIN_IPS_PER_NODE


@resolves("worst_case_ips_per_node", "max_ips_per_node")
def _worst_ips(ctx: Ctx) -> int:
    return sizing.dynamic_pod_ips_per_node(int(ctx.get(*MAX_PODS_INPUTS)))


@resolves("batches_requested", "extra_batches")
def _batches(ctx: Ctx) -> int:
    return sizing.dynamic_batches_after_refill(int(ctx.get("allocated_ips")),
                                               int(ctx.get("used_ips")))


# --------------------------------------------------------------------------- SNAT


@resolves("ports_per_frontend_ip", "snat_ports_per_frontend_ip", "ports_per_public_ip",
          "snat_ports_per_public_ip")
def _ports_per_fip(ctx: Ctx) -> int:
    return sizing.SNAT_PORTS_PER_FRONTEND_IP


@resolves("tiers", "snat_default_tiers")
def _tiers(ctx: Ctx) -> list[dict[str, int]]:
    return [{"pool_min": lo, "pool_max": hi, "ports_per_instance": ports}
            for lo, hi, ports in sizing.SNAT_DEFAULT_TIERS]


@resolves("snat_ports_per_instance", "ports_per_instance", "snat_ports",
          "snat_ports_per_ip_configuration", "snat_ports_per_node")
def _snat_ports(ctx: Ctx) -> int:
    if explicit_allocation(ctx):
        return sizing.explicit_outbound_ports_per_instance(pool_size(ctx), frontend_ips(ctx))
    return sizing.snat_ports_per_instance(pool_size(ctx), frontend_ips(ctx),
                                          revision=ctx.revision)


@resolves("automatic_ports_per_instance", "default_ports_per_instance")
def _automatic_ports(ctx: Ctx) -> int:
    return sizing.snat_ports_per_instance(pool_size(ctx), frontend_ips(ctx),
                                          revision=ctx.revision)


@resolves("explicit_outbound_rule_max_ports_per_instance", "explicit_ports_per_instance")
def _explicit_ports(ctx: Ctx) -> int:
    return sizing.explicit_outbound_ports_per_instance(pool_size(ctx), frontend_ips(ctx))


@resolves("release_after_tcp_rst_seconds")
def _rst(ctx: Ctx) -> int:
    return sizing.SNAT_RELEASE_AFTER_TCP_RST_S


@resolves("release_after_finack_seconds")
def _finack(ctx: Ctx) -> int:
    return sizing.SNAT_RELEASE_AFTER_FINACK_S


@resolves("idle_release_minutes_range")
def _idle_release(ctx: Ctx) -> list[int]:
    return list(sizing.SNAT_IDLE_RELEASE_MINUTES)


def _outbound(ctx: Ctx) -> sizing.OutboundPortsCheck:
    return sizing.outbound_ports_check(int(ctx.get(*NODE_INPUTS)), int(ctx.get(*PORTS_INPUTS)),
                                       frontend_ips(ctx))


@resolves("total_ports_available", "ports_available")
def _available(ctx: Ctx) -> int:
    return _outbound(ctx).total_ports_available


@resolves("total_ports_needed", "ports_needed")
def _needed(ctx: Ctx) -> int:
    return _outbound(ctx).total_ports_needed


@resolves("fits")
def _fits(ctx: Ctx) -> bool:
    if ctx.has(*PORTS_INPUTS):
        return _outbound(ctx).fits
    return sizing.kubenet_routes_fit(nodes(ctx))


@resolves("allocatedoutboundports", "allocated_outbound_ports")
def _allocated_profile(ctx: Ctx) -> dict[str, Any]:
    low, high = sizing.AKS_ALLOCATED_OUTBOUND_PORTS
    zero_is_table = all(
        sizing.aks_outbound_ports_per_node(0, n) == sizing.snat_ports_per_instance(n)
        for lo, hi, _ in sizing.SNAT_DEFAULT_TIERS for n in (lo, hi))
    return {"min": low, "max": high, "default": sizing.AKS_ALLOCATED_OUTBOUND_PORTS_DEFAULT,
            "zero_means": Behaviour(zero_is_table, ("default", "dynamic"))}


@resolves("idletimeoutinminutes", "idle_timeout_minutes", "idle_timeout_in_minutes")
def _idle_profile(ctx: Ctx) -> dict[str, int]:
    low, high = sizing.AKS_OUTBOUND_IDLE_TIMEOUT_MINUTES
    return {"min": low, "max": high, "default": sizing.AKS_OUTBOUND_IDLE_TIMEOUT_DEFAULT_MINUTES}


# --------------------------------------------------------------------------- comparison


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _same_address(a: str, b: str) -> bool:
    for parse in (ipaddress.ip_address, ipaddress.ip_network):
        try:
            return parse(a) == parse(b)
        except ValueError:
            continue
    return False


def _compare_scalar(expected: Any, got: Any, path: str) -> list[str]:
    ok: bool
    if hasattr(got, "matches") and isinstance(expected, str):
        ok = got.matches(expected)
    elif isinstance(expected, bool) or isinstance(got, bool):
        ok = isinstance(got, bool) and isinstance(expected, bool) and got == expected
    elif _is_number(expected) and _is_number(got):
        ok = math.isclose(expected, got, rel_tol=1e-9, abs_tol=0)
    elif isinstance(expected, str) and isinstance(got, str):
        ok = expected.strip() == got.strip() or _same_address(expected, got)
    elif isinstance(expected, str) and _is_number(got) and path.endswith("prefix_len"):
        ok = expected.strip().lstrip("/") == str(got)
    else:
        ok = expected == got
    return [] if ok else [f"{path}: expected {expected!r}, model gives {got!r}"]


def compare(expected: Any, got: Any, path: str) -> list[str]:
    """Differences between an expected value and the model's, ignoring human-only keys."""
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return [f"{path}: expected a mapping, model gives {got!r}"]
        by_str = {str(k): v for k, v in got.items()}
        out: list[str] = []
        for k, v in expected.items():
            if str(k) in HUMAN_KEYS:
                continue
            if str(k) not in by_str:
                out.append(f"{path}.{k}: no such item in the model's answer {got!r}")
            else:
                out += compare(v, by_str[str(k)], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(got, list | tuple) or len(got) != len(expected):
            return [f"{path}: expected {expected!r}, model gives {got!r}"]
        return [d for i, (e, g) in enumerate(zip(expected, got, strict=True))
                for d in compare(e, g, f"{path}[{i}]")]
    return _compare_scalar(expected, got, path)


# --------------------------------------------------------------------------- evaluation


@dataclass
class Outcome:
    """Result of one case: problems (empty = pass) and how it passed."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the case passed."""
        return not self.problems

    def report(self) -> str:
        """Problems and notes, one per line."""
        return "\n".join(self.problems + self.notes)


def _evaluate(group: str, inputs: Mapping[str, Any], expected: Mapping[str, Any],
              revision: DocRevision) -> tuple[list[str], list[str]]:
    """(mismatches, harness failures) of one case under one revision."""
    mismatches: list[str] = []
    failures: list[str] = []
    for key, want in expected.items():
        if str(key) in HUMAN_KEYS:
            continue
        ctx = Ctx(group, inputs, revision, key=str(key), shape=want)
        try:
            got = compute(str(key), ctx)
        except CannotCompute as err:
            text = str(err)
            failures.append(text if text.startswith(f"cannot compute {str(key)!r}")
                            else f"cannot compute {str(key)!r}: {text}")
            continue
        except Inconsistent as err:
            failures.append(f"inconsistent model for {key!r}: {err}")
            continue
        except (ValueError, KeyError, TypeError) as err:  # the model refused the inputs
            mismatches.append(f"{key}: model raised {type(err).__name__}: {err}")
            continue
        mismatches += compare(want, got, str(key))
    return mismatches, failures


def _alternatives() -> list[DocRevision]:
    return [r for r in REVISIONS.values() if r is not MODEL]


def _doubt_outcome(group: str, inputs: Mapping[str, Any], expected: Mapping[str, Any],
                   mismatches: list[str]) -> Outcome:
    results = {r.name: _evaluate(group, inputs, expected, r) for r in _alternatives()}
    if mismatches:
        follows = [n for n, (m, f) in results.items() if not m and not f]
        if follows:
            return Outcome(notes=[f"case follows revision {follows[0]!r}, which the model "
                                  f"exposes; the model's own answer differs: {mismatches}"])
        return Outcome(problems=mismatches + ["doubt: no known revision reproduces the case"])
    differing = [n for n, (m, _) in results.items() if m]
    if differing:
        return Outcome(notes=[f"model reproduces the case; conflicting revisions known: "
                              f"{differing}"])
    return Outcome(problems=["case has a doubt but the model knows no revision that differs "
                             "on it: the conflict is not modelled"])


def evaluate_case(group: str, case: Mapping[str, Any]) -> Outcome:
    """Run one azure sizing case through the project's public functions."""
    expected = case.get("expected")
    if not isinstance(expected, Mapping) or not expected:
        return Outcome(problems=[f"case has no expected mapping: {case!r}"])
    inputs = case.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        return Outcome(problems=[f"inputs is not a mapping: {inputs!r}"])
    mismatches, failures = _evaluate(group, inputs, expected, MODEL)
    if failures:
        return Outcome(problems=failures + mismatches)
    if case.get("doubt"):
        return _doubt_outcome(group, inputs, expected, mismatches)
    if mismatches:
        path = (case.get("source") or {}).get("path") if isinstance(case.get("source"), Mapping) else None
        same_doc = [r for r in _alternatives() if path and r.source.startswith(str(path))]
        for rev in same_doc:
            m, f = _evaluate(group, inputs, expected, rev)
            if not m and not f:
                return Outcome(notes=[f"case reads {path} as revision {rev.name!r} has it, which "
                                      f"the model exposes; the model follows the current docs: "
                                      f"{mismatches}"])
    return Outcome(problems=mismatches)
