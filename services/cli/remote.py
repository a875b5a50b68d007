"""The command line as the service's client: ``run --server``, ``runs``, ``stop``, ``inject``
(``serve`` starts the service: :mod:`services.cli.serve`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from services.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, read_scenario

if TYPE_CHECKING:  # imported when a command talks to the service: `aks-sim --help` stays quick
    import httpx

DEFAULT_SERVER = "http://127.0.0.1:8080"


def _client(server: str) -> httpx.Client:
    import httpx

    token = os.environ.get("AKSSIM_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=60)


def _fail(what: str, r: httpx.Response) -> int:
    try:
        body = r.json()
    except ValueError:
        body = {"detail": r.text}
    print(f"aks-sim {what}: error: {r.status_code} {body.get('detail', body)}", file=sys.stderr)
    for issue in body.get("issues", []):
        print(issue.get("text", issue), file=sys.stderr)
    return EXIT_INVALID if r.status_code in (401, 404, 409, 410, 413, 422, 429) else EXIT_FAILED


def _call(what: str, fn: Any) -> Any:
    import httpx

    try:
        return fn()
    except httpx.HTTPError as exc:
        print(f"aks-sim {what}: error: cannot reach the service: {exc}", file=sys.stderr)
        return None


def run_remote(args: argparse.Namespace) -> int:
    """``aks-sim run --server URL SCENARIO``: send the scenario and every file it references
    (its bundle: the service reads nothing of its own disk for it); print the run's id."""
    bundle = read_scenario(args.scenario)
    if bundle is None:
        return EXIT_INVALID
    body: dict[str, Any] = {"yaml": bundle.text, "files": bundle.files,
                            "file": os.path.basename(args.scenario), "seed": args.seed,
                            "speed": args.speed}
    if args.run_id != "local":
        body["runId"] = args.run_id
    with _client(args.server) as c:
        r = _call("run", lambda: c.post("/v1/runs", json=body))
    if r is None:
        return EXIT_INVALID
    if r.status_code != 201:
        return _fail("run", r)
    run = r.json()
    print(run["id"])
    print(f"started {run['id']} on {args.server} ({run['scenario']}, speed "
          f"{run['speed'] or 'as fast as possible'}); follow it with aks-sim watch --run {run['id']}",
          file=sys.stderr)
    return EXIT_OK


def _seconds(value: Any, width: int) -> str:
    return f"{value:>{width - 1}.0f}s" if isinstance(value, int | float) else f"{'-':>{width}}"


def runs(args: argparse.Namespace) -> int:
    """``aks-sim runs``: the service's runs."""
    with _client(args.server) as c:
        r = _call("runs", lambda: c.get("/v1/runs"))
    if r is None:
        return EXIT_INVALID
    if r.status_code != 200:
        return _fail("runs", r)
    if args.json:
        print(json.dumps(r.json(), indent=2))
        return EXIT_OK
    print(f"{'RUN':<20} {'STATE':<11} {'SIM TIME':>10} {'OF':>8} {'EVENTS':>8} {'LAG':>6}  SCENARIO")
    for run in r.json():
        lag = run.get("lag")
        print(f"{run['id']:<20} {run['state']:<11} {_seconds(run.get('simTime'), 10)} "
              f"{_seconds(run.get('duration'), 8)} {run.get('events') or 0:>8} "
              f"{lag if isinstance(lag, int | float) else 0:>6.1f}  {run.get('scenario') or '-'}")
    return EXIT_OK


def stop(args: argparse.Namespace) -> int:
    """``aks-sim stop RUN``."""
    with _client(args.server) as c:
        r = _call("stop", lambda: c.post(f"/v1/runs/{args.run}/stop"))
    if r is None:
        return EXIT_INVALID
    if r.status_code != 200:
        return _fail("stop", r)
    body = r.json()
    print(f"{args.run} {body['state']} at {_seconds(body.get('simTime'), 1).strip()}", file=sys.stderr)
    return EXIT_OK


