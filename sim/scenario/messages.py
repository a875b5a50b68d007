"""Pydantic validation errors -> compiler-style issues that say what was expected.

Pydantic's error ``loc`` mixes the keys the user wrote with labels of its own: the tag of a
discriminated union (``chaos[0].zone_failure.zone``), the member name of a plain union
(``workloads[0].ManifestFile``), ``[key]`` for a bad mapping key. We walk the ``loc`` along
the *types* of the schema, so a label is dropped because it stands at a union, never because
it happens to look like (or unlike) a key of the document.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic.fields import FieldInfo

from sim.kernel.errors import Issue
from sim.scenario.units import yaml11_hint
from sim.scenario.yamlmarks import Located, Path

_POOL_NAME = r"^[a-z][a-z0-9]{0,11}$"
_PATTERN_HINTS = {
    _POOL_NAME: "a node pool name: lowercase letters and digits, starting with a letter, at "
                "most 12 characters",
    r"^/": "a path starting with '/' (an HTTP origin-form target)",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "a DNS-1123 label: lowercase letters, digits and '-', "
                                         "starting and ending with a letter or digit",
}
_UNIONS = (typing.Union, types.UnionType)
_EXPECTED_GOT = re.compile(r"^expected (?P<what>.+), got (?P<got>.+)$")


# --- the schema's types ----------------------------------------------------------------

def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """*tp* without ``Annotated`` and ``| None``, and the metadata that was around it."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], [*meta, *args[1:]]
            continue
        if origin in _UNIONS:
            rest = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(rest) == 1:
                tp = rest[0]
                continue
        return tp, meta


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _discriminator(meta: list[Any]) -> Any:
    """The discriminator of a union: a field name, a :class:`Discriminator`, or None."""
    for m in meta:
        if isinstance(m, Discriminator):
            return m
        if isinstance(m, FieldInfo) and m.discriminator is not None:
            return m.discriminator
    return None


def _literals(model: type[BaseModel], key: str) -> list[Any]:
    ann = _field(model, key)
    base = _strip(ann)[0] if ann is not None else None
    return list(typing.get_args(base)) if typing.get_origin(base) is Literal else []


def _members(tp: Any) -> tuple[list[tuple[Any, set[str]]], Any] | None:
    """For a union: its members with the labels pydantic may put in a ``loc`` for each,
    and the discriminator. None when *tp* is not a union."""
    base, meta = _strip(tp)
    if typing.get_origin(base) not in _UNIONS:
        return None
    disc = _discriminator(meta)
    out: list[tuple[Any, set[str]]] = []
    for arg in typing.get_args(base):
        if arg is type(None):
            continue
        inner, arg_meta = _strip(arg)
        labels = {m.tag for m in arg_meta if isinstance(m, Tag)}
        if isinstance(disc, str) and _is_model(inner):
            labels |= {str(v) for v in _literals(inner, disc)}
        origin = typing.get_origin(inner) or inner
        labels.add(getattr(origin, "__name__", str(origin)))
        out.append((arg, labels))
    return out, disc


def _field(model: type[BaseModel], key: str | int) -> Any:
    """The annotation of *model*'s field written *key*, with the metadata pydantic took off."""
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            meta: list[Any] = list(info.metadata)
            if isinstance(info.discriminator, str):
                meta.append(FieldInfo(discriminator=info.discriminator))
            elif info.discriminator is not None:
                meta.append(info.discriminator)
            return typing.Annotated[(info.annotation, *meta)] if meta else info.annotation
    return None


def _child(tp: Any, part: str | int) -> list[Any]:
    """The types found under key or index *part* of a value of type *tp*."""
    base = _strip(tp)[0]
    if _is_model(base):
        ann = _field(base, part)
        return [] if ann is None else [ann]
    origin = typing.get_origin(base)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int):
        return [typing.get_args(base)[0]]
    if origin is dict:
        return [typing.get_args(base)[-1]]
    if base is Any:
        return [Any]
    return []


def _select(members: list[tuple[Any, set[str]]], disc: Any, node: Any) -> list[Any]:
    """The union members that *node* (the user's data) is meant to be."""
    chosen: list[Any] = []
    if isinstance(disc, str) and isinstance(node, dict) and disc in node:
        chosen = [tp for tp, labels in members if str(node[disc]) in labels]
    elif isinstance(disc, Discriminator) and callable(disc.discriminator):
        try:
            tag = disc.discriminator(node)
        except Exception:  # the schema's own function, given anything the user wrote
            tag = None
        chosen = [tp for tp, labels in members if tag in labels]
    elif isinstance(node, dict):
        chosen = [tp for tp, _ in members if _is_model(_strip(tp)[0])
                  and _fits(_strip(tp)[0], node)]
    return chosen or [tp for tp, _ in members]


