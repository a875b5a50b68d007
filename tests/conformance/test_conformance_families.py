"""Every case of every implemented oracle family (besides azure sizing), one test each.

A family is implemented by a module ``family_<name>.py`` beside this file with

    def collect(files: list[OracleFile]) -> list[tuple[str, Callable[[], None]]]

returning one ``(case id, check)`` pair per case of the given files (``check`` raises
AssertionError when the model disagrees with the oracle). A case the module cannot run must
still be returned, as a check that fails and says why: never skipped. A file of the family
that yields no case at all fails too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conformance_loader import OracleFile, load_all

HERE = Path(__file__).resolve().parent
FILES: list[OracleFile] = load_all()


def _params() -> list[object]:
    params: list[object] = []
    for path in sorted(HERE.glob("family_*.py")):
        family = path.stem.removeprefix("family_")
        module = importlib.import_module(path.stem)
        for f in (f for f in FILES if f.family == family and f.error is None):
            cases = module.collect([f])
            if not cases:
                def empty(label: str = f.label, fam: str = family) -> None:
                    raise AssertionError(f"{label}: no case could be read from this {fam} file")
                cases = [("<no cases>", empty)]
            params += [pytest.param(check, id=f"{f.label}::{case_id}") for case_id, check in cases]
    # an empty parameter set would be a skip (CI forbids skips): say so with a passing test
    return params or [pytest.param(lambda: None, id="no-family-module-yet")]


@pytest.mark.parametrize("check", _params())
def test_family_case(check: Callable[[], None]) -> None:
    check()
