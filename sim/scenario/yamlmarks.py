"""YAML with positions: load a document and keep, for every path, where it was written.

PyYAML's ``compose`` keeps each node's ``start_mark``; we build the Python data from the
same nodes and index the marks by path, so an error at ``cluster.nodePools[1].maxPods``
can be shown at ``file:14:7``. Whatever the text, the result is data or located issues, never
an exception: syntax errors, bad explicit tags (``!!int abc``), alias cycles, alias bombs and
absurd nesting all become issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.kernel.errors import Issue

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


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _reader_issue(exc: yaml.reader.ReaderError, text: str, file: str) -> Issue:
    """A character YAML does not allow (NUL, ESC, form feed...), at its line and column."""
    before = text[:exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character
    code = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return Issue("", f"invalid YAML: the control character {code} is not allowed in YAML text "
                     "(remove it, or write it as an escape such as \\x1b inside double quotes)",
                 file, line, column)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


MAX_VALUES = 1_000_000
"""Values a document may expand to through aliases (``*name``) before we refuse it."""


class _TooLarge(Exception):
    """The document expands (through aliases) to more than :data:`MAX_VALUES` values."""


class _Walker:
    """Builds the Python data of a composed document and records every position."""

    def __init__(self, doc: Located, loader: _Loader, issues: list[Issue]) -> None:
        self.doc, self.loader, self.issues = doc, loader, issues
        self.active: set[int] = set()
        """Nodes on the current path (an alias back to one of them is a cycle)."""
        self.count = 0

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLarge
        self.doc.values[path] = _mark(node)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self._scalar(node, path)
        if id(node) in self.active:
            self.issues.append(Issue(render_path(path), "a YAML alias refers to a node that "
                                     "contains it (a cycle); expected plain, finite data",
                                     self.doc.file, *_mark(node)))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(n, (*path, i)) for i, n in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - !!int abc, !!bool maybe, !!timestamp x...
            tag = node.tag.rsplit(":", 1)[-1]
            why = f" ({exc})" if isinstance(exc, ValueError | TypeError | OverflowError) else ""
            self.issues.append(Issue(render_path(path), f"expected a value of YAML type {tag}, "
                                     f"got {_short(node.value)}{why}", self.doc.file,
                                     *_mark(node)))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        doc = self.doc
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.issues.append(Issue(render_path(path), "YAML merge keys (<<) are not "
                                         "supported; write the keys out", doc.file,
                                         *_mark(key_node)))
                continue
            known = len(self.issues)
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if len(self.issues) > known:
                continue
            if not isinstance(key, str | int | float | bool):
                what = "nothing (null)" if isinstance(key_node, yaml.ScalarNode) else (
                    "a mapping" if isinstance(key_node, yaml.MappingNode) else "a list")
                self.issues.append(Issue(render_path(path), f"expected a plain key (a name such "
                                         f"as maxPods), got {what}", doc.file, *_mark(key_node)))
                continue
            sub = (*path, key)
            if key in out:
                first = doc.keys[sub]
                self.issues.append(Issue(render_path(sub), f"duplicate key {key!r} (first written "
                                         f"at line {first[0]}); YAML would silently keep only "
                                         "the last", doc.file, *_mark(key_node)))
            doc.keys[sub] = _mark(key_node)
            out[key] = self.walk(value_node, sub)
        return out


_PLAIN_TOKENS = {
    "'<stream end>'": "the end of the file",
    "end of stream": "end of the file",
    "'<block end>'": "the end of the indented block",
    "<block end>": "the end of the indented block",
    "'<block mapping start>'": "a new indented mapping",
    "'<block sequence start>'": "a new indented list",
    "'<scalar>'": "a plain value",
}
"""PyYAML's token names in plain words."""

_PLAIN_WORDS = {
    "while scanning a quoted scalar": "in a quoted string",
    "while scanning a block scalar": "in a | or > text block",
    "while parsing a flow sequence": "in a [ ] list",
    "while parsing a flow mapping": "in a { } mapping",
    "while parsing a block mapping": "in a mapping",
    "while parsing a block collection": "in a list",
    "while scanning a simple key": "in a key",
}
"""PyYAML's context phrases, in the words of someone writing a scenario."""


def _syntax_issue(exc: yaml.MarkedYAMLError, file: str) -> Issue:
    """A PyYAML syntax error in plain words, at the most useful position.

    When the parser only notices the problem at the end of the file (an unclosed bracket or
    quote), point at where the unclosed construct starts, as compilers do.
    """
    problem = exc.problem or "invalid YAML"
    at_end = "<stream end>" in problem or "end of stream" in problem
    blocks = "<block end>" in problem
    for token, plain in _PLAIN_TOKENS.items():
        problem = problem.replace(token, plain)
    mark = exc.problem_mark
    context = exc.context or ""
    for jargon, plain in _PLAIN_WORDS.items():
        context = context.replace(jargon, plain)
    if at_end and exc.context_mark is not None:
        mark = exc.context_mark
        where = f" ({context} that starts here)" if context else ""
    elif context and exc.context_mark is not None:
        where = (f" ({context} that starts at line {exc.context_mark.line + 1}, "
                 f"column {exc.context_mark.column + 1})")
    else:
        where = ""
    if "'\\t'" in problem:
        problem, where = "found a tab character; indent with spaces (YAML does not allow tabs)", ""
    elif problem == "mapping values are not allowed here":
        where = " (quote a value that contains ': ', or fix the indentation)"
    elif blocks:
        where += "; check the indentation"
    mark = mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Issue("", f"invalid YAML: {problem}{where}", file, line, col)


def load_documents(text: str, file: str) -> tuple[list[Located], list[Issue]]:
    """Every YAML document of *text*, with positions; syntax errors become issues."""
    issues: list[Issue] = []
    docs: list[Located] = []
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        return [], [_reader_issue(exc, text, file)]
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = Located(file, None)
            doc.data = _Walker(doc, loader, issues).walk(node, ())
            docs.append(doc)
    except yaml.reader.ReaderError as exc:
        issues.append(_reader_issue(exc, text, file))
    except yaml.MarkedYAMLError as exc:
        issues.append(_syntax_issue(exc, file))
    except yaml.YAMLError as exc:
        issues.append(Issue("", f"invalid YAML: {exc}", file))
    except RecursionError:
        issues.append(Issue("", "the YAML is nested too deeply to read; expected a scenario "
                                "of ordinary depth", file, 1, 1))
    except _TooLarge:
        issues.append(Issue("", f"the YAML expands to more than {MAX_VALUES:,} values through "
                                "aliases (*name); expected a scenario without alias bombs",
                            file, 1, 1))
    finally:
        loader.dispose()
    return docs, issues


def load_document(text: str, file: str) -> tuple[Located | None, list[Issue]]:
    """The single YAML document of *text* (a scenario file has exactly one)."""
    docs, issues = load_documents(text, file)
    if issues:
        return None, issues
    if len(docs) > 1:
        second = docs[1].values.get((), (1, 1))
        return None, [Issue("", f"expected exactly one YAML document, got {len(docs)} (a second "
                                f"one starts at line {second[0]}; remove the extra ---)", file,
                            *second)]
    if not docs or docs[0].data is None:
        found = ("an empty document" if docs else "an empty file" if not text.strip()
                 else "a file with only comments")
        return None, [Issue("", f"expected a scenario (a mapping with duration and cluster), "
                                f"got {found}", file, 1, 1)]
    return docs[0], []
