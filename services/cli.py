"""``aks-sim``: the one command. One function per subcommand.

Exit codes: 0 success (every ``expect`` holds), 1 an expectation failed, 2 invalid input
(unreadable file, invalid scenario, bad flags). A user's mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TextIO

from services import htmlreport, plan, sweep

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_INVALID = 0, 1, 2


def _print_issues(issues: list, stream: TextIO) -> None:
    for issue in issues:
        print(issue.render(), file=stream)


def _load(path: str):  # noqa: ANN202 - LoadedScenario, imported lazily
    """The scenario at *path*, or None after printing every issue (exit 2 follows)."""
    from sim.errors import ScenarioError
    from sim.scenario import load

    try:
        return load(path)
    except ScenarioError as exc:
        _print_issues(exc.issues, sys.stderr)
        return None


class Progress:
    """A progress bar over simulated time on stderr (only when stderr is a terminal)."""

    def __init__(self, total: float, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()

    def update(self, now: float, events: int) -> None:
        """Redraw the bar for simulated time *now*."""
        if not self.enabled:
            return
        from sim.scenario.units import format_duration
        frac = now / self.total if self.total else 1.0
        width = 30
        filled = int(frac * width)
        wall = time.monotonic() - self.started
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * frac:5.1f}% "
                          f"{format_duration(now):>9} of {format_duration(self.total)} "
                          f"{events} events {wall:5.1f}s")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario to its end: progress, report, events.jsonl, report.json."""
    from sim.engine import Simulation
    from sim.events import SimEvent
    from sim.report import render_text
    from sim.telemetry.jsonl import line_writer, parse_start
    from sim.timeline import Timeline

    loaded = _load(args.scenario)
    if loaded is None:
        return EXIT_INVALID
    _print_issues(loaded.warnings, sys.stderr)
    out_dir = args.out or os.path.join("runs", loaded.spec.name)
    try:
        os.makedirs(out_dir, exist_ok=True)
        events_file = open(os.path.join(out_dir, "events.jsonl"), "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"{out_dir}: cannot write the run's output: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    sim = Simulation(loaded, seed=args.seed, run_id=args.run_id)
    timeline = Timeline(sim.model, sim.bus)  # for `aks-sim report`'s plots
    with events_file:
        sim.bus.subscribe(SimEvent,
                          line_writer(parse_start(loaded.spec.start_time), events_file.write))
        progress = Progress(sim.end, sys.stderr, sys.stderr.isatty() and not args.quiet)
        steps = 200
        for i in range(1, steps + 1):
            sim.advance_to(sim.end * i / steps)
            progress.update(sim.now, sim.bus.published)
        progress.close()
    report = sim.report()
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report.to_dict(), fh, indent=2, sort_keys=False)
        fh.write("\n")
    with open(os.path.join(out_dir, "timeline.json"), "w", encoding="utf-8") as fh:
        json.dump(timeline.to_dict(), fh, separators=(",", ":"))
    if not args.quiet:
        print(render_text(report))
        print(f"\nEvent log: {os.path.join(out_dir, 'events.jsonl')}; "
              f"report: {os.path.join(out_dir, 'report.json')}")
    for err in sim.fault_errors:
        print(f"warning: fault skipped at {err}", file=sys.stderr)
    return EXIT_OK if report.passed else EXIT_EXPECT_FAILED


def cmd_reach(args: argparse.Namespace) -> int:
    """Print which workloads can reach which under the scenario's NetworkPolicies."""
    from sim.engine import Simulation
    from sim.netpol import NetworkPolicyError
    from sim.reach import reachability, render

    loaded = _load(args.scenario)
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
            "matrix": [{"from": s, "to": d, "allowed": v.allowed, "connections": v.connections,
                        "denied": len(v.denied), "reason": v.reason}
                       for (s, d), v in reach.cells.items()],
        }, indent=2))
    else:
        print(render(reach))
    return EXIT_OK


def cmd_route(args: argparse.Namespace) -> int:
    """Print every hop of a URL through the cluster, with the rule that chose it."""
    from sim.engine import Simulation
    from sim.route import render, trace
    from sim.scenario.units import parse_duration

    try:
        at = parse_duration(args.at)
    except ValueError as exc:
        print(f"aks-sim route: error: --at: {exc}", file=sys.stderr)
        return EXIT_INVALID
    loaded = _load(args.scenario)
    if loaded is None:
        return EXIT_INVALID
    from urllib.parse import urlsplit

    parts = urlsplit(args.url if "://" in args.url else f"http://{args.url}")
    sim = Simulation(loaded, seed=args.seed)
    sim.advance_to(min(at, sim.end))
    result = trace(sim.model, parts.hostname, parts.path or "/", parts.scheme or "http")
    if args.json:
        print(json.dumps({"url": result.url, "at": result.at, "answered": result.answered,
                          "verdict": result.verdict,
                          "hops": [{"what": h.what, "detail": h.detail, "why": h.why}
                                   for h in result.hops]}, indent=2))
    else:
        print(render(result))
    return EXIT_OK if result.answered else EXIT_EXPECT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a scenario; list every issue compiler-style."""
    from sim.scenario import validate

    issues = validate(args.scenario)
    _print_issues(issues, sys.stdout)
    return EXIT_INVALID if any(i.severity == "error" for i in issues) else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the scenario file's JSON Schema."""
    from sim.scenario.schema import Scenario

    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "aks-sim scenario"
    print(json.dumps(schema, indent=2, sort_keys=True))
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with 2 and one line per problem (never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="aks-sim", description="Simulate the networking of an AKS cluster.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario and report what happened")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    run.add_argument("--out", default=None, help="output directory (default runs/<name>)")
    run.add_argument("--run-id", default="local", help="run id stamped on every event")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no report text")
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check a scenario and list every problem")
    validate.add_argument("scenario")
    validate.set_defaults(func=cmd_validate)
    reach = sub.add_parser("reach", help="which workloads can reach which (NetworkPolicy truth table)")
    reach.add_argument("scenario")
    reach.add_argument("--port", type=int, default=None,
                       help="destination port (default: each workload's first container port)")
    reach.add_argument("--protocol", choices=["TCP", "UDP", "SCTP"], default="TCP")
    reach.add_argument("--seed", type=int, default=None)
    reach.add_argument("--json", action="store_true")
    reach.set_defaults(func=cmd_reach)
    route = sub.add_parser("route", help="where a URL goes, hop by hop, and which rule chose each")
    route.add_argument("scenario")
    route.add_argument("url", help="e.g. https://shop.example.com/api/cart")
    route.add_argument("--at", default="0s", help="simulated time to look at (default 0s)")
    route.add_argument("--seed", type=int, default=None)
    route.add_argument("--json", action="store_true")
    route.set_defaults(func=cmd_route)
    schema = sub.add_parser("schema", help="print the scenario JSON Schema")
    schema.set_defaults(func=cmd_schema)
    plan.add_parser(sub)
    sweep.add_parser(sub)
    htmlreport.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``aks-sim`` script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
