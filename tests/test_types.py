"""mypy over the whole project, as a test (issue 12: lenient on all, strict on the kernel and
the rule books).

The levels live in ``pyproject.toml`` (``[tool.mypy]``): mypy's defaults for ``sim`` and
``services``, the flags of ``--strict`` one by one for ``sim.kernel``, the rule books
(``sim.sizing``, ``sim.dns``, ``sim.kubeproxy``, ``sim.ingress``, ``sim.netpol``) and the
low-level pure modules (``sim.azure``, ``sim.queueing``, ``sim.events``, ``sim.outcomes``,
``sim.versions``). The second test shows the check has teeth: a file placed as a strict
module is reported for what only the strict level forbids, and for a plain type error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"


def _mypy(*args: str) -> tuple[str, int]:
    stdout, stderr, status = api.run(["--config-file", str(CONFIG), *args])
    return stdout + stderr, status


def test_sim_and_services_type_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the config's `files` (sim, services) are relative to the root
    out, status = _mypy()
    assert status == 0, out
    checked = re.search(r"no issues found in (\d+) source files", out)
    assert checked, out
    modules = sum(1 for top in ("sim", "services") for _ in (ROOT / top).rglob("*.py"))
    assert int(checked.group(1)) == modules, out  # every module of sim and services


PROBE = '''\
def untyped(x):
    return x


def typed(x: int) -> str:
    return x
'''


def _place(root: Path, module: str) -> Path:
    """Write PROBE as *module* (dotted) under *root*, with the packages above it."""
    *packages, name = module.split(".")
    where = root
    for package in packages:
        where = where / package
        where.mkdir(exist_ok=True)
        (where / "__init__.py").touch()
    path = where / f"{name}.py"
    path.write_text(PROBE)
    return path


def test_mypy_reports_errors_at_each_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strict = _place(tmp_path, "sim.kernel.probe")
    lenient = _place(tmp_path, "sim.views.probe")
    monkeypatch.chdir(tmp_path)  # the probes' `sim`, not the project's
    out, status = _mypy("--cache-dir", str(tmp_path / "cache"), str(strict), str(lenient))
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error: " in line]
    strict_errors = [e for e in errors if e.startswith(str(Path("sim", "kernel", "probe.py")))]
    lenient_errors = [e for e in errors if e.startswith(str(Path("sim", "views", "probe.py")))]
    assert any("[no-untyped-def]" in e for e in strict_errors), out
    assert any("[return-value]" in e for e in strict_errors), out
    assert [e for e in lenient_errors if "[return-value]" in e], out
    assert not [e for e in lenient_errors if "[no-untyped-def]" in e], out
