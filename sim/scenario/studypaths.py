"""Paths into a scenario document, as a study's parameters name them
(``cluster.nodePools[user].maxPods``, ``chaos[0].at``): parsed, resolved against the
document (a list entry by its ``name`` or index), and applied to a copy of it."""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

from sim.scenario.messages import allowed_keys, types_at
from sim.scenario.schema import Scenario
from sim.scenario.yamlmarks import Located, Path, render_path

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[([^\[\]]+)\]")


def parse_path(text: str) -> list[str | int] | None:
    """``cluster.nodePools[user].maxPods`` -> ``["cluster", "nodePools", "user", "maxPods"]``;
    digits in brackets are indexes. None when *text* is not a path."""
    m = _KEY.match(text)
    if m is None:
        return None
    parts: list[str | int] = [m.group()]
    pos = m.end()
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            return None
        key, bracket = m.groups()
        if key is not None:
            parts.append(key)
        else:
            inner = bracket.strip()
            parts.append(int(inner) if inner.isdigit() else inner)
        pos = m.end()
    return parts


def _entry_name(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    name = item.get("name")
    if not isinstance(name, str):
        meta = item.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def resolve_path(text: str, data: Any) -> tuple[Path | None, str | None]:
    """The scenario path *text* names in the document *data*, checked against the schema.

    Returns:
        ``(path, None)``, or ``(None, why)`` when the path is not one of the scenario.
    """
    parts = parse_path(text)
    if parts is None:
        return None, (f"expected a path such as cluster.nodePools[1].maxPods or "
                      f"cluster.nodePools[user].maxPods, got {text!r}")
    path: list[str | int] = []
    node = data
    for part in parts:
        if isinstance(node, list) and isinstance(part, str) and not types_at(
                Scenario, (*path, part), data):
            names = [_entry_name(item) for item in node]
            if part not in names:
                known = ", ".join(repr(n) for n in names if n) or "none"
                return None, (f"{render_path(tuple(path))} has no entry named {part!r} "
                              f"(names: {known})")
            if names.count(part) > 1:
                at = [i for i, n in enumerate(names) if n == part]
                return None, (f"{render_path(tuple(path))} has {len(at)} entries named "
                              f"{part!r} (at {', '.join(map(str, at))}); use an index")
            part = names.index(part)
        here = (*path, part)
        if not types_at(Scenario, here, data):
            return None, _not_in_schema(tuple(path), part, data)
        if isinstance(part, int):
            size = len(node) if isinstance(node, list) else 0
            if part >= size:
                where = render_path(tuple(path))
                return None, (f"{where} has {size} entr{'y' if size == 1 else 'ies'} in the "
                              f"scenario; expected an index below {size}" if size else
                              f"{where} has no entries in the scenario; a study varies values "
                              "of entries the scenario writes")
        path.append(part)
        node = _get(node, part)
    return tuple(path), None


def _get(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _not_in_schema(parent: Path, part: str | int, data: Any) -> str:
    where = render_path(parent) or "the top level"
    if isinstance(part, int):
        return f"{where} is not a list; expected a key, got [{part}]"
    keys = allowed_keys(Scenario, parent, data)
    if not keys:
        return f"{where} is a single value, not a mapping; expected the path to end there"
    close = difflib.get_close_matches(part, keys, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {part!r} in {where}{hint}; expected one of: {', '.join(keys)}"


def with_values(base: Located, values: list[tuple[Path, Any]]) -> Located:
    """A copy of *base* with each (path, value) set; mappings on the way are created."""
    data = copy.deepcopy(base.data)
    for path, value in values:
        node = data
        for part in path[:-1]:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)
    return Located(base.file, data, base.values, base.keys)
