"""IP modes: the mode AKS's three networking flags select, and the max pods each mode allows.

IP modes (the ``mode`` argument of several functions) are :data:`KUBENET`, :data:`OVERLAY`
(Azure CNI Overlay), :data:`NODE_SUBNET` (Azure CNI "legacy": pods take node-subnet IPs),
:data:`DYNAMIC` (pod subnet, dynamic IP allocation) and :data:`STATIC_BLOCK` (pod subnet,
static /28 block allocation).
"""

from __future__ import annotations

import math
import re

from sim.sizing.limits import (
    DYNAMIC,
    IP_MODES,
    KUBENET,
    MAX_PODS_BY_DEPLOYMENT_METHOD,
    MAX_PODS_PER_NODE,
    MIN_PODS_PER_NODE,
    MIN_PODS_PER_POOL,
    MODE_LABELS,
    NETWORK_PLUGIN_MODES,
    NETWORK_PLUGINS,
    NODE_SUBNET,
    OVERLAY,
    POD_IP_ALLOCATIONS,
    STATIC_BLOCK,
    DeploymentMethodDefaults,
    InputProblem,
    raise_if,
)
from sim.sizing.revisions import MODEL, DocRevision

# --------------------------------------------------------------------------- IP mode


def ip_mode(
    network_plugin: str,
    network_plugin_mode: str | None = None,
    pod_ip_allocation: str | None = None,
) -> str:
    """The IP mode selected by AKS's three networking flags.

    Args:
        network_plugin: ``kubenet`` or ``azure``.
        network_plugin_mode: ``overlay`` or ``None`` (Azure CNI only).
        pod_ip_allocation: ``node-subnet``, ``dynamic`` or ``static-block`` or ``None``
            (Azure CNI without Overlay only; ``None`` means ``node-subnet``).

    Returns:
        One of :data:`IP_MODES`.

    Raises:
        SizingError: An unknown value or an incompatible combination.
    """
    raise_if(plugin_problems(network_plugin, network_plugin_mode, pod_ip_allocation))
    if network_plugin == "kubenet":
        return KUBENET
    if network_plugin_mode == "overlay":
        return OVERLAY
    return pod_ip_allocation or NODE_SUBNET


def plugin_problems(
    plugin: str, mode: str | None, allocation: str | None
) -> list[InputProblem]:
    """Problems of the three networking flags (see :func:`ip_mode`): unknown values, or
    values that do not go together."""
    if plugin not in NETWORK_PLUGINS:
        return [InputProblem("network_plugin", repr(plugin), "one of kubenet, azure")]
    problems: list[InputProblem] = []
    if mode is not None and mode not in NETWORK_PLUGIN_MODES:
        problems.append(InputProblem("network_plugin_mode", repr(mode), "overlay or nothing"))
    elif mode is not None and plugin == "kubenet":
        problems.append(InputProblem(
            "network_plugin_mode", f"{mode!r} with --network-plugin kubenet",
            "no --network-plugin-mode with kubenet (Overlay needs --network-plugin azure)"))
    if allocation is not None and allocation not in POD_IP_ALLOCATIONS:
        problems.append(InputProblem(
            "pod_ip_allocation", repr(allocation), "one of " + ", ".join(POD_IP_ALLOCATIONS)))
    elif allocation is not None and plugin == "kubenet":
        problems.append(InputProblem(
            "pod_ip_allocation", f"{allocation!r} with --network-plugin kubenet",
            "no --pod-ip-allocation with kubenet (pods take IPs from --pod-cidr)"))
    elif allocation is not None and mode == "overlay":
        problems.append(InputProblem(
            "pod_ip_allocation", f"{allocation!r} with --network-plugin-mode overlay",
            "no --pod-ip-allocation with Overlay (pods take IPs from --pod-cidr)"))
    return problems


_MODE_WORDS: tuple[tuple[str, str], ...] = (
    ("static", STATIC_BLOCK),
    ("block", STATIC_BLOCK),
    ("overlay", OVERLAY),
    ("kubenet", KUBENET),
    ("dynamic", DYNAMIC),
    ("podsubnet", DYNAMIC),
    ("legacy", NODE_SUBNET),
    ("nodesubnet", NODE_SUBNET),
    ("azure", NODE_SUBNET),
    ("cni", NODE_SUBNET),
)


