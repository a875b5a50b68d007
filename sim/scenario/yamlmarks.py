"""YAML with positions: load a document and keep, for every path, where it was written.

PyYAML's ``compose`` keeps each node's ``start_mark``; we build the Python data from the
same nodes and index the marks by path, so an error at ``cluster.nodePools[1].maxPods``
can be shown at ``file:14:7``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.errors import Issue

Path = tuple[str | int, ...]


@dataclass
class Located:
    """A loaded YAML document and the positions of its keys and values."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Path -> (line, column) of the value, 1-based."""
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Path -> (line, column) of the mapping key that introduced it."""

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of *path*, or of its nearest written ancestor when it is missing."""
        p = tuple(path)
        while p:
            if key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))

    def issue(self, path: Path, message: str, *, key: bool = False,
              severity: str = "error") -> Issue:
        """An :class:`Issue` at *path* of this document."""
        line, col = self.locate(path, key=key)
        return Issue(render_path(path), message, self.file, line, col, severity)


def render_path(path: Path) -> str:
    """``("cluster", "nodePools", 1, "maxPods")`` -> ``cluster.nodePools[1].maxPods``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves timestamps as strings (a scenario's times are ours to parse)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path, doc: Located, loader: _Loader,
          issues: list[Issue]) -> Any:
    doc.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                issues.append(Issue(render_path(path), "YAML merge keys (<<) are not supported; "
                                    "write the keys out", doc.file, *_mark(key_node)))
                continue
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                issues.append(Issue(render_path(path), f"expected a plain key, got {key!r}",
                                    doc.file, *_mark(key_node)))
                continue
            sub = (*path, key)
            if key in out:
                first = doc.keys[sub]
                issues.append(Issue(render_path(sub), f"duplicate key {key!r} (first written at "
                                    f"line {first[0]}); YAML would silently keep only the last",
                                    doc.file, *_mark(key_node)))
            doc.keys[sub] = _mark(key_node)
            out[key] = _walk(value_node, sub, doc, loader, issues)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(n, (*path, i), doc, loader, issues) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_documents(text: str, file: str) -> tuple[list[Located], list[Issue]]:
    """Every YAML document of *text*, with positions; syntax errors become issues."""
    issues: list[Issue] = []
    docs: list[Located] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = Located(file, None)
            doc.data = _walk(node, (), doc, loader, issues)
            docs.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        issues.append(Issue("", f"invalid YAML: {problem}{context}", file, line, col))
    except yaml.YAMLError as exc:
        issues.append(Issue("", f"invalid YAML: {exc}", file))
    finally:
        loader.dispose()
    return docs, issues


def load_document(text: str, file: str) -> tuple[Located | None, list[Issue]]:
    """The single YAML document of *text* (a scenario file has exactly one)."""
    docs, issues = load_documents(text, file)
    if issues:
        return None, issues
    if len(docs) != 1:
        found = "no document" if not docs else f"{len(docs)} documents"
        return None, [Issue("", f"expected exactly one YAML document, got {found}", file, 1, 1)]
    return docs[0], []
