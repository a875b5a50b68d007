"""``aks-sim``: the one command. Each family of subcommands is a module of this package:

- :mod:`services.cli.run`: ``run``, ``sweep``;
- :mod:`services.cli.inspect`: ``validate``, ``schema``, ``reach``, ``route``;
- :mod:`services.cli.records`: ``export``, ``replay``, ``watch``, ``report``;
- :mod:`services.cli.author`: ``examples``, ``import``;
- :mod:`services.cli.plan`: ``plan``;
- :mod:`services.cli.serve`: ``serve``; :mod:`services.cli.remote`: ``runs``, ``stop``,
  ``inject``, ``run --server``;
- here: ``completion``, and :func:`main` and :func:`build_parser`.

Exit codes (:mod:`services.cli.common`): 0 success (every ``expect`` holds), 1 an expectation
failed, 2 invalid input (unreadable file, invalid scenario, bad flags), 130 interrupted. A
user's mistake never prints a traceback.

``aks-sim --help`` builds every parser, so the command modules import only the standard
library at the top; the model, numpy, pydantic, httpx and FastAPI load inside the commands.
"""

from __future__ import annotations

import argparse
import sys

from services.cli import author, inspect, plan, records, remote, run, serve
from services.cli.common import EXIT_INTERRUPTED, EXIT_OK, Parser

__all__ = ["build_parser", "main"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aks-sim")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


def cmd_completion(args: argparse.Namespace) -> int:
    """Print a completion script for bash or zsh (built from this parser: always in step)."""
    from services.cli.completion import script

    print(script(build_parser(), args.shell))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (in the order ``--help`` lists them)."""
    parser = Parser(prog="aks-sim", description="Simulate the networking of an AKS cluster.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run.add_run(sub)
    inspect.add_validate(sub)
    inspect.add_reach(sub)
    inspect.add_route(sub)
    records.add_export(sub)
    records.add_replay(sub)
    records.add_watch(sub)
    inspect.add_schema(sub)
    author.add_examples(sub)
    completion = sub.add_parser("completion", help="print a shell completion script "
                                                    "(eval \"$(aks-sim completion bash)\")")
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(func=cmd_completion)
    plan.add_parser(sub)
    author.add_import(sub)
    serve.add_serve(sub)
    remote.add_parsers(sub)
    run.add_sweep(sub)
    records.add_report(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``aks-sim`` script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
