"""What every importer shares: located errors, the scenario text being written, JSON inputs
with positions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sim import Issue
from sim.scenario import Located, Path, load_document


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """An input cannot be imported; ``issues`` say where and why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(i.render() for i in issues))
        self.issues = issues


@dataclass
class Out:
    """The scenario being written: lines with their comments, and the warnings."""

    lines: list[str] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def put(self, indent: int, key: str, value: Any, source: str | None = None) -> None:
        text = f"{'  ' * indent}{key}:" + ("" if value is None else f" {scalar(value)}")
        self.lines.append(f"{text}  # from {source}" if source else text)

    def raw(self, line: str) -> None:
        self.lines.append(line)


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return json.dumps(str(value))  # a JSON string is a YAML string, whatever it holds


def read_json(path: str) -> Located:
    """A JSON (or YAML) input with positions; ImportError_ when it is not readable or not JSON."""
    from sim.scenario import read_file

    text, problem = read_file(path)
    if problem is not None or text is None:
        raise ImportError_([problem or Issue("", "empty file", path)])
    try:
        json.loads(text)
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise ImportError_([Issue("", f"not JSON: {getattr(exc, 'msg', exc)} (expected the output "
                                      f"of `az ... -o json`)", path, line, col)]) from None
    doc, issues = load_document(text, path)
    if doc is None:
        raise ImportError_(issues)
    return doc


def get(doc: Located, path: Path) -> Any:
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node
