"""What clients send about runs (an HTTP body, an MQTT fault command), parsed whatever was
sent, and :class:`RunError`, the refusal every layer above maps to its own answer (an HTTP
problem, a command's ``ok: false`` acknowledgement)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sim import Issue
from sim.scenario import Fault

FAULT = TypeAdapter(Fault)
MAX_DEPTH = 32
"""The deepest nesting of lists and objects a request body or an MQTT command may have (a
NetworkPolicy in a fault needs about 10)."""


class RunError(Exception):
    """A request about runs cannot be honoured: *status* is the HTTP status to answer."""

    def __init__(self, status: int, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.issues = issues or []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; expected a finite number")


def _depth(value: Any) -> int:
    """How deeply *value* nests lists and objects (iteratively: any depth is safe)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            stack += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def parse_json_object(payload: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object from a request body or an MQTT payload, whatever was sent.

    NaN and Infinity (which Python's json accepts) are refused, and so are integers of more
    than 4,300 digits and nesting deeper than :data:`MAX_DEPTH`.

    Raises:
        RunError: 422, saying where the text is wrong and what was expected.
    """
    try:
        data = json.loads(payload, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RunError(422, f"{what}: not JSON: {exc.msg} (line {exc.lineno}, column "
                            f"{exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise RunError(422, f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise RunError(422, f"{what}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # NaN, Infinity, an integer of more than 4,300 digits
        raise RunError(422, f"{what}: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise RunError(422, f'{what}: expected a fault object, e.g. {{"fault": "zone_failure", '
                            f'"zone": "1"}}, found {type(data).__name__}')
    if _depth(data) > MAX_DEPTH:
        raise RunError(422, f"{what}: nested more than {MAX_DEPTH} levels deep")
    return data


def _found(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else (
        "an object" if isinstance(value, dict) else "a list" if isinstance(value, list)
        else type(value).__name__)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _fault_problem(error: Any, data: dict[str, Any]) -> str:
    """``field: what was expected, found what`` (without pydantic's union tag and prefixes)."""
    loc = [str(x) for x in error["loc"]]
    if loc and loc[0] == str(data.get("fault")):
        loc = loc[1:]  # the discriminator's tag, not a key of the body
    message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be ",
                                                                        "expected ", 1)
    ctx = error.get("ctx") or {}
    if error["type"] == "union_tag_invalid":
        return f"fault: expected one of {ctx.get('expected_tags')}, found {_found(ctx.get('tag'))}"
    if error["type"] == "union_tag_not_found":
        return "fault: required (which fault: node_failure, zone_failure, pod_kill...)"
    if "got " not in message:
        message += f", found {_found(error.get('input'))}"
    return f"{'.'.join(loc) or 'fault'}: {message}"


def parse_fault(data: dict[str, Any]) -> Any:
    """A live fault from a request (HTTP body or MQTT command): the scenario's fault model,
    with ``at`` a delay from now (default: now).

    Raises:
        RunError: 422, naming each field that is wrong, what was found and what was expected.
    """
    if _depth(data) > MAX_DEPTH:
        raise RunError(422, f"not a fault: nested more than {MAX_DEPTH} levels deep")
    try:
        return FAULT.validate_python({**data, "at": data.get("at", 0)})
    except ValidationError as exc:
        problems = "; ".join(_fault_problem(e, data) for e in exc.errors(include_url=False))
        raise RunError(422, f"not a fault: {problems}") from None
