"""What a user installs: `pip install aks-sim` (no extras) must be enough for every command.

Three checks (the install itself, from a wheel into a fresh venv outside the tree, is
`.ci/run`'s first step):
- every import of every shipped module, lazy ones included, is the standard library, the
  project itself, or a runtime dependency; an optional extra (``dask``) only inside a function
  that catches its ImportError; never a test dependency;
- the explicit package list in pyproject.toml is every package directory of the tree;
- the wheel carries the example scenarios and studies, and no tests.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SHIPPED = ("sim", "services")


def _dist_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _top_level_names(dist: str) -> set[str]:
    """The import names a distribution provides (from the installed metadata)."""
    from importlib.metadata import packages_distributions

    return {name for name, dists in packages_distributions().items()
            if any(d.lower().replace("_", "-") == dist for d in dists)}


def _imports(path: Path) -> list[tuple[str, int, bool, bool]]:
    """(top-level module, line, inside a function, inside a try that catches ImportError)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[str, int, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            fn = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            guard = guarded
            if isinstance(child, ast.Try):
                guard = guard or any(
                    h.type is not None and "ImportError" in ast.unparse(h.type)
                    or h.type is not None and "ModuleNotFoundError" in ast.unparse(h.type)
                    for h in child.handlers)
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # type-only imports never run
            if isinstance(child, ast.Import):
                out.extend((a.name.split(".")[0], child.lineno, in_function, guard) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                out.append((child.module.split(".")[0], child.lineno, in_function, guard))
            visit(child, fn, guard)

    visit(tree, False, False)
    return out


def _shipped_modules() -> list[Path]:
    return sorted(p for pkg in SHIPPED for p in (ROOT / pkg).rglob("*.py"))


def test_runtime_imports_are_runtime_dependencies() -> None:
    """No shipped module imports a test dependency; extras only where their absence is handled."""
    runtime = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    allowed = set().union(*(_top_level_names(d) for d in runtime)) | set(SHIPPED)
    optional = set().union(*(_top_level_names(_dist_name(r)) for name, reqs in extras.items()
                             if name not in ("test", "bench") for r in reqs if "aks-sim" not in r))
    test_only = set().union(*(_top_level_names(_dist_name(r)) for r in extras["test"]
                              if "aks-sim" not in r)) - allowed
    assert "pytest" in test_only or "_pytest" in test_only  # the metadata lookup works
    problems = []
    for path in _shipped_modules():
        for module, line, in_function, guarded in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module in sys.stdlib_module_names or module in allowed or module == "__future__":
                continue
            if module in optional and in_function and guarded:
                continue
            kind = "a test dependency" if module in test_only else (
                "an optional extra, imported without handling its absence" if module in optional
                else "not a runtime dependency")
            problems.append(f"{where}: imports {module}: {kind}")
    assert not problems, "\n".join(problems)


def test_package_list_covers_every_package_directory() -> None:
    """pyproject.toml lists its packages by hand (for the examples' mapping): none forgotten."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for pkg in SHIPPED
               for p in (ROOT / pkg).rglob("*.py")}
    assert on_disk <= listed, f"not in [tool.setuptools] packages: {sorted(on_disk - listed)}"
    mapped = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package, directory in mapped.items():
        assert (ROOT / directory).is_dir(), f"{package} maps to a missing {directory}/"


def test_the_wheel_ships_the_examples_and_no_tests(tmp_path: Path) -> None:
    """Every example scenario, manifest and study is in the wheel, where services.examples
    looks for them once installed; tests are not."""
    # with build isolation: the build gets the setuptools pyproject.toml asks for (a venv's own
    # may be older than the SPDX license string needs)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                             str(tmp_path), str(ROOT)], capture_output=True, text=True,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("aks_sim-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in ("scenarios", "studies"):
        for path in (ROOT / kind).rglob("*.yaml"):
            inside = f"services/{kind}/{path.relative_to(ROOT / kind).as_posix()}"
            assert inside in names, f"{inside} is not in the wheel"
    for path in (ROOT / "services" / "static" / "swagger-ui").iterdir():  # /docs, offline
        assert f"services/static/swagger-ui/{path.name}" in names, f"{path.name} is not in the wheel"
    for stub in sorted(ROOT.glob("sim/**/__init__.pyi")):  # the faces: names load from these
        inside = stub.relative_to(ROOT).as_posix()
        assert inside in names, f"{inside} is not in the wheel (the face would be empty)"
    assert not any(n.startswith("tests/") for n in names)
    assert any(n.endswith("licenses/LICENSE") for n in names), "LICENSE is not in the wheel"
