"""Pydantic validation errors -> compiler-style issues that say what was expected."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from sim.errors import Issue
from sim.scenario.yamlmarks import Located, Path

_PATTERN_HINTS = {
    r"^[a-z][a-z0-9]{0,11}$": "a node pool name: lowercase letters and digits, starting with "
                              "a letter, at most 12 characters",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "a DNS-1123 label: lowercase letters, digits and '-', "
                                         "starting and ending with a letter or digit",
}


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _models(tp: Any) -> list[type[BaseModel]]:
    """Every pydantic model a (possibly wrapped) annotation can hold."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _models(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _models(a)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _element(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _element(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_element(a) for a in typing.get_args(tp))]  # noqa: UP007
    if origin in (list, dict):
        return typing.get_args(tp)[-1]
    return tp


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _fits(model: type[BaseModel], data: Any) -> bool:
    """False when *data* carries a discriminator value this model does not accept."""
    if not isinstance(data, dict):
        return True
    for name, info in model.model_fields.items():
        key = info.alias or name
        if (typing.get_origin(info.annotation) is Literal and key in data
                and data[key] not in typing.get_args(info.annotation)):
            return False
    return True


def allowed_keys(root: type[BaseModel], path: Path, data: Any) -> list[str]:
    """The keys a mapping at *path* may have, given the document *data*."""
    candidates: list[Any] = [root]
    node = data
    for part in path:
        nxt: list[Any] = []
        for c in candidates:
            if isinstance(part, int):
                nxt.append(_element(c))
            else:
                for m in _models(c):
                    if _fits(m, node):
                        ann = _field(m, part)
                        if ann is not None:
                            nxt.append(ann)
        candidates = nxt
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None
    keys: list[str] = []
    for c in candidates:
        for m in _models(c):
            if _fits(m, node):
                keys += [info.alias or n for n, info in m.model_fields.items()]
    return sorted(set(keys))


def _has(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _message(err: dict[str, Any], root: type[BaseModel], doc: Located,
             path: Path) -> tuple[str, bool]:
    """(message, point at the key rather than the value)."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, path[:-1], doc.data)
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (f"unknown key {path[-1]!r}{hint} expected one of: {', '.join(allowed)}", True)
    if kind == "missing":
        return ("required key is missing", False)
    if kind in ("value_error", "assertion_error"):
        return (str(ctx.get("error", err["msg"])), False)
    if kind == "literal_error":
        return (f"expected {ctx.get('expected')}, got {_show(value)}", False)
    if kind == "union_tag_invalid":
        return (f"expected {ctx.get('discriminator')} to be one of {ctx.get('expected_tags')}, "
                f"got {ctx.get('tag')!r}", False)
    if kind == "union_tag_not_found":
        return (f"expected a {ctx.get('discriminator')} key", False)
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern")), f"a string matching {ctx.get('pattern')}")
        return (f"expected {hint}, got {_show(value)}", False)
    expected = {
        "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
        "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
        "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
        "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    }.get(kind)
    if expected:
        return (f"expected {expected}, got {_show(value)}", False)
    bound = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
             "less_than": "<"}.get(kind)
    if bound:
        limit = next(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt"))
        return (f"expected a number {bound} {limit}, got {_show(value)}", False)
    if kind in ("too_short", "too_long"):
        size = ctx.get("min_length", ctx.get("max_length"))
        which = "at least" if kind == "too_short" else "at most"
        unit = "characters" if isinstance(value, str) else "items"
        return (f"expected {which} {size} {unit}, got {ctx.get('actual_length', _show(value))}",
                False)
    return (f"{err['msg']}, got {_show(value)}", False)


def issues_from(exc: ValidationError, root: type[BaseModel], doc: Located,
                prefix: Path = ()) -> list[Issue]:
    """Translate every error of *exc* (validating *root* from *doc* at *prefix*)."""
    out: list[Issue] = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], doc.data, prefix)
        message, at_key = _message(err, root, doc, loc[len(prefix):] if prefix else loc)
        if err["type"] == "union_tag_invalid":
            loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        out.append(doc.issue(loc, message, key=at_key))
    return out


def _clean_loc(loc: tuple[Any, ...], data: Any, prefix: Path) -> Path:
    """Drop the parts of a pydantic loc that are not in the YAML (union tags, validators)."""
    node = data
    for p in prefix:
        node = node[p] if isinstance(node, dict | list) and _has(node, p) else None
    out: list[str | int] = list(prefix)
    for part in loc:
        if isinstance(node, dict | list) and _has(node, part):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and "[" not in part and (
                part not in ("event", "figure", "node_failure", "zone_failure", "pod_kill",
                             "scale", "upgrade", "scale_deployment", "fixed", "uniform",
                             "normal", "exponential")):
            out.append(part)  # a missing or unknown key
            node = None
    return tuple(out)