def _resolve(candidates: list[Any], node: Any) -> list[Any]:
    """Replace every union among *candidates* by the members *node* is meant to be."""
    out: list[Any] = []
    for tp in candidates:
        union = _members(tp)
        out += _resolve(_select(*union, node), node) if union else [tp]
    return out


def _fits(model: type[BaseModel], data: Any) -> bool:
    """False when *data* has a key this model does not know, or a literal it does not accept."""
    if not isinstance(data, dict):
        return True
    keys = {info.alias or name for name, info in model.model_fields.items()} | set(
        model.model_fields)
    if model.model_config.get("extra") == "forbid" and not set(data) <= keys:
        return False
    for name, info in model.model_fields.items():
        key = info.alias or name
        base = _strip(info.annotation)[0]
        if (typing.get_origin(base) is Literal and key in data
                and data[key] not in typing.get_args(base)):
            return False
    return True


def _get(node: Any, part: str | int) -> Any:
    return node[part] if isinstance(node, dict | list) and _has(node, part) else None


def _has(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _types_at(root: type[BaseModel], path: Path, data: Any) -> tuple[list[Any], Any]:
    """The (union-resolved) types at *path* of *data* validated as *root*, and the node."""
    candidates: list[Any] = [root]
    node = data
    for part in path:
        candidates = [c for tp in _resolve(candidates, node) for c in _child(tp, part)]
        node = _get(node, part)
    return _resolve(candidates, node), node


def types_at(root: type[BaseModel], path: Path, data: Any) -> list[Any]:
    """The schema types a value at *path* of *data* may have (empty: not a schema path)."""
    return _types_at(root, path, data)[0]


def allowed_keys(root: type[BaseModel], path: Path, data: Any) -> list[str]:
    """The keys a mapping at *path* may have, given the document *data*."""
    candidates, _ = _types_at(root, path, data)
    keys: list[str] = []
    for tp in candidates:
        base = _strip(tp)[0]
        if _is_model(base):
            keys += [info.alias or n for n, info in base.model_fields.items()]
    return sorted(set(keys))


# --- messages --------------------------------------------------------------------------

def _show(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "an empty mapping"
        keys = [repr(k) for k in value]
        more = ", ..." if len(keys) > 6 else ""
        return f"a mapping with key{'s' if len(keys) > 1 else ''} {', '.join(keys[:6])}{more}"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML spells them
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"  # as YAML spells them
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _pool_name_problem(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if len(value) > 12:
        return f" ({len(value)} characters)"
    if any(ch.isupper() for ch in value):
        return " (uppercase letters)"
    if value[:1].isdigit():
        return " (starts with a digit)"
    return ""


def _is_int(candidates: list[Any]) -> bool:
    bases = [_strip(tp)[0] for tp in candidates]
    return bool(bases) and all(b is int for b in bases)


def _literal_hint(candidates: list[Any], value: Any) -> str:
    options = [str(v) for tp in candidates if typing.get_origin(_strip(tp)[0]) is Literal
               for v in typing.get_args(_strip(tp)[0])]
    if not isinstance(value, str) or not options:
        return ""
    by_lower = {o.lower(): o for o in options}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _tag_options(candidates: list[Any], key: str) -> list[str]:
    out: list[str] = []
    for tp in candidates:
        union = _members(tp)
        for member, _ in union[0] if union else []:
            base = _strip(member)[0]
            if _is_model(base):
                out += [repr(v) for v in _literals(base, key)]
    return out


def _message(err: dict[str, Any], root: type[BaseModel], data: Any, path: Path,
             candidates: list[Any]) -> tuple[str, bool]:
    """(message, point at the key rather than the value).

    *path* is relative to *root* and *data*; *candidates* are the types at *path*.
    """
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, path[:-1], data)
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"unknown key {path[-1]!r}{hint}; expected one of: {', '.join(allowed)}", True)
    if kind == "missing":
        return (f"required key {path[-1]!r} is missing" if path else "required key is missing",
                False)
    if kind in ("value_error", "assertion_error"):
        return (str(ctx.get("error", err["msg"])), False)
    if kind == "literal_error":
        return (f"expected {ctx.get('expected')}, got {_show(value)}"
                f"{_literal_hint(candidates, value)}", False)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return (_tag_message(kind, value, ctx, candidates), False)
    message = _value_message(kind, value, ctx, candidates)
    if message is None:
        message = f"{err['msg']}, got {_show(value)}"
    return (message, False)


def _tag_message(kind: str, value: Any, ctx: dict[str, Any], candidates: list[Any]) -> str:
    """A tagged union's tag is not one of its tags, or is not there at all."""
    if kind == "union_tag_invalid":
        tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (f"expected {ctx.get('discriminator')} to be one of {ctx.get('expected_tags')}, "
                f"got {ctx.get('tag')!r}{hint}")
    key = str(ctx.get("discriminator", "")).strip("'")
    options = _tag_options(candidates, key)
    which = f" (one of {', '.join(options)})" if options else ""
    article = "an" if key[:1].lower() in "aeiou" else "a"
    return f"expected {article} {key!r} key{which}, got {_show(value)}"


_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}
"""pydantic's type errors -> what the field expects, in words."""
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}


