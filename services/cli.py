"""``aks-sim``: the one command. One function per subcommand.

Exit codes: 0 success (every ``expect`` holds), 1 an expectation failed, 2 invalid input
(unreadable file, invalid scenario, bad flags). A user's mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from typing import TextIO

from services import client, htmlreport, importer, plan, sweep
from services.examples import scenario_path

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_INVALID = 0, 1, 2
SCENARIO_HELP = "scenario YAML file, or the name of a shipped example (aks-sim examples lists them)"


def _print_issues(issues: list, stream: TextIO) -> None:
    for issue in issues:
        print(issue.render(), file=stream)


def _bundle(path: str):  # noqa: ANN202 - Bundle, imported lazily
    """The scenario at *path* with every file it references, or None after printing the issues."""
    from sim import ScenarioError
    from sim.scenario import read_bundle

    try:
        return read_bundle(path)
    except ScenarioError as exc:
        _print_issues(exc.issues, sys.stderr)
        return None


def _load(path: str, bundle=None):  # noqa: ANN001, ANN202 - LoadedScenario, imported lazily
    """The scenario at *path*, or None after printing every issue (exit 2 follows)."""
    from sim import ScenarioError
    from sim.scenario import load_bundle

    bundle = bundle or _bundle(path)
    if bundle is None:
        return None
    try:
        return load_bundle(bundle)
    except ScenarioError as exc:
        _print_issues(exc.issues, sys.stderr)
        return None


class Progress:
    """``aks-sim run``'s bar over simulated time (see :mod:`services.progress`)."""

    def __init__(self, total: float, stream: TextIO, enabled: bool) -> None:
        from services.progress import Bar

        self.bar = Bar(total, stream, enabled)

    def update(self, now: float, events: int) -> None:
        """Redraw the bar for simulated time *now* (at most 10 times a wall second, and at the end)."""
        if self.bar.enabled:
            from sim.scenario import format_duration

            self.bar.draw(now, f"{format_duration(now):>9} of {format_duration(self.bar.total)}, "
                               f"{events} events,")

    def close(self) -> None:
        """End the bar's line."""
        self.bar.close()


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario to its end: progress, report, events.jsonl, report.json."""
    from services import logging
    from services.runner import LiveRun, ShellError, write_run_files
    from sim import Simulation, Timeline
    from sim import render_report as render_text

    args.scenario = scenario_path(args.scenario)
    if args.server:
        return client.run_remote(args)
    bundle = _bundle(args.scenario)
    loaded = _load(args.scenario, bundle) if bundle is not None else None
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
    events_file.close()
    try:
        opts = _live_options(args)
    except ValueError as exc:
        print(f"aks-sim run: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    logging.configure(args.log_format, args.log_level)
    logging.bind_run(args.run_id)
    sim = Simulation(loaded, seed=args.seed, run_id=args.run_id)
    timeline = Timeline(sim.model, sim.bus)  # for `aks-sim report`'s plots
    progress = Progress(sim.end, sys.stderr, sys.stderr.isatty() and not args.quiet)
    source = {"path": os.path.abspath(args.scenario), "text": bundle.text, "files": bundle.files}
    live = LiveRun(sim, opts, out_dir, progress.update, source=source)
    try:
        import asyncio

        outcome = asyncio.run(live.run())
    except ShellError as exc:
        progress.close()
        print(f"aks-sim run: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    progress.close()
    if outcome.dropped:
        print(f"warning: {outcome.dropped} events did not reach the MQTT broker (seq "
              + ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in outcome.lost_ranges[:10])
              + "); all of them are in events.jsonl", file=sys.stderr)
    report = sim.report()
    write_run_files(out_dir, report, timeline)
    if not args.quiet:
        print(render_text(report))
        from services.eventlog import events_path

        print(f"\nEvent log: {events_path(out_dir)}; "
              f"report: {os.path.join(out_dir, 'report.json')}; "
              f"metrics: {os.path.join(out_dir, 'metrics.jsonl')}")
    for err in sim.fault_errors:
        print(f"warning: fault skipped at {err}", file=sys.stderr)
    return EXIT_OK if report.passed else EXIT_EXPECT_FAILED


def _live_options(args: argparse.Namespace):  # noqa: ANN202 - LiveOptions, imported lazily
    """The run's live options from its flags; ValueError names the flag and what is wrong."""
    from services.mqtt import MqttSettings
    from services.runner import LiveOptions
    from sim.scenario import parse_duration

    def duration(flag: str, text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ValueError(f"{flag}: {exc}") from None

    if args.speed is not None and not args.speed > 0:
        raise ValueError(f"--speed: expected a positive number of simulated seconds per wall "
                         f"second (60 = an hour in a minute), found {args.speed:g}")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise ValueError(f"--metrics-port: expected 0 to 65535, found {args.metrics_port}")
    interval = duration("--sample-interval", args.sample_interval)
    if interval < 0.01:  # a sample per 10 ms of simulated time is already dense
        raise ValueError(f"--sample-interval: expected a duration of at least 10ms, found "
                         f"{args.sample_interval!r}")
    mqtt = None
    if args.mqtt:
        mqtt = MqttSettings.from_url(
            args.mqtt, qos=args.mqtt_qos, username=args.mqtt_username,
            password=os.environ.get("AKSSIM_MQTT_PASSWORD"), protocol=args.mqtt_protocol,
            ca_file=args.mqtt_ca, insecure=args.mqtt_insecure, tls=bool(args.mqtt_ca))
    return LiveOptions(speed=args.speed, metrics_port=args.metrics_port,
                       metrics_host=args.metrics_host, mqtt=mqtt, outbox=args.mqtt_outbox,
                       sample_interval=interval, series_cap=args.series_cap,
                       linger=duration("--linger", args.linger),
                       log_events=args.log_level in ("debug", "info"), compress=args.compress)


def cmd_reach(args: argparse.Namespace) -> int:
    """Print which workloads can reach which under the scenario's NetworkPolicies."""
    from sim import NetworkPolicyError, Simulation, reachability
    from sim import render_reach as render

    loaded = _load(scenario_path(args.scenario))
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
    loaded = _load(scenario_path(args.scenario))
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
    return EXIT_OK if result.answered else EXIT_EXPECT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    """Write a finished run's metrics as OpenMetrics text with wall-clock timestamps."""
    from sim.telemetry import ExportError, export, parse_start, read_header

    path = os.path.join(args.run_dir, "metrics.jsonl")
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"{path}: cannot read the run's metrics: {exc.strerror} (expected the directory "
              f"of an `aks-sim run`)", file=sys.stderr)
        return EXIT_INVALID
    with fh:
        try:
            head = read_header(fh.readline(), path)
            fh.seek(0)
            text = args.start or head.get("startTime") or "1970-01-01T00:00:00Z"
            try:
                start = parse_start(text)
            except ValueError:
                print(f"aks-sim export: error: --start: expected an ISO 8601 instant like "
                      f"2026-01-01T00:00:00Z, found {text!r}", file=sys.stderr)
                return EXIT_INVALID
            if start.tzinfo is None:
                print(f"aks-sim export: error: --start: {text!r} has no time zone (add Z or "
                      f"+00:00)", file=sys.stderr)
                return EXIT_INVALID
            out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
            try:
                for chunk in export(fh, start, path):
                    out.write(chunk)
            finally:
                if out is not sys.stdout:
                    out.close()
        except ExportError as exc:
            print(f"aks-sim export: error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    link = grafana_url(args.grafana, head.get("run", ""), start, _last_sample(path))
    print(f"once backfilled, in Grafana: {link}", file=sys.stderr)
    return EXIT_OK


def _last_sample(path: str) -> float:
    """Simulated time of the last sample in a metrics.jsonl (0 when it has none)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 65536))
        lines = [line for line in fh.read().splitlines() if line.startswith(b'{"t":')]
    if not lines:
        return 0.0
    try:
        return float(json.loads(lines[-1])["t"])
    except (ValueError, KeyError):
        return 0.0


def grafana_url(base: str, run: str, start, seconds: float) -> str:  # noqa: ANN001 - datetime
    """The Cluster dashboard on the run's own time range (Grafana opens on now-30m otherwise;
    a backfilled run sits at its scenario's startTime)."""
    from urllib.parse import urlencode

    begin = int(start.timestamp() * 1000)
    query = urlencode({"orgId": 1, "from": begin, "to": begin + int(max(seconds, 60) * 1000),
                       "var-run": run})
    return f"{base.rstrip('/')}/d/akssim-cluster/aks-sim-cluster?{query}"


def cmd_replay(args: argparse.Namespace) -> int:
    """Run a recorded run again; with --check, compare the event logs byte for byte."""
    from services.replay import ReplayError, replay
    from sim import render_report as render_text

    out_dir = args.out or os.path.join(args.run_dir, "replay")
    try:
        sim = replay(args.run_dir, out_dir)
    except ReplayError as exc:
        print(f"aks-sim replay: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    report = sim.report()
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(report.to_dict(), fh, indent=2)
        fh.write("\n")
    if not args.quiet:
        print(render_text(report))
    if args.check:
        from services.replay import logged_prefix, read_recording

        prefix = logged_prefix(read_recording(args.run_dir))
        original = os.path.join(args.run_dir, "events.jsonl")
        from services.eventlog import complete_lines, events_path, open_events

        original = events_path(args.run_dir)
        with open_events(args.run_dir, binary=True) as fa, \
                open(os.path.join(out_dir, "events.jsonl"), "rb") as b:
            a = io.BytesIO(b"".join(complete_lines(fa))) if original.endswith(".gz") else fa
            if prefix is not None:  # killed mid-run: what was on disk, not a torn last line
                print(f"{original}: the run was interrupted; checking its first {prefix} events "
                      f"(all it had logged)", file=sys.stderr)
                a = io.BytesIO(b"".join(line for _, line in zip(range(prefix), a, strict=False)))
                b = io.BytesIO(b"".join(line for _, line in zip(range(prefix), b, strict=False)))
            for n, (x, y) in enumerate(zip(a, b, strict=False), start=1):
                if x != y:
                    print(f"{original}:{n}: the replay differs from here on", file=sys.stderr)
                    return EXIT_EXPECT_FAILED
            if a.read(1) or b.read(1):
                print(f"{original}: the replay has a different number of events", file=sys.stderr)
                return EXIT_EXPECT_FAILED
        print(f"replay matches {original} byte for byte", file=sys.stderr)
        return EXIT_OK  # --check asks whether the replay matches; the report above says the rest
    return EXIT_OK if report.passed else EXIT_EXPECT_FAILED


def cmd_watch(args: argparse.Namespace) -> int:
    """Print a broker's akssim event stream readably."""
    from services.mqtt import SettingsError
    from services.watch import watch

    try:
        import asyncio

        return asyncio.run(watch(args))
    except SettingsError as exc:
        print(f"aks-sim watch: error: {exc}", file=sys.stderr)
        return EXIT_INVALID


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
            return EXIT_EXPECT_FAILED
        print(f"{path}: rejected as its expectError says", file=sys.stderr)
        return EXIT_OK
    issues = validate(path)
    _print_issues(issues, sys.stdout)
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aks-sim")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


def cmd_examples(args: argparse.Namespace) -> int:
    """List the shipped example scenarios and studies (or copy them into a directory)."""
    import shutil

    from services.examples import examples_dir

    if args.copy:
        for kind in ("scenarios", "studies"):
            source = examples_dir(kind)
            try:
                shutil.copytree(source, os.path.join(args.copy, kind), dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
            except OSError as exc:
                print(f"aks-sim examples: error: cannot copy into {args.copy}: {exc}", file=sys.stderr)
                return EXIT_INVALID
        print(f"copied the examples into {args.copy}/scenarios and {args.copy}/studies", file=sys.stderr)
        return EXIT_OK
    for kind in ("scenarios", "studies"):
        print(f"{kind} ({examples_dir(kind)}):")
        for path in sorted(examples_dir(kind).glob("*.yaml")):
            with open(path, encoding="utf-8") as fh:
                first = next((line.lstrip("# ").strip() for line in fh if line.startswith("#")), "")
            print(f"  {path.stem:<38} {first}")
    print("\nrun one by name: aks-sim run zone-failure", file=sys.stderr)
    return EXIT_OK


def cmd_completion(args: argparse.Namespace) -> int:
    """Print a completion script for bash or zsh (built from this parser: always in step)."""
    from services.completion import script

    print(script(build_parser(), args.shell))
    return EXIT_OK


def _seed(text: str) -> int:
    """``--seed``: numpy's range, 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {2**32 - 1}, "
                                         f"found {text!r:.60}")
    return value


def _speed(text: str) -> float:
    """``--speed``: a finite pace in the pacer's range (NaN, inf and 1e-300 are refused)."""
    from services.pacer import speed_problem

    try:
        value: object = float(text)
    except ValueError:
        value = text
    problem = speed_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return float(text)


def _whole(low: int, high: int):  # noqa: ANN202 - an argparse type
    """An argparse type: an integer from *low* to *high*."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, "
                                             f"found {text!r:.60}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with 2 and one line per problem (never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="aks-sim", description="Simulate the networking of an AKS cluster.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario and report what happened")
    run.add_argument("scenario", help=SCENARIO_HELP)
    run.add_argument("--seed", type=_seed, default=None, help="override the scenario's seed")
    run.add_argument("--out", default=None, help="output directory (default runs/<name>)")
    run.add_argument("--run-id", default="local", help="run id stamped on every event")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no report text")
    run.add_argument("--compress", action="store_true",
                     help="write the event log as events.jsonl.gz (about a tenth of the size; "
                          "replay, report and the service read either)")
    run.add_argument("--server", default=None, metavar="URL",
                     help="launch the run on a running service (aks-sim serve) instead, sending "
                          "the scenario and every file it references; the token comes from "
                          "$AKSSIM_API_TOKEN")
    live = run.add_argument_group("watching a run live")
    live.add_argument("--speed", type=_speed, default=None, metavar="X",
                      help="pace the run at X simulated seconds per wall second (default: as fast "
                           "as possible)")
    live.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                      help="serve Prometheus metrics on this port while the run goes")
    live.add_argument("--metrics-host", default="127.0.0.1", help="address to serve metrics on")
    live.add_argument("--sample-interval", default="15s", metavar="DURATION",
                      help="simulated time between metric samples (default 15s)")
    live.add_argument("--series-cap", type=_whole(0, 1_000_000), default=1000, metavar="N",
                      help="per-pod and per-node series only up to N objects (default 1000)")
    live.add_argument("--linger", default="0s", metavar="DURATION",
                      help="keep serving metrics this long (wall time) after the run ends")
    live.add_argument("--mqtt", default=None, metavar="URL",
                      help="publish every event to this broker (mqtt://host:1883, mqtts://...); "
                           "password from AKSSIM_MQTT_PASSWORD or the URL")
    live.add_argument("--mqtt-qos", type=int, default=1, choices=[0, 1, 2])
    live.add_argument("--mqtt-username", default=None)
    live.add_argument("--mqtt-protocol", default="auto", choices=["auto", "5", "3.1.1"])
    live.add_argument("--mqtt-ca", default=None, metavar="FILE", help="CA file: use TLS")
    live.add_argument("--mqtt-insecure", action="store_true",
                      help="TLS without checking the broker's certificate")
    live.add_argument("--mqtt-outbox", type=_whole(1, 10_000_000), default=100_000, metavar="N",
                      help="events held while the broker is away (default 100000)")
    live.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                      help="info: also log Warning events; debug: every event")
    live.add_argument("--log-format", default="console", choices=["console", "json"])
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check a scenario and list every problem")
    validate.add_argument("scenario", help=SCENARIO_HELP)
    validate.set_defaults(func=cmd_validate)
    reach = sub.add_parser("reach", help="which workloads can reach which (NetworkPolicy truth table)")
    reach.add_argument("scenario", help=SCENARIO_HELP)
    reach.add_argument("--port", type=_whole(1, 65535), default=None,
                       help="destination port (default: each workload's first container port)")
    reach.add_argument("--protocol", choices=["TCP", "UDP", "SCTP"], default="TCP")
    reach.add_argument("--seed", type=_seed, default=None)
    reach.add_argument("--json", action="store_true")
    reach.set_defaults(func=cmd_reach)
    route = sub.add_parser("route", help="where a URL goes, hop by hop, and which rule chose each")
    route.add_argument("scenario", help=SCENARIO_HELP)
    route.add_argument("url", help="e.g. https://shop.example.com/api/cart")
    route.add_argument("--at", default="0s", help="simulated time to look at (default 0s)")
    route.add_argument("--from", dest="from_", default=None, metavar="CLIENT",
                       help="the client: a pod of this Deployment (namespace/name), or a VM in "
                            "the vnet, a peered-vnet or on-premises (default: the internet)")
    route.add_argument("--client-ip", default="203.0.113.10",
                       help="the internet or VM client's address (default 203.0.113.10)")
    route.add_argument("--seed", type=_seed, default=None)
    route.add_argument("--json", action="store_true")
    route.set_defaults(func=cmd_route)
    export = sub.add_parser("export", help="export a finished run (openmetrics: for promtool backfill)")
    export.add_argument("format", choices=["openmetrics"])
    export.add_argument("run_dir", metavar="RUN_DIR", help="directory written by `aks-sim run`")
    export.add_argument("--start", default=None, metavar="INSTANT",
                        help="wall-clock instant of simulated time 0 (default: the scenario's "
                             "startTime), e.g. 2026-01-01T00:00:00Z")
    export.add_argument("-o", "--output", default=None, metavar="FILE", help="default: stdout")
    export.add_argument("--grafana", default=os.environ.get("AKSSIM_GRAFANA_URL", "http://127.0.0.1:3000"),
                        metavar="URL", help="Grafana to print the run's dashboard link for "
                                            "(default $AKSSIM_GRAFANA_URL or http://127.0.0.1:3000)")
    export.set_defaults(func=cmd_export)
    replay = sub.add_parser("replay", help="run a recorded run again (faults and all), as fast as possible")
    replay.add_argument("run_dir", metavar="RUN_DIR", help="a run directory with recording.json")
    replay.add_argument("--out", default=None, help="output directory (default RUN_DIR/replay)")
    replay.add_argument("--check", action="store_true",
                        help="compare the event log with the original, byte for byte (exit 1 if not)")
    replay.add_argument("--quiet", action="store_true")
    replay.set_defaults(func=cmd_replay)
    watch = sub.add_parser(
        "watch", help="print the events a broker carries, readably",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the events that `aks-sim run --mqtt` publishes, one line each.\n"
                    "Only the topics the options name are subscribed (and the run's status),\n"
                    "never the whole run tree:\n"
                    "  (no filter)        akssim/RUN/+/+            every event once\n"
                    "  --category node    akssim/RUN/node/#\n"
                    "  --reason R         akssim/RUN/+/R\n"
                    "  --warnings         akssim/RUN/warnings/#     the copies of Warning events\n"
                    "  (always)           akssim/RUN/status         retained run state",
        epilog="Events the broker did not deliver are found by comparing what arrived with "
               "the run's own counts\n(the 'topics' of its status messages) and reported on "
               "stderr.\nExit codes: 0 done, 1 events did not arrive, 2 bad option or broker "
               "error, 130 interrupted.\nTopics, status and what the check can see: "
               "docs/events.md.")
    watch.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", metavar="URL",
                       help="the broker: mqtt://[user[:password]@]host[:port] or mqtts://host[:port] "
                            "for TLS (default %(default)s)")
    watch.add_argument("--run", default="+", metavar="RUN_ID",
                       help="the run id given to `aks-sim run --run-id` (default '+': every run)")
    watch.add_argument("--category", action="append", default=None,
                       help="only this category (node, ipam, traffic, ...; see docs/events.md); "
                            "repeatable")
    watch.add_argument("--reason", action="append", default=None,
                       help="only this reason (NodeNotReady, SubnetIsFull, ...); repeatable")
    watch.add_argument("--warnings", action="store_true",
                       help="only Warning events (from the akssim/RUN/warnings/ tree)")
    watch.add_argument("--json", action="store_true",
                       help="print each event as the CloudEvent JSON received")
    watch.add_argument("--count", type=_whole(1, 2**63 - 1), default=None, metavar="N",
                       help="stop after N events")
    watch.add_argument("--until-finished", action="store_true",
                       help="stop when the run (--run) has ended: finished, stopped or failed")
    watch.add_argument("--session", default=None, metavar="CLIENT_ID",
                       help="persistent session (clean session off): the broker keeps what "
                            "arrives while this client id is away and delivers it on return")
    watch.add_argument("--mqtt-username", default=None, metavar="NAME",
                       help="user name (or in the URL); the password is read from the "
                            "AKSSIM_MQTT_PASSWORD environment variable, or the URL")
    watch.add_argument("--mqtt-ca", default=None, metavar="FILE",
                       help="CA certificate file that signed the broker's: use TLS")
    watch.add_argument("--mqtt-insecure", action="store_true",
                       help="TLS without checking the broker's certificate")
    watch.set_defaults(func=cmd_watch)
    schema = sub.add_parser("schema", help="print the scenario JSON Schema")
    schema.add_argument("--study", action="store_true",
                        help="the JSON Schema of a study file (aks-sim sweep) instead")
    schema.set_defaults(func=cmd_schema)
    examples = sub.add_parser("examples", help="list the example scenarios and studies that ship "
                                                "with aks-sim, or copy them out")
    examples.add_argument("--copy", default=None, metavar="DIR",
                          help="copy every example (scenarios/, studies/) into DIR to edit them")
    examples.set_defaults(func=cmd_examples)
    completion = sub.add_parser("completion", help="print a shell completion script "
                                                    "(eval \"$(aks-sim completion bash)\")")
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(func=cmd_completion)
    plan.add_parser(sub)
    importer.add_parser(sub)
    client.add_parsers(sub)
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
