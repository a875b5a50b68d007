"""Shared fixtures (helpers live in simkit.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from simkit import Run, make_sim


@pytest.fixture
def simulate() -> Callable[..., Run]:
    """``simulate(yaml_text, until=None, seed=None) -> Run``: run a scenario (to *until*)."""

    def run(text: str, until: float | None = None, seed: int | None = None) -> Run:
        sim, events = make_sim(text, seed=seed)
        sim.advance_to(sim.end if until is None else until)
        return Run(sim, events)

    return run
