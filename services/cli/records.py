"""The commands about a run's records: ``export`` (metrics as OpenMetrics), ``replay`` (a
recorded run again, checked byte for byte), ``watch`` (the events a broker carries) and
``report`` (an HTML report of a run or sweep directory)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys

from services.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, whole_arg


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
    from services.live.replay import ReplayError, replay
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
        from services.live.replay import logged_prefix, read_recording

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
                    return EXIT_FAILED
            if a.read(1) or b.read(1):
                print(f"{original}: the replay has a different number of events", file=sys.stderr)
                return EXIT_FAILED
        print(f"replay matches {original} byte for byte", file=sys.stderr)
        return EXIT_OK  # --check asks whether the replay matches; the report above says the rest
    return EXIT_OK if report.passed else EXIT_FAILED


def cmd_watch(args: argparse.Namespace) -> int:
    """Print a broker's akssim event stream readably."""
    from services.mqtt.publisher import SettingsError
    from services.mqtt.watch import watch

    try:
        import asyncio

        return asyncio.run(watch(args))
    except SettingsError as exc:
        print(f"aks-sim watch: error: {exc}", file=sys.stderr)
        return EXIT_INVALID


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a run or sweep directory."""
    from services.reports.html import ReportError, render_dir

    out = args.out or os.path.join(args.run_dir, "report.html")
    try:
        html = render_dir(args.run_dir)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(html)
    except ReportError as exc:
        print(f"aks-sim report: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        print(f"aks-sim report: error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    print(out)
    return EXIT_OK


def add_export(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim export``."""
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


def add_replay(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim replay``."""
    replay = sub.add_parser("replay", help="run a recorded run again (faults and all), as fast as possible")
    replay.add_argument("run_dir", metavar="RUN_DIR", help="a run directory with recording.json")
    replay.add_argument("--out", default=None, help="output directory (default RUN_DIR/replay)")
    replay.add_argument("--check", action="store_true",
                        help="compare the event log with the original, byte for byte (exit 1 if not)")
    replay.add_argument("--quiet", action="store_true")
    replay.set_defaults(func=cmd_replay)


def add_watch(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim watch``."""
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
    watch.add_argument("--count", type=whole_arg(1, 2**63 - 1), default=None, metavar="N",
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


def add_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim report``."""
    p = sub.add_parser("report", help="an HTML report (one self-contained file) of a run or "
                                      "a sweep directory")
    p.add_argument("run_dir", metavar="DIR", help="the --out directory of aks-sim run or sweep")
    p.add_argument("--out", default=None, help="HTML file to write (default DIR/report.html)")
    p.set_defaults(func=cmd_report)
