"""The commands that look at a scenario without running it through: ``validate``, ``schema``,
``reach`` (the NetworkPolicy truth table) and ``route`` (where a URL goes, hop by hop)."""

from __future__ import annotations

import argparse
import json
import sys

from services.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    SCENARIO_HELP,
    load_scenario,
    print_issues,
    seed_arg,
    whole_arg,
)
from services.examples import scenario_path


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a scenario; list every issue compiler-style."""
    from sim.scenario import validate

    path = scenario_path(args.scenario)
    if _declares_expect_error(path):  # a scenario that must be rejected, and says how
        from sim.scenario import rejection

        problems = rejection(path)
        for line in problems:
            print(line)
        if problems:
            return EXIT_FAILED
        print(f"{path}: rejected as its expectError says", file=sys.stderr)
        return EXIT_OK
    issues = validate(path)
    print_issues(issues, sys.stdout)
    errors = sum(i.severity == "error" for i in issues)
    warnings = len(issues) - errors
    if errors:
        print(f"{path}: invalid: {errors} error{'s' * (errors != 1)}"
              + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""), file=sys.stderr)
        return EXIT_INVALID
    print(f"{path}: valid" + (f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""),
          file=sys.stderr)
    return EXIT_OK


def _declares_expect_error(path: str) -> bool:
    """Whether the scenario at *path* has a top-level ``expectError`` (read leniently: a file
    that does not parse is validate's to report)."""
    from sim.scenario import load_document, read_file

    text, _ = read_file(path)
    doc = load_document(text, path)[0] if text else None
    return doc is not None and isinstance(doc.data, dict) and "expectError" in doc.data


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of a scenario file (or, with --study, of a study file)."""
    from sim.scenario import Scenario, Study

    model, title = (Study, "aks-sim study") if args.study else (Scenario, "aks-sim scenario")
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    print(json.dumps(schema, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_reach(args: argparse.Namespace) -> int:
    """Print which workloads can reach which under the scenario's NetworkPolicies."""
    from sim import NetworkPolicyError, Simulation, reachability
    from sim import render_reach as render

    loaded = load_scenario(scenario_path(args.scenario))
    if loaded is None:
        return EXIT_INVALID
    sim = Simulation(loaded, seed=args.seed)
    sim.advance_to(0.0)  # the cluster as it runs at time 0: pods placed, addresses given
    try:
        reach = reachability(sim.model, port=args.port, protocol=args.protocol)
    except NetworkPolicyError as exc:
        print(f"{args.scenario}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(json.dumps({
            "engine": reach.engine, "enforced": reach.enforced, "policies": list(reach.policies),
            "ports": {k: {"port": p, "protocol": proto} for k, (p, proto) in reach.ports.items()},
            "exposure": {d: how or None for d, how in reach.exposure.items()},
            "matrix": [{"from": s, "to": d, "allowed": v.allowed, "connections": v.connections,
                        "denied": len(v.denied), "reason": v.reason,
                        **({"exposed": bool(reach.exposure.get(d))} if s == "internet" else {})}
                       for (s, d), v in reach.cells.items()],
        }, indent=2))
    else:
        print(render(reach))
    return EXIT_OK


def cmd_route(args: argparse.Namespace) -> int:
    """Print every hop of a URL through the cluster, with the rule that chose it."""
    from sim import RouteError, Simulation
    from sim import render_route as render
    from sim import trace_route as trace
    from sim.scenario import parse_duration

    try:
        at = parse_duration(args.at)
    except ValueError as exc:
        print(f"aks-sim route: error: --at: {exc}", file=sys.stderr)
        return EXIT_INVALID
    loaded = load_scenario(scenario_path(args.scenario))
    if loaded is None:
        return EXIT_INVALID
    from urllib.parse import urlsplit

    parts = urlsplit(args.url if "://" in args.url else f"http://{args.url}")
    sim = Simulation(loaded, seed=args.seed)
    sim.advance_to(min(at, sim.end))
    try:
        result = trace(sim.model, parts.hostname, parts.path or "/", parts.scheme or "http",
                       source=args.from_, port=parts.port, client_ip=args.client_ip)
    except (RouteError, ValueError) as exc:
        print(f"aks-sim route: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(json.dumps({"url": result.url, "at": result.at, "answered": result.answered,
                          "verdict": result.verdict, "outcome": result.outcome,
                          "hops": [{"what": h.what, "detail": h.detail, "why": h.why}
                                   for h in result.hops]}, indent=2))
    else:
        print(render(result))
    return EXIT_OK if result.answered else EXIT_FAILED


def add_validate(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim validate``."""
    validate = sub.add_parser("validate", help="check a scenario and list every problem")
    validate.add_argument("scenario", help=SCENARIO_HELP)
    validate.set_defaults(func=cmd_validate)


def add_reach(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim reach``."""
    reach = sub.add_parser("reach", help="which workloads can reach which (NetworkPolicy truth table)")
    reach.add_argument("scenario", help=SCENARIO_HELP)
    reach.add_argument("--port", type=whole_arg(1, 65535), default=None,
                       help="destination port (default: each workload's first container port)")
    reach.add_argument("--protocol", choices=["TCP", "UDP", "SCTP"], default="TCP")
    reach.add_argument("--seed", type=seed_arg, default=None)
    reach.add_argument("--json", action="store_true")
    reach.set_defaults(func=cmd_reach)


def add_route(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim route``."""
    route = sub.add_parser("route", help="where a URL goes, hop by hop, and which rule chose each")
    route.add_argument("scenario", help=SCENARIO_HELP)
    route.add_argument("url", help="e.g. https://shop.example.com/api/cart")
    route.add_argument("--at", default="0s", help="simulated time to look at (default 0s)")
    route.add_argument("--from", dest="from_", default=None, metavar="CLIENT",
                       help="the client: a pod of this Deployment (namespace/name), or a VM in "
                            "the vnet, a peered-vnet or on-premises (default: the internet)")
    route.add_argument("--client-ip", default="203.0.113.10",
                       help="the internet or VM client's address (default 203.0.113.10)")
    route.add_argument("--seed", type=seed_arg, default=None)
    route.add_argument("--json", action="store_true")
    route.set_defaults(func=cmd_route)


def add_schema(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim schema``."""
    schema = sub.add_parser("schema", help="print the scenario JSON Schema")
    schema.add_argument("--study", action="store_true",
                        help="the JSON Schema of a study file (aks-sim sweep) instead")
    schema.set_defaults(func=cmd_schema)
