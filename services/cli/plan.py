"""``aks-sim plan``: how big must the node subnet (and pod subnet or pod CIDR) be.

Usage::

    aks-sim plan --network-plugin {kubenet,azure} [--network-plugin-mode overlay]
                 [--pod-ip-allocation {node-subnet,dynamic,static-block}]
                 --nodes N --max-pods M [--max-surge S] [--max-count C] [--json]

All numbers come from :mod:`sim.sizing`. Bad input prints one ``aks-sim plan: error: ...``
line per problem on stderr (naming the flag, what was found, what was expected) and exits 2.
A plan that reaches or exceeds a published limit still exits 0: the report says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from services.cli.common import EXIT_INVALID, EXIT_OK
from sim import (
    MAX_SURGE_DEFAULT,
    MODE_LABELS,
    NETWORK_PLUGIN_MODES,
    NETWORK_PLUGINS,
    NODE_POD_PREFIX_LEN,
    POD_IP_ALLOCATIONS,
    InputProblem,
    Plan,
    SizingError,
    plan_sizing,
    surge_problems,
    usable_addresses,
)

_FLAGS = {
    "network_plugin": "--network-plugin",
    "network_plugin_mode": "--network-plugin-mode",
    "pod_ip_allocation": "--pod-ip-allocation",
    "nodes": "--nodes",
    "max_pods": "--max-pods",
    "max_surge": "--max-surge",
    "max_count": "--max-count",
}


def _whole_number(text: str) -> int:
    """Parse an integer flag value (range checks are sizing's job, with better messages)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"found {text!r}, expected a whole number") from None


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        print(f"aks-sim plan: error: {line}", file=sys.stderr)
    raise SystemExit(EXIT_INVALID)


def _parser_error(message: str) -> NoReturn:
    """argparse's error hook, without the usage block: one line, exit 2."""
    _fail([f"{message} (see aks-sim plan --help)"])


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``plan`` subcommand on an argparse subparsers object.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.

    Returns:
        The ``plan`` parser (its ``func`` default is :func:`run`).
    """
    p = subparsers.add_parser(
        "plan", help="size the node subnet (and pod subnet or pod CIDR) for an AKS node pool",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--scenario", metavar="FILE",
                   help="answer for this scenario's cluster (e.g. one `aks-sim import` wrote): "
                        "every pool and subnet, with --scale and --upgrade")
    p.add_argument("--scale", action="append", default=[], metavar="POOL=N",
                   help="with --scenario: pool POOL at N nodes (repeatable; default: each pool "
                        "at its largest, maxCount when autoscaling)")
    p.add_argument("--upgrade", action="store_true",
                   help="with --scenario: during an upgrade (the largest pool's surge on top)")
    p.add_argument("--network-plugin", choices=NETWORK_PLUGINS)
    p.add_argument("--network-plugin-mode", choices=NETWORK_PLUGIN_MODES)
    p.add_argument("--pod-ip-allocation", choices=POD_IP_ALLOCATIONS,
                   help="Azure CNI without Overlay: node-subnet (default), dynamic, static-block")
    p.add_argument("--nodes", type=_whole_number, help="nodes in the pool")
    p.add_argument("--max-pods", type=_whole_number, help="max pods per node")
    p.add_argument("--max-surge", default=None,
                   help="upgrade surge: a node count or a percentage such as 33%% (default 1)")
    p.add_argument("--max-count", type=_whole_number, help="cluster autoscaler maximum")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.error = _parser_error  # type: ignore[method-assign]  # one line, no usage block
    p.set_defaults(func=run)
    return p


def _surge_value(text: str) -> int | str:
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


def _problem_line(problem: InputProblem) -> str:
    flag = _FLAGS.get(problem.field, problem.field)
    return f"{flag}: found {problem.found}, expected {problem.expected}"


def _prefix_text(prefix: int | None) -> str:
    if prefix is None:
        return "does not fit in any IPv4 subnet"
    return f"/{prefix} or larger (a /{prefix} has {usable_addresses(prefix):,} usable)"


def _pod_lines(p: Plan) -> list[str]:
    if p.pod_cidr_min_prefix_len is not None:
        return [f"pod CIDR:      /{p.pod_cidr_min_prefix_len} or larger "
                f"(a /{NODE_POD_PREFIX_LEN} per node, {p.nodes_to_fit} nodes)"]
    if p.pod_subnet_required_ips is None:
        return ["pod IPs:       from the node subnet (counted above)"]
    if p.static_blocks_per_node is not None:
        detail = (f"{p.static_blocks_per_node} /28 block(s) per node, "
                  f"{p.static_wasted_ips_per_node} IP(s) per node wasted")
    else:
        detail = f"worst case; documented floor {p.pod_subnet_floor_ips:,} IPs"
    return [f"pod subnet:    {p.pod_subnet_required_ips:,} IPs -> "
            f"{_prefix_text(p.pod_subnet_min_prefix_len)}", f"               ({detail})"]


def _fit_line(p: Plan) -> str:
    counted = f"--nodes {p.nodes}"
    if p.max_count is not None:
        counted = f"max(--nodes {p.nodes}, --max-count {p.max_count})"
    return f"nodes to fit:  {p.nodes_to_fit} = {counted} + {p.surge_nodes} surge"


def _limit_lines(p: Plan) -> list[str]:
    if not p.binding_limits:
        return ["binding limits: none reached"]
    lines = ["binding limits:"]
    for b in p.binding_limits:
        lines.append(f"  - {b.name}: {b.value:,} vs limit {b.limit:,} ({b.status}; {b.source})")
    return lines


def render(p: Plan) -> str:
    """The human report of a plan.

    Args:
        p: The plan.

    Returns:
        Multi-line text, no trailing newline.
    """
    defaulted = " (default)" if p.max_pods_defaulted else ""
    lines = [
        f"AKS subnet plan: {MODE_LABELS[p.mode]}, max pods {p.max_pods}{defaulted}",
        _fit_line(p),
        f"node subnet:   {p.required_ips:,} IPs -> {_prefix_text(p.min_prefix_len)}",
        *_pod_lines(p),
        f"pod capacity:  {p.max_pods_total:,} pods ({p.pool_nodes} nodes x {p.max_pods})",
    ]
    if p.snat_ports_per_node is not None:
        lines.append(f"default SNAT:  {p.snat_ports_per_node:,} ports per node (1 outbound IP)")
    lines += _limit_lines(p)
    lines += ["warnings:", *(f"  - {w}" for w in p.warnings)] if p.warnings else []
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Compute and print the plan for parsed ``plan`` arguments.

    Args:
        args: The namespace argparse produced.

    Returns:
        0 when a plan was printed (exits 2 on bad input).
    """
    if args.scenario:
        return _scenario_plan(args)
    missing = [flag for flag, value in (("--network-plugin", args.network_plugin),
                                        ("--nodes", args.nodes), ("--max-pods", args.max_pods))
               if value is None]
    if missing:
        _fail([f"the following arguments are required: {', '.join(missing)} (or --scenario FILE)"])
    try:
        result = plan_sizing(
            args.network_plugin, args.network_plugin_mode, args.pod_ip_allocation,
            nodes=args.nodes, max_pods=args.max_pods,
            max_surge=_surge_value(args.max_surge or str(MAX_SURGE_DEFAULT)),
            max_count=args.max_count,
        )
    except SizingError as err:
        _fail([_problem_line(p) for p in err.problems])
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(render(result))
    return EXIT_OK


def _scenario_plan(args: argparse.Namespace) -> int:
    """``plan --scenario``: does this cluster fit its network at the asked size (and during an
    upgrade)? Every subnet and platform limit, the one that binds first, the addresses left.
    The same computation as `aks-sim validate`'s subnet warnings (sim.scenario.fit)."""
    from services.examples import scenario_path
    from sim import ScenarioError
    from sim.scenario import cluster_fit, load

    try:
        spec = load(scenario_path(args.scenario)).spec
    except ScenarioError as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None
    pools = {p.name for p in spec.cluster.node_pools}
    counts: dict[str, int] = {}
    for item in args.scale:
        name, _, number = item.partition("=")
        if name not in pools or not number.isdigit():
            _fail([f"--scale: expected POOL=N with POOL one of {', '.join(sorted(pools))}, found "
                   f"{item!r}"])
        counts[name] = int(number)
    surge = _surge_value(args.max_surge) if args.max_surge else None
    problems = surge_problems(surge) if surge is not None else []
    if problems:
        _fail([_problem_line(p) for p in problems])
    fit = cluster_fit(spec, counts, upgrade=args.upgrade, max_surge=surge)
    if args.json:
        print(json.dumps({
            "scenario": args.scenario, "upgrade": args.upgrade, "fits": fit.fits,
            "binding": fit.binding()[0], "moreNodes": fit.binding()[1],
            "pools": {p.name: counts.get(p.name) for p in spec.cluster.node_pools},
            "subnets": [{"name": s.name, "cidr": s.cidr, "usable": s.usable, "held": s.held,
                         "nodes": s.nodes, "surge": s.surge, "pods": s.pods, "need": s.need,
                         "left": s.left, "pools": s.pools} for s in fit.subnets],
            "limits": [{"name": x.name, "used": x.used, "limit": x.limit, "left": x.left}
                       for x in fit.limits]}, indent=2))
        return EXIT_OK
    sizes = ", ".join(f"{p.name}={counts.get(p.name, 'largest')}" for p in spec.cluster.node_pools)
    print(f"AKS network plan for {args.scenario} ({spec.cluster.plugin}): pools {sizes}"
          + ("; during an upgrade" if args.upgrade else ""))
    for s in fit.subnets:
        parts = [f"nodes {s.nodes:,}"] + ([f"surge {s.surge:,}"] if s.surge else []) + (
            [f"pods {s.pods:,}"] if s.pods else []) + ([f"held by others {s.held:,}"] if s.held else [])
        verdict = f"{s.left:,} left" if s.left >= 0 else f"{-s.left:,} SHORT"
        print(f"  subnet {s.name} ({s.cidr}): {' + '.join(parts)} = {s.need:,} of {s.usable:,} "
              f"usable: {verdict}")
    for x in fit.limits:
        verdict = f"{x.left:,} left" if x.left >= 0 else f"{-x.left:,} OVER"
        print(f"  {x.name}: {x.used:,} of {x.limit:,}: {verdict}")
    name, more = fit.binding()
    print(f"binds first: {name} ("
          + (f"{more:,} more nodes fit" if more >= 0 else f"{-more:,} nodes too many") + ")")
    print("result: " + ("fits" if fit.fits else "does NOT fit"))
    return EXIT_OK