def _value_message(kind: str, value: Any, ctx: dict[str, Any], candidates: list[Any]) -> str | None:
    """A value of the wrong type, pattern, bound or size; None for a kind not known here."""
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        hint = _PATTERN_HINTS.get(pattern, f"a string matching {pattern}")
        why = _pool_name_problem(value) if pattern == _POOL_NAME else ""
        return f"expected {hint}, got {_show(value)}{why}"
    expected = _EXPECTED.get(kind)
    if expected:
        return f"expected {expected}, got {_show(value)}{yaml11_hint(value)}"
    if kind == "multiple_of":
        return f"expected a multiple of {ctx.get('multiple_of')}, got {_show(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {_show(value)}"
    bound = _BOUNDS.get(kind)
    if bound:
        limit = next(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt"))
        if isinstance(limit, float) and limit.is_integer() and abs(limit) < 1e15:
            limit = int(limit)  # 100000, not 100000.0
        number = "an integer" if _is_int(candidates) else "a number"
        return f"expected {number} {bound} {limit}, got {_show(value)}"
    if kind in ("too_short", "too_long"):
        size = ctx.get("min_length", ctx.get("max_length"))
        which = "at least" if kind == "too_short" else "at most"
        unit = "character" if isinstance(value, str) else "item"
        unit += "" if size == 1 else "s"
        return f"expected {which} {size} {unit}, got {ctx.get('actual_length', _show(value))}"
    return None


def issues_from(exc: ValidationError, root: type[BaseModel], doc: Located,
                prefix: Path = ()) -> list[Issue]:
    """Translate every error of *exc* (validating *root* from *doc* at *prefix*).

    Identical issues (a plain union reports each member's failure) are listed once.
    """
    data = doc.data
    for p in prefix:
        data = _get(data, p)
    out: list[Issue] = []
    for err in exc.errors(include_url=False):
        rel, candidates = _clean_loc(err["loc"], root, data)
        message, at_key = _message(err, root, data, rel, candidates)
        loc = (*prefix, *rel)
        if err["type"] == "union_tag_invalid":
            loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        issue = doc.issue(loc, message, key=at_key)
        if issue not in out:
            out.append(issue)
    return _merge_alternatives(out)


def _merge_alternatives(issues: list[Issue]) -> list[Issue]:
    """One issue per value for a plain union: ``expected an integer or a string, got [1]``.

    Pydantic reports each member of a union that rejected the value; the user wrote one value.
    """
    out: list[Issue] = []
    for issue in issues:
        prev = out[-1] if out else None
        a = _EXPECTED_GOT.match(prev.message) if prev else None
        b = _EXPECTED_GOT.match(issue.message)
        if (prev is not None and a and b and a["got"] == b["got"]
                and (prev.path, prev.line, prev.column) == (issue.path, issue.line, issue.column)):
            out[-1] = replace(prev, message=f"expected {a['what']} or {b['what']}, got {a['got']}")
        else:
            out.append(issue)
    unique: list[Issue] = []
    for issue in out:  # a union reports the same problem once per branch
        if issue not in unique:
            unique.append(issue)
    return unique


def _clean_loc(loc: tuple[Any, ...], root: type[BaseModel], data: Any) -> tuple[Path, list[Any]]:
    """The part of a pydantic *loc* that is in the YAML, and the types found there (unions
    not yet resolved).

    At a union, pydantic adds a label (the discriminator's tag, or the member's type name)
    before going into the member: that label is dropped and picks the member. ``[key]``
    (pydantic's mark of a bad mapping key) is dropped too.
    """
    node = data
    candidates: list[Any] = [root]
    out: list[str | int] = []
    for part in loc:
        unions = [u for tp in candidates if (u := _members(tp)) is not None]
        if unions:
            members = [m for members, _ in unions for m in members]
            chosen = [tp for tp, labels in members if str(part) in labels
                      or str(part).split("[")[0] in labels]
            candidates = chosen or [tp for tp, _ in members]
            continue
        if part == "[key]":
            continue
        if isinstance(node, dict | list) and _has(node, part):
            out.append(part)
        elif isinstance(node, dict):
            out.append(part)  # a missing or unknown key
        candidates = [c for tp in candidates for c in _child(tp, part)]
        node = _get(node, part)
    return tuple(out), candidates
