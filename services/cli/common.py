"""What every ``aks-sim`` command shares: the exit codes, the scenario argument, the argparse types.

Exit codes (one set for every command): 0 success (every ``expect`` holds), 1 something the
command checks failed (an expectation, a run of a sweep, a replay that differs, the service's
own failure), 2 invalid input (an unreadable file, an invalid scenario, bad flags, a service
that cannot be reached), 130 interrupted. A user's mistake never prints a traceback.

Light on purpose: every command module imports this one when ``aks-sim --help`` builds the
parser, so the model, numpy and pydantic are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

EXIT_OK = 0
"""Success: every ``expect`` of the scenario holds."""
EXIT_FAILED = 1
"""What the command checks failed: an expectation, a sweep's run, a replay's byte-for-byte
comparison, a route no one answers, the service's answer."""
EXIT_INVALID = 2
"""Invalid input: an unreadable file, an invalid scenario, bad flags (argparse's own code)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as a shell reports it)."""

SCENARIO_HELP = "scenario YAML file, or the name of a shipped example (aks-sim examples lists them)"


def print_issues(issues: list, stream: TextIO) -> None:
    """Each issue on its own line, compiler-style (``file:line:col: field: ...``)."""
    for issue in issues:
        print(issue.render(), file=stream)


def read_scenario(path: str):  # noqa: ANN201 - Bundle, imported lazily
    """The scenario at *path* with every file it references, or None after printing the issues."""
    from sim import ScenarioError
    from sim.scenario import read_bundle

    try:
        return read_bundle(path)
    except ScenarioError as exc:
        print_issues(exc.issues, sys.stderr)
        return None


def load_scenario(path: str, bundle=None):  # noqa: ANN001, ANN201 - LoadedScenario, imported lazily
    """The scenario at *path*, or None after printing every issue (exit 2 follows)."""
    from sim import ScenarioError
    from sim.scenario import load_bundle

    bundle = bundle or read_scenario(path)
    if bundle is None:
        return None
    try:
        return load_bundle(bundle)
    except ScenarioError as exc:
        print_issues(exc.issues, sys.stderr)
        return None


def seed_arg(text: str) -> int:
    """``--seed``: numpy's range, 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {2**32 - 1}, "
                                         f"found {text!r:.60}")
    return value


def speed_arg(text: str) -> float:
    """``--speed``: a finite pace in the pacer's range (NaN, inf and 1e-300 are refused)."""
    from services.live.pacer import speed_problem

    try:
        value: object = float(text)
    except ValueError:
        value = text
    problem = speed_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return float(text)


def whole_arg(low: int, high: int):  # noqa: ANN201 - an argparse type
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


class Parser(argparse.ArgumentParser):
    """argparse, exiting with 2 and one line per problem (never a traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")
