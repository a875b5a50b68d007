"""Find oracle files, recognise their family, and list their cases.

The project's own cases always run: ``tests/conformance/cases`` (its own files) and
``tests/conformance/cases/published`` (a copy of the published oracle files the team was
handed, so a fresh clone needs nothing beside it). ``AKSSIM_ORACLES`` names a further directory
(relative paths from the repository root, not the working directory) whose files run in
addition; a file there identical to one of the project's runs once.
A file's family is its top-level ``family`` key when present, else its name
(``<family>_cases.yaml``), else its shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_CASES_DIR = Path(__file__).resolve().parent / "cases"
PUBLISHED_CASES_DIR = LOCAL_CASES_DIR / "published"
ORACLES_ENV = "AKSSIM_ORACLES"

AZURE_SIZING = "azure_sizing"
"""The one family this harness implements."""

_FAMILY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (AZURE_SIZING, ("sizing", "azure")),
    ("netpol", ("networkpolicy", "netpol")),
    ("ingress", ("ingress",)),
    ("kubeproxy", ("kubeproxy", "proxy")),
    ("queueing", ("queue",)),
    ("dns", ("dns",)),
)
_NAME_PATTERN = re.compile(r"^(?P<family>.+)_cases$")


def oracles_dir() -> Path | None:
    """The further oracle directory ``$AKSSIM_ORACLES`` (relative paths from the repo root), or
    None when it is not set."""
    value = os.environ.get(ORACLES_ENV)
    if not value:
        return None
    raw = Path(value)
    return raw if raw.is_absolute() else (REPO_ROOT / raw).resolve()


def family_from_word(word: str) -> str | None:
    """The family a ``family`` value or file-name stem names, or ``None``."""
    squashed = re.sub(r"[^a-z]", "", word.lower())
    for family, words in _FAMILY_WORDS:
        if any(w in squashed for w in words):
            return family
    return None


def _first_case(data: dict[str, Any]) -> dict[str, Any]:
    cases = data.get("cases")
    if isinstance(cases, list) and cases and isinstance(cases[0], dict):
        return cases[0]
    return {}


def family_from_shape(data: dict[str, Any]) -> str | None:
    """The family a file's structure implies, or ``None``."""
    if isinstance(data.get("groups"), list):
        return AZURE_SIZING
    if "record_cases" in data or "resolution_cases" in data:
        return "dns"
    case = _first_case(data)
    shapes = (
        ("netpol", ("policies", "expectations")),
        ("ingress", ("ingresses", "requests")),
        ("queueing", ("model",)),
        ("kubeproxy", ("kind",)),
        (AZURE_SIZING, ("group", "inputs")),
    )
    for family, keys in shapes:
        if all(k in case for k in keys):
            return family
    return None


def recognise_family(path: Path, data: Any) -> str:
    """Family of an oracle file: ``family`` key, else name pattern, else shape, else ``unknown``."""
    if isinstance(data, dict) and data.get("family"):
        return family_from_word(str(data["family"])) or str(data["family"])
    match = _NAME_PATTERN.match(path.name.rsplit(".", 1)[0])
    if match and family_from_word(match.group("family")):
        return family_from_word(match.group("family")) or "unknown"
    if isinstance(data, dict):
        return family_from_shape(data) or "unknown"
    return "unknown"


@dataclass
class OracleFile:
    """One loaded oracle file."""

    path: Path
    label: str
    """File name as shown in test ids (``cases/`` prefix for the project's own cases)."""
    family: str = "unknown"
    data: Any = None
    error: str | None = None


@dataclass(frozen=True)
class SizingCase:
    """One azure sizing case: the file it came from, its group and its body."""

    file: OracleFile = field(compare=False)
    group: str
    case: dict[str, Any]
    index: int

    @property
    def case_id(self) -> str:
        """The case's ``id`` (or its position when it has none)."""
        return str(self.case.get("id") or f"case-{self.index}")

    @property
    def test_id(self) -> str:
        """``file::group::case-id``."""
        return f"{self.file.label}::{self.group}::{self.case_id}"


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_file(path: Path, label: str) -> OracleFile:
    """Parse one file; a parse error is kept on the result, not raised."""
    out = OracleFile(path=path, label=label)
    try:
        out.data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        out.error = f"{path}: {err}"
        return out
    out.family = recognise_family(path, out.data)
    return out


def load_all(oracles: Path | None = None) -> list[OracleFile]:
    """Every oracle file: the project's own (``cases/``, ``cases/published/``), then those of
    *oracles* (default ``$AKSSIM_ORACLES``) that are not byte-identical to one of them."""
    own = _yaml_files(LOCAL_CASES_DIR) + _yaml_files(PUBLISHED_CASES_DIR)
    files = [load_file(p, p.relative_to(LOCAL_CASES_DIR.parent).as_posix()) for p in own]
    known = {p.read_bytes() for p in own}
    extra = oracles or oracles_dir()
    files += [load_file(p, p.name) for p in (_yaml_files(extra) if extra else [])
              if p.read_bytes() not in known]
    return files


def _groups(data: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    for g in data.get("groups") or []:
        if isinstance(g, dict):
            yield str(g.get("group", "<no group>")), list(g.get("cases") or [])
    flat = data.get("cases")
    if isinstance(flat, list):  # a flat list of cases, each naming its group
        for case in flat:
            if isinstance(case, dict):
                yield str(case.get("group", "<no group>")), [case]


def sizing_cases(files: list[OracleFile]) -> list[SizingCase]:
    """Every case of every azure sizing file, in file order."""
    out: list[SizingCase] = []
    for f in files:
        if f.family != AZURE_SIZING or not isinstance(f.data, dict):
            continue
        for group, cases in _groups(f.data):
            out += [SizingCase(f, group, c if isinstance(c, dict) else {"id": None, "bad": c}, i)
                    for i, c in enumerate(cases)]
    return out


def count_cases(data: Any) -> int:
    """Cases in a file of any family: items with an ``id`` in its top-level lists and groups."""
    if not isinstance(data, dict):
        return 0
    total = 0
    for value in data.values():
        if not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, dict) and "id" in item:
                total += 1
            elif isinstance(item, dict) and isinstance(item.get("cases"), list):
                total += len(item["cases"])
    return total


def implemented_families() -> set[str]:
    """Azure sizing, plus every family with a ``family_<name>.py`` module beside this file."""
    here = Path(__file__).resolve().parent
    return {AZURE_SIZING} | {p.stem.removeprefix("family_") for p in here.glob("family_*.py")}


def unimplemented_families(files: list[OracleFile]) -> dict[str, list[OracleFile]]:
    """Loaded files of every family the harness does not implement yet, by family."""
    done = implemented_families()
    out: dict[str, list[OracleFile]] = {}
    for f in files:
        if f.error is None and f.family not in done:
            out.setdefault(f.family, []).append(f)
    return out


def family_warning(family: str, files: list[OracleFile]) -> str:
    """The one warning line of a family the harness does not implement yet."""
    names = ", ".join(f.label for f in files)
    cases = sum(count_cases(f.data) for f in files)
    return f"conformance: family '{family}' ({names}, {cases} cases) not implemented yet"
