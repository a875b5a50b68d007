"""A package's public face, loaded lazily from its stub (Scientific Python's SPEC 1).

The face of a package is written once, as the ``from ... import ...`` lines of its
``__init__.pyi``: type checkers read the stub, and at run time :func:`attach` reads the same
lines and imports a name's module on first use. So ``import sim`` stays cheap (``aks-sim
--help`` does not load numpy or the model), and the shells can import every public name from
the face without paying for the ones they do not use.

Source: https://scientific-python.org/specs/spec-0001/ (``lazy_loader.attach_stub``).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_stub(stub: Path) -> dict[str, tuple[str, str]]:
    """Public name -> (module, name in that module), from the stub's ``from`` imports.

    The stub also lists the names in ``__all__`` (what makes a renamed import a re-export for
    type checkers); the two must agree."""
    tree = ast.parse(stub.read_text(encoding="utf-8"), str(stub))
    names: dict[str, tuple[str, str]] = {}
    listed: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["__all__"]:
            listed = list(ast.literal_eval(node.value))
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module == "__future__":
            continue
        for alias in node.names:
            public = alias.asname or alias.name
            if public in names:
                raise ImportError(f"{stub}:{node.lineno}: {public!r} is on the face twice")
            names[public] = (node.module, alias.name)
    if sorted(listed) != sorted(names):
        raise ImportError(f"{stub}: __all__ must list exactly the names imported above it "
                          f"(missing {sorted(set(names) - set(listed))}, "
                          f"extra {sorted(set(listed) - set(names))})")
    return names


def attach(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]],
                                                  list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for *package*, from its ``__init__.pyi``."""
    names = read_stub(Path(init_file).with_suffix(".pyi"))
    loaded: dict[str, Any] = {}

    def __getattr__(attr: str) -> Any:
        if attr in loaded:
            return loaded[attr]
        where = names.get(attr)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(where[0]), where[1])
        loaded[attr] = value
        return value

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__, sorted(names)
