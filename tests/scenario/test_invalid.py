"""The invalid-scenario catalogue: every file is one mistake, and its message is the spec.

Each ``invalid/<what-is-wrong>.yaml`` has an adjacent ``.expected`` holding exactly what
``aks-sim validate`` prints for it (compiler-style, ``file:line:col: path: message``), with
paths relative to the repository root, which is where these tests run the real console
script. ``warnings/`` holds scenarios that are valid but that AKS would object to: they exit
0 and still print their warnings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))
WARNINGS = sorted((HERE / "warnings").glob("*.yaml"))
EXIT_INVALID = 2


def _script() -> str:
    """The installed ``aks-sim`` console script of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("aks-sim")
    found = str(beside) if beside.exists() else shutil.which("aks-sim")
    assert found, "the aks-sim console script is not installed (pip install -e .)"
    return found


def _aks_sim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([_script(), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _expected(path: Path) -> str:
    return path.with_suffix(".expected").read_text(encoding="utf-8")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_catalogue_is_complete() -> None:
    """At least 30 invalid scenarios, each with its .expected (and no .expected orphaned)."""
    assert len(INVALID) >= 30
    for folder in ("invalid", "warnings"):
        yamls = {p.stem for p in (HERE / folder).glob("*.yaml")}
        expected = {p.stem for p in (HERE / folder).glob("*.expected")}
        assert yamls == expected, f"{folder}: yaml without .expected or .expected without yaml"
    assert len(WARNINGS) >= 4


@pytest.mark.parametrize("scenario", INVALID, ids=_ids(INVALID))
def test_validate_lists_every_issue(scenario: Path) -> None:
    """`aks-sim validate` prints exactly the expected issues and exits 2, without a traceback."""
    result = _aks_sim("validate", _rel(scenario))
    assert "Traceback" not in result.stderr
    assert result.stdout == _expected(scenario)
    assert result.returncode == EXIT_INVALID


@pytest.mark.parametrize("scenario", INVALID, ids=_ids(INVALID))
def test_run_refuses_invalid_scenario(scenario: Path, tmp_path: Path) -> None:
    """`aks-sim run` exits 2 with the same issues on stderr, and writes nothing."""
    out = tmp_path / "out"
    result = _aks_sim("run", _rel(scenario), "--out", str(out), "--quiet")
    assert "Traceback" not in result.stderr
    assert result.stderr == _expected(scenario)
    assert result.stdout == ""
    assert result.returncode == EXIT_INVALID
    assert not out.exists()


@pytest.mark.parametrize("scenario", WARNINGS, ids=_ids(WARNINGS))
def test_validate_prints_warnings_and_passes(scenario: Path) -> None:
    """A scenario AKS would object to is still valid: exit 0, with the warnings printed."""
    result = _aks_sim("validate", _rel(scenario))
    assert "Traceback" not in result.stderr
    assert result.stdout == _expected(scenario)
    assert all(": warning: " in line for line in result.stdout.splitlines())
    assert result.returncode == 0
