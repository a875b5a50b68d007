"""``aks-sim run`` (one scenario to its end, watched live if asked) and ``aks-sim sweep`` (a
study's runs on the local cores or a Dask cluster: :mod:`services.sweeps.sweep`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from services.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    SCENARIO_HELP,
    load_scenario,
    print_issues,
    read_scenario,
    seed_arg,
    speed_arg,
    whole_arg,
)
from services.cli.remote import run_remote
from services.examples import scenario_path

if TYPE_CHECKING:
    from sim import Simulation, Timeline
    from sim.scenario import LoadedStudy


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
    from services.live.run import LiveRun, ShellError
    from sim import Simulation, Timeline

    args.scenario = scenario_path(args.scenario)
    if args.server:
        return run_remote(args)
    bundle = read_scenario(args.scenario)
    loaded = load_scenario(args.scenario, bundle) if bundle is not None else None
    if loaded is None:
        return EXIT_INVALID
    print_issues(loaded.warnings, sys.stderr)
    out_dir = args.out or os.path.join("runs", loaded.spec.name)
    if not _writable(out_dir):
        return EXIT_INVALID
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
    return _finish(sim, timeline, out_dir, args.quiet)


def _writable(out_dir: str) -> bool:
    """Make the run's directory and check that its event log can be written (before the run)."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        events_file = open(os.path.join(out_dir, "events.jsonl"), "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"{out_dir}: cannot write the run's output: {exc.strerror}", file=sys.stderr)
        return False
    events_file.close()
    return True


def _finish(sim: Simulation, timeline: Timeline, out_dir: str, quiet: bool) -> int:
    """Write the run's files, print the report (unless *quiet*) and the skipped faults; the
    exit status says whether the scenario's expectations passed."""
    from services.eventlog import events_path
    from services.live.recording import write_run_files
    from sim import render_report as render_text

    report = sim.report()
    write_run_files(out_dir, report, timeline)
    if not quiet:
        print(render_text(report))
        print(f"\nEvent log: {events_path(out_dir)}; "
              f"report: {os.path.join(out_dir, 'report.json')}; "
              f"metrics: {os.path.join(out_dir, 'metrics.jsonl')}")
    for err in sim.fault_errors:
        print(f"warning: fault skipped at {err}", file=sys.stderr)
    return EXIT_OK if report.passed else EXIT_FAILED


def _live_options(args: argparse.Namespace):  # noqa: ANN202 - LiveOptions, imported lazily
    """The run's live options from its flags; ValueError names the flag and what is wrong."""
    from services.live.run import LiveOptions
    from services.mqtt.publisher import MqttSettings
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


def add_run(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim run``."""
    run = sub.add_parser("run", help="run a scenario and report what happened")
    run.add_argument("scenario", help=SCENARIO_HELP)
    run.add_argument("--seed", type=seed_arg, default=None, help="override the scenario's seed")
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
    live.add_argument("--speed", type=speed_arg, default=None, metavar="X",
                      help="pace the run at X simulated seconds per wall second (default: as fast "
                           "as possible)")
    live.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                      help="serve Prometheus metrics on this port while the run goes")
    live.add_argument("--metrics-host", default="127.0.0.1", help="address to serve metrics on")
    live.add_argument("--sample-interval", default="15s", metavar="DURATION",
                      help="simulated time between metric samples (default 15s)")
    live.add_argument("--series-cap", type=whole_arg(0, 1_000_000), default=1000, metavar="N",
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
    live.add_argument("--mqtt-outbox", type=whole_arg(1, 10_000_000), default=100_000, metavar="N",
                      help="events held while the broker is away (default 100000)")
    live.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                      help="info: also log Warning events; debug: every event")
    live.add_argument("--log-format", default="console", choices=["console", "json"])
    run.set_defaults(func=cmd_run)


# --- aks-sim sweep --------------------------------------------------------------------------

def add_sweep(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``aks-sim sweep``."""
    p = sub.add_parser("sweep", help="run a study: a scenario over a parameter grid and seeds")
    p.add_argument("study", help="study YAML file (see docs/studies.md)")
    p.add_argument("--out", default=None, help="output directory (default runs/<study name>)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="local processes (default: every core this process may use)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler instead of the local cores")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the rows of results.csv whose status is not ok")
    p.add_argument("--keep-events", action="store_true",
                   help="also keep each run's event log as DIR/events/<run>.jsonl.gz")
    p.add_argument("--check", action="store_true",
                   help="check the study and print its plan; run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=cmd_sweep)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of processes, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def cmd_sweep(args: argparse.Namespace) -> int:
    """Check the study, run what is not done yet, write results.csv and report.html."""
    from services.sweeps.sweep import (
        RESULTS,
        STATUS_OK,
        Progress,
        SweepError,
        columns,
        cpu_count,
        dask_runner,
        local_runner,
        sweep,
        write_report,
    )

    flags = _sweep_flags_error(args)
    if flags:
        print(f"aks-sim sweep: error: {flags}", file=sys.stderr)
        return EXIT_INVALID
    args.study = scenario_path(args.study, "studies")
    study = _load_study(args.study)
    if study is None:
        return EXIT_INVALID
    runs = len(study.points) * len(study.seeds)
    if args.check:
        print(f"{args.study}: {len(study.points)} points x {len(study.seeds)} seeds = {runs} runs "
              f"of {study.base.file}; columns: {', '.join(columns(study))}")
        return EXIT_OK
    out_dir = args.out or os.path.join("runs", study.name)
    try:
        runner = (dask_runner(args.scheduler) if args.scheduler
                  else local_runner(args.workers or cpu_count()))
        bar = Progress(runs, sys.stderr, sys.stderr.isatty() and not args.quiet)
        outcome = sweep(study, out_dir, runner, retry_failed=args.retry_failed,
                        keep_events=args.keep_events, progress=bar)
    except SweepError as exc:
        print(f"aks-sim sweep: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        print(f"{out_dir}: cannot write the sweep's output: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        report = write_report(study, outcome, out_dir)
    except OSError as exc:
        print(f"{out_dir}: cannot write the report: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(f"{study.name}: {outcome.ran} runs ({outcome.skipped} already in {RESULTS}), "
              f"{outcome.failed} failed; results: {outcome.results}; report: {report}")
    return EXIT_FAILED if any(r["status"] != STATUS_OK for r in outcome.rows) else EXIT_OK


def _sweep_flags_error(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--scheduler`` and ``--workers`` together, or None."""
    if args.scheduler and args.workers:
        return ("--workers is for local runs; a Dask cluster runs as many at once as it has "
                "worker threads")
    if args.scheduler and "://" not in args.scheduler:
        return f"--scheduler: expected an address such as tcp://host:8786, got {args.scheduler!r}"
    return None


def _load_study(path: str) -> LoadedStudy | None:
    """The study at *path*, its base scenario's warnings printed; None (its issues printed) if
    it is not valid."""
    from sim import ScenarioError
    from sim.scenario import load_study

    try:
        study = load_study(path)
    except ScenarioError as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return None
    for issue in study.warnings:  # the base scenario's, as `aks-sim run` prints them
        print(issue.render(), file=sys.stderr)
    return study
