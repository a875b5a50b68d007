"""The layer rule of DESIGN.md, as a test: the core does no I/O and never looks up.

- The core (``sim/*.py``) imports no asyncio, sockets, network clients, file or process
  modules, never reads the wall clock or the global random generator, and never imports the
  telemetry sinks, the shells, or the scenario *loader* (only the scenario's data modules:
  schema, manifests, units, loaded, figures).
- The scenario loader (``sim/scenario``) may read files, and nothing else.
- Telemetry (``sim/telemetry``) may use prometheus_client and structlog, never asyncio or a
  socket; the shells (``services``) are the only place for those.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETWORK = {"asyncio", "socket", "ssl", "selectors", "aiomqtt", "paho", "fastapi", "uvicorn",
           "starlette", "httpx", "requests", "urllib", "http", "aiohttp"}
PROCESS = {"subprocess", "threading", "multiprocessing", "concurrent", "signal"}
FILES = {"os", "io", "pathlib", "shutil", "tempfile", "glob"}
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter"),
               ("time", "sleep"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
SCENARIO_DATA = {"sim.scenario.schema", "sim.scenario.manifests", "sim.scenario.units",
                 "sim.scenario.loaded", "sim.scenario.figures"}


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _violations(path: Path, forbidden_roots: set[str], *, core: bool) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = path.relative_to(ROOT)
    bad = []
    for line, name in _imports(tree):
        root = name.split(".")[0]
        if root in forbidden_roots or root == "services":
            bad.append(f"{rel}:{line}: imports {name}")
        if name.startswith("sim.telemetry"):
            bad.append(f"{rel}:{line}: imports the telemetry layer ({name})")
        if core and name.startswith("sim.scenario") and name != "sim.scenario" and not any(
                name == d or name.startswith(d + ".") for d in SCENARIO_DATA):
            bad.append(f"{rel}:{line}: the core imports the scenario loader ({name})")
        if core and name == "sim.scenario":
            bad.append(f"{rel}:{line}: the core imports the scenario loader package")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if (f.value.id, f.attr) in CLOCK_CALLS:
                    bad.append(f"{rel}:{node.lineno}: reads the wall clock ({f.value.id}.{f.attr})")
                if f.value.id == "random" and f.attr != "Random":
                    bad.append(f"{rel}:{node.lineno}: uses the global random generator")
            if core and isinstance(f, ast.Name) and f.id in ("open", "print", "input"):
                bad.append(f"{rel}:{node.lineno}: calls {f.id}()")
    return bad


CORE = sorted(p for p in (ROOT / "sim").rglob("*.py")
              if p.relative_to(ROOT / "sim").parts[0] not in ("scenario", "telemetry"))
LOADER = sorted((ROOT / "sim" / "scenario").rglob("*.py"))
TELEMETRY = sorted((ROOT / "sim" / "telemetry").glob("*.py"))


FACE_LOADER = ROOT / "sim" / "kernel" / "face.py"


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT / "sim")))
def test_core_module_does_no_io_and_imports_downward_only(path: Path) -> None:
    """A core module runs with no broker, no HTTP, no disk and no wall clock.

    One exception: the face loader reads its package's own ``__init__.pyi`` at import time
    (as Python reads the ``.py`` files), so it may use pathlib; nothing else."""
    files = FILES - {"pathlib"} if path == FACE_LOADER else FILES
    assert _violations(path, NETWORK | PROCESS | files | {"time"}, core=True) == []


@pytest.mark.parametrize("path", LOADER, ids=lambda p: p.name)
def test_scenario_loader_reads_files_but_does_no_network(path: Path) -> None:
    """The loader may read scenario and manifest files, nothing more."""
    assert _violations(path, NETWORK | PROCESS | {"time"}, core=False) == []


@pytest.mark.parametrize("path", TELEMETRY, ids=lambda p: p.name)
def test_telemetry_uses_no_asyncio_or_sockets(path: Path) -> None:
    """Sinks are subscribers; the I/O loop lives in services/."""
    bad = [v for v in _violations(path, NETWORK | PROCESS, core=False)
           if "telemetry layer" not in v]
    assert bad == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    """The guard itself can fail: a module reading the clock and a socket is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("import socket\nimport time\nx = time.time()\nfrom sim.scenario import load\n")
    moved = ROOT / "sim" / "_layer_probe.py"
    moved.write_text(bad.read_text())
    try:
        found = _violations(moved, NETWORK | FILES | {"time"}, core=True)
    finally:
        moved.unlink()
    assert any("socket" in v for v in found)
    assert any("wall clock" in v for v in found)
    assert any("scenario loader" in v for v in found)


# --- the floors and the face, as import-linter contracts (.importlinter) ---------------------

def _lint(config: Path) -> int:
    from importlinter.cli import lint_imports

    return lint_imports(config_filename=str(config), no_cache=True)


def test_import_linter_contracts_hold() -> None:
    """Every contract of .importlinter is kept: the shells use the face, the floors point down."""
    assert _lint(ROOT / ".importlinter") == 0


def test_the_contracts_catch_a_shell_reaching_behind_the_face() -> None:
    """The contract can fail: a shell module importing a room behind the face breaks it."""
    probe = ROOT / "services" / "_face_probe.py"
    probe.write_text("from sim.views.reach import reachability\n")
    try:
        assert _lint(ROOT / ".importlinter") != 0
    finally:
        probe.unlink()


FACES = {"sim": ROOT / "sim" / "__init__.pyi", "sim.telemetry": ROOT / "sim" / "telemetry" / "__init__.pyi"}


@pytest.mark.parametrize("package", sorted(FACES))
def test_every_name_on_a_face_loads(package: str) -> None:
    """Each name the stub promises is there at run time, and nothing else is on the face."""
    import importlib

    from sim.kernel.face import read_stub

    module = importlib.import_module(package)
    names = read_stub(FACES[package])
    assert sorted(names) == module.__all__ == dir(module)
    for public, (where, name) in names.items():
        assert getattr(module, public) is getattr(importlib.import_module(where), name)
    with pytest.raises(AttributeError, match="no attribute 'not_on_the_face'"):
        _ = module.not_on_the_face


def test_importing_the_face_loads_nothing_heavy() -> None:
    """``import sim`` (what ``aks-sim --help`` pays) loads no numpy, SimPy or pydantic."""
    import subprocess
    import sys

    code = ("import sys, sim, sim.telemetry; "
            "print(sorted(m for m in ('numpy', 'simpy', 'pydantic', 'sim.engine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.strip()
    assert out == "[]"


def _sim_children() -> set[str]:
    return {p.stem if p.is_file() else p.name for p in (ROOT / "sim").iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}


def test_every_room_of_sim_has_a_floor_and_a_row() -> None:
    """A layers contract only constrains the rooms it names: every package and module of sim/
    is on a floor of .importlinter, and has its row in docs/architecture.md's table."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:sim-floors"]["layers"]
    floors = {name.strip() for line in layers.splitlines() for name in line.split("|") if name.strip()}
    children = _sim_children()
    assert children - floors == set(), "rooms of sim/ on no floor of .importlinter"
    assert floors - children == set(), "floors of .importlinter naming no room of sim/"
    table = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [c for c in sorted(children) if f"| `{c}/` |" not in table and f"| `{c}.py` |" not in table]
    assert missing == [], "rooms of sim/ without a row in docs/architecture.md"
