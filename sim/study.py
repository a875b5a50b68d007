"""One run of a study: a scenario, a seed, and the figures to collect, as one row.

Pure and deterministic like the rest of the core: the same scenario, parameters and seed give
the same row on any machine, in any process. The shell (``services/sweep.py``) adds the wall
time and decides where the run happens (local processes or a Dask cluster). Workers return
this row, never the event log, so memory stays bounded however long the study.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sim.engine import Simulation
from sim.scenario.loaded import LoadedScenario

Row = dict[str, Any]
"""Column -> value; values are str, int, float, bool or None (an empty cell)."""

STATUS_OK, STATUS_FAILED, STATUS_INVALID = "ok", "failed", "invalid"
"""``ok``: the run finished (``passed`` says whether ``expect:`` holds); ``failed``: the
simulation raised (``error`` says what and where); ``invalid``: this combination of
parameter values makes the scenario invalid (``error`` lists the issues)."""


def run_one(scenario: LoadedScenario, params: Mapping[str, Any], seed: int,
            figures: Sequence[str], *, run_id: str = "sweep",
            observe: Callable[[Simulation], object] | None = None) -> Row:
    """Run *scenario* (already carrying the values of *params*) with *seed* to its end.

    Args:
        scenario: the study's variant of the base scenario.
        params: parameter column -> value, copied into the row.
        seed: the run's seed (overrides the scenario's).
        figures: figure names (``expect:`` names, ``first.<Reason>``, ``count.<Reason>``).
        run_id: the run id stamped on the run's events.
        observe: called with the Simulation before it runs (a shell subscribing a sink to
            keep the event log); it must only observe.

    Returns:
        The row: the parameters, ``seed``, ``status``, ``passed``, ``error``, ``events``,
        ``warnings`` and one column per figure. A run that raises is a row with
        ``status: failed`` and its error, never an exception.
    """
    row: Row = {**params, "seed": seed}
    try:
        sim = Simulation(scenario, seed=seed, run_id=run_id)
        if observe is not None:
            observe(sim)
        report = sim.run()
        values = collect(report.figures, sim.recorder.events, figures)
        row.update(status=STATUS_OK, passed=report.passed, error=None, events=report.events,
                   warnings=int(report.figures.get("events.warnings", 0)), **values)
    except Exception as exc:  # a bug or a fault that cannot apply: a row, not a crash
        row.update(failed_row(describe(exc), figures))
    finally:
        # Simulation froze the cluster's objects for the run (gc.freeze); a worker runs many
        # runs, so hand them back to the collector, or memory grows with every run. The next
        # run's start collects them (Simulation runs gc.collect() before gc.freeze()), so no
        # collection here: it would cost a full pass (~20 ms) per run.
        gc.unfreeze()
    return row


def failed_row(error: str, figures: Sequence[str], status: str = STATUS_FAILED) -> Row:
    """The columns of a run that produced no figures."""
    return {"status": status, "passed": None, "error": error, "events": None,
            "warnings": None, **dict.fromkeys(figures)}


def describe(exc: BaseException) -> str:
    """``ModelError: message (at sim/traffic/controller.py:123 in _resolve)``: enough to find it."""
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:  # the innermost frame: where it broke
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        file = code.co_filename
        cut = max(file.rfind("/sim/"), file.rfind("/services/"))
        where = f" (at {file[cut + 1:] if cut >= 0 else file}:{tb.tb_lineno} in {code.co_name})"
    message = str(exc).strip().replace("\n", "; ") or "no message"
    return f"{type(exc).__name__}: {message}{where}"


def collect(figs: Mapping[str, float], events: Sequence[tuple[float, str, str, str]],
            names: Sequence[str]) -> Row:
    """The value of every figure in *names*; None when the run has no such figure (a NaN
    latency of a flow that saw no request, a ``first.<Reason>`` that never happened)."""
    out: Row = {}
    first: dict[str, float] = {}
    count: dict[str, int] = {}
    for t, reason, _obj, _type in events:
        first.setdefault(reason, t)
        count[reason] = count.get(reason, 0) + 1
    for name in names:
        kind, _, reason = name.partition(".")
        if kind == "first":
            at = first.get(reason)
            out[name] = None if at is None else float(at)
        elif kind == "count":
            out[name] = count.get(reason, 0)
        else:
            value = figs.get(name)
            out[name] = None if value is None or (isinstance(value, float)
                                                  and math.isnan(value)) else value
    return out