def ip_mode_from_name(name: str) -> str:
    """The IP mode a free-form plugin label names.

    Understands the labels of the docs and of scenario files, e.g. ``kubenet``,
    ``azure-cni`` / ``Azure CNI (Legacy)`` (node subnet), ``azure-cni-overlay`` /
    ``Azure CNI Overlay``, ``Azure CNI Podsubnet`` / ``dynamic``, ``static-block``.

    Args:
        name: The label.

    Returns:
        One of :data:`IP_MODES`.

    Raises:
        ValueError: The label names no known mode.
    """
    squashed = re.sub(r"[^a-z]", "", name.lower())
    for word, mode in _MODE_WORDS:
        if word in squashed:
            return mode
    raise ValueError(f"{name!r} names no IP mode (expected one like {', '.join(IP_MODES)})")


# --------------------------------------------------------------------------- max pods


def default_max_pods(mode: str, *, revision: DocRevision = MODEL) -> int:
    """Default max-pods of an IP mode (concepts-network-ip-address-planning.md).

    Args:
        mode: IP mode or plugin label.
        revision: Doc revision (see :data:`REVISIONS`).
    """
    return revision.default_max_pods[ip_mode_from_name(mode)]


def max_pods_limits(mode: str, *, revision: DocRevision = MODEL) -> tuple[int, int]:
    """``(min, max)`` configurable max-pods of an IP mode.

    Every mode: 10..250 (configure-azure-cni.md); kubenet's maximum is a revision setting
    (250 in the current concepts-network-ip-address-planning.md, which the model follows; 110
    in configure-kubenet.md of 2020, revision ``configure-kubenet-2020``).
    """
    if ip_mode_from_name(mode) == KUBENET:
        return MIN_PODS_PER_NODE, revision.kubenet_max_pods
    return MIN_PODS_PER_NODE, MAX_PODS_PER_NODE


def min_nodes_per_pool(max_pods: int) -> int:
    """Nodes a pool needs for room for 30 pods: ``ceil(30 / maxPods)`` (configure-azure-cni.md)."""
    return math.ceil(MIN_PODS_PER_POOL / max_pods)


def validate_max_pods(
    max_pods: int,
    mode: str,
    pool_nodes: int | None = None,
    *,
    revision: DocRevision = MODEL,
) -> list[InputProblem]:
    """Problems of a max-pods setting: outside the mode's range, or the 30-pods-per-pool rule.

    Args:
        max_pods: Max pods per node.
        mode: IP mode or plugin label.
        pool_nodes: Nodes of the pool (its minimum count), or ``None`` to skip the pool rule.
        revision: Doc revision for kubenet's maximum.

    Returns:
        Every problem found (empty when valid).
    """
    low, high = max_pods_limits(mode, revision=revision)
    label = MODE_LABELS[ip_mode_from_name(mode)]
    if isinstance(max_pods, bool) or not isinstance(max_pods, int) or not low <= max_pods <= high:
        return [InputProblem("max_pods", repr(max_pods), f"{low} to {high} for {label}")]
    if (pool_nodes is not None and max_pods < MIN_PODS_PER_POOL
            and max_pods * pool_nodes < MIN_PODS_PER_POOL):
        need = min_nodes_per_pool(max_pods)
        return [InputProblem(
            "max_pods", f"{max_pods} with {pool_nodes} node(s) ({max_pods * pool_nodes} pods)",
            f"room for {MIN_PODS_PER_POOL} pods per pool: at least {need} nodes, or max pods "
            f">= {math.ceil(MIN_PODS_PER_POOL / max(pool_nodes, 1))}")]
    return []


def max_pods_by_deployment_method(method: str) -> DeploymentMethodDefaults:
    """Default max-pods of a deployment method (configure-azure-cni.md, 2019 table).

    Raises:
        KeyError: Unknown method.
    """
    wanted = method.strip().lower()
    for row in MAX_PODS_BY_DEPLOYMENT_METHOD:
        if row.method.lower() == wanted:
            return row
    raise KeyError(method)