def _print_dry_run(body: dict[str, Any]) -> None:
    """What a dry run says the fault would add, readably (``--json`` prints it as received)."""
    print(f"dry run of {body['fault']} at {body['at']:g}s over the next {body['horizon']:g}s "
          f"(the run itself is untouched):")
    events = body.get("events") or {}
    if not events:
        print("  no events beyond those the run has anyway")
    for reason, what in events.items():
        objects = ", ".join(what.get("objects", [])[:5])
        print(f"  +{what['count']:<5} {reason}" + (f"  ({objects}...)" if objects else ""))
    for flow, c in (body.get("clients") or {}).items():
        extra = c["errors"] - c["errorsWithout"]
        span = (f", from {c['firstErrorAt']:g}s to {c['lastErrorAt']:g}s"
                if c.get("firstErrorAt") is not None else "")
        causes = ", ".join(f"{k} +{v}" for k, v in sorted(c.get("extraErrorsByCause", {}).items()))
        print(f"  flow {flow}: {c['requests']} requests, {c['errors']} errors ({extra:+d} with the "
              f"fault{span})" + (f": {causes}" if causes else ""))


def inject(args: argparse.Namespace) -> int:
    """``aks-sim inject RUN FAULT.yaml``: one fault (the scenario's fault format), or a list."""
    import yaml

    from sim.scenario import read_file

    text, problem = read_file(args.fault)
    if problem is not None or text is None:
        print(f"aks-sim inject: error: {problem.render() if problem else args.fault + ': empty'}",
              file=sys.stderr)
        return EXIT_INVALID
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        print(f"aks-sim inject: error: {args.fault}: not YAML: {exc}", file=sys.stderr)
        return EXIT_INVALID
    faults = data if isinstance(data, list) else [data]
    with _client(args.server) as c:
        for i, fault in enumerate(faults):
            r = _call("inject", lambda f=fault: c.post(f"/v1/runs/{args.run}/faults", json=f))
            if r is None:
                return EXIT_INVALID
            if r.status_code not in (200, 202):
                print(f"{args.fault}: fault {i}:", file=sys.stderr)
                return _fail("inject", r)
            body = r.json()
            if args.json:
                print(json.dumps(body, indent=2))
            elif body.get("dryRun"):
                _print_dry_run(body)
            else:
                print(f"{body['fault']} applied to {args.run} at {body['appliedAt']:g}s"
                      + (f", takes effect at {body['takesEffectAt']:g}s"
                         if body["takesEffectAt"] != body["appliedAt"] else ""), file=sys.stderr)
    return EXIT_OK


SERVER_HELP = ("the service's URL (default: $AKSSIM_SERVER, else " + DEFAULT_SERVER +
               "); the token comes from $AKSSIM_API_TOKEN")


def add_parsers(sub: Any) -> None:
    """Register runs, stop and inject."""
    default = os.environ.get("AKSSIM_SERVER", DEFAULT_SERVER)
    p = sub.add_parser("runs", help="list the service's runs")
    p.add_argument("--server", default=default, metavar="URL", help=SERVER_HELP)
    p.add_argument("--json", action="store_true", help="print the runs as the API answers them")
    p.set_defaults(func=runs)
    p = sub.add_parser("stop", help="stop a run of the service")
    p.add_argument("run", help="the run's id (aks-sim runs lists them)")
    p.add_argument("--server", default=default, metavar="URL", help=SERVER_HELP)
    p.set_defaults(func=stop)
    p = sub.add_parser("inject", help="inject a fault (YAML, the scenario's fault format) into a run")
    p.add_argument("run", help="the run's id (aks-sim runs lists them)")
    p.add_argument("fault", help="a YAML file with one fault or a list; at: is a delay from now; "
                                 "dryRun: true asks what it would hit without applying it")
    p.add_argument("--server", default=default, metavar="URL", help=SERVER_HELP)
    p.add_argument("--json", action="store_true", help="print each answer as the API gives it")
    p.set_defaults(func=inject)
