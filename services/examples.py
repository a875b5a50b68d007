"""The example scenarios and studies that ship with aks-sim.

In a source tree they are ``scenarios/`` and ``studies/`` beside ``pyproject.toml``; an
installed wheel carries the same files as package data (``services/scenarios``,
``services/studies``; see ``[tool.setuptools.package-dir]`` in pyproject.toml).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_SOURCE = _HERE.parent


def examples_dir(kind: str) -> Path:
    """``scenarios`` or ``studies``: the source tree's directory, else the installed one."""
    source = _SOURCE / kind
    if (_SOURCE / "pyproject.toml").is_file() and source.is_dir():
        return source
    return _HERE / kind


def example_names(kind: str = "scenarios") -> list[str]:
    """The shipped examples' names (file stems), sorted."""
    return sorted(p.stem for p in examples_dir(kind).glob("*.yaml"))


def find_example(name: str, kind: str = "scenarios") -> Path | None:
    """The shipped example called *name* (``zone-failure`` or ``zone-failure.yaml``), or None."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    path = examples_dir(kind) / f"{stem}.yaml"
    return path if path.is_file() else None


def scenario_path(arg: str, kind: str = "scenarios") -> str:
    """*arg* when it names a file; else the shipped example it names (``zone-failure``, or
    ``scenarios/zone-failure.yaml`` outside a source tree), said on stderr; else *arg*."""
    if os.path.exists(arg):
        return arg
    head, tail = os.path.split(arg)
    example = find_example(tail, kind) if head in ("", kind) else None
    if example is None:
        return arg
    if head or arg.endswith(".yaml"):
        print(f"{arg}: no such file here; using the shipped example {example}", file=sys.stderr)
    return str(example)
