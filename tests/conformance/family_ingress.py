"""The ingress oracle family: every request of every case, routed by :mod:`sim.ingress`.

Format: ``shared/oracles/README.md`` (``ingress_cases.yaml``). Each case lists Ingresses that
are considered together and requests ``{host, path, expected_backend, expected_status?,
scheme?, method?}``. ``expected_backend: null`` means no rule matches, so a default backend
answers (the Ingress ``spec.defaultBackend`` if one applies, else the controller's, HTTP 404).
A backend is ``{service, port}`` with a port number or name.

One check per case compares every request and reports every mismatch with the route's reason.
A case that cannot be run (bad shape, unknown key, an Ingress the API server would reject)
fails and says why; nothing is skipped, and no case id is treated specially.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conformance_loader import OracleFile

from sim.ingress import IngressError, IngressRouter, Route, ServiceBackend

Check = Callable[[], None]

HUMAN_KEYS = frozenset({"note", "why", "doubt", "setup_note", "derived", "derived_parts", "source",
                        "comment"})
"""Keys for people: the harness reads ``doubt`` into failure messages and ignores the rest."""
CASE_KEYS = frozenset({"id", "ingresses", "requests"}) | HUMAN_KEYS
REQUEST_KEYS = frozenset({"host", "path", "expected_backend", "expected_status", "scheme",
                          "method"}) | HUMAN_KEYS
"""``method`` is accepted and not used: Ingress routing does not depend on the HTTP method."""
BACKEND_KEYS = frozenset({"service", "port"})


def collect(files: list[OracleFile]) -> list[tuple[str, Check]]:
    """One ``(case id, check)`` per case of every given ingress file (see the harness contract)."""
    out: list[tuple[str, Check]] = []
    for f in files:
        cases = f.data.get("cases") if isinstance(f.data, dict) else None
        if not isinstance(cases, list) or not cases:
            out.append(("<no cases>", _failing(f"{f.label}: expected a non-empty top-level list "
                                               f"'cases' (README.md, ingress_cases.yaml), found "
                                               f"{type(cases).__name__}")))
            continue
        seen: dict[str, int] = {}
        for i, case in enumerate(cases):
            case_id = str(case.get("id") or f"case-{i}") if isinstance(case, dict) else f"case-{i}"
            seen[case_id] = seen.get(case_id, 0) + 1
            if seen[case_id] > 1:
                case_id = f"{case_id}#{seen[case_id]}"
            out.append((case_id, _case_check(f"{f.label}::{case_id}", case)))
    return out


def _failing(message: str) -> Check:
    def check() -> None:
        raise AssertionError(message)

    return check


def _case_check(test_id: str, case: Any) -> Check:
    def check() -> None:
        problems = run_case(case)
        if problems:
            raise AssertionError(f"{test_id}: {len(problems)} problem(s)\n\n" + "\n\n".join(problems))

    return check


def run_case(case: Any) -> list[str]:
    """Every problem with one case: mismatches, or why it cannot run. Empty when it passes."""
    if not isinstance(case, Mapping):
        return [f"cannot run: a case must be a mapping, got {type(case).__name__}"]
    problems = [f"cannot run: unknown case key {k!r} (known: {', '.join(sorted(CASE_KEYS))}); the "
                "harness would not know what it asks" for k in sorted(set(case) - CASE_KEYS)]
    ingresses, requests = case.get("ingresses"), case.get("requests")
    if not isinstance(ingresses, list):
        problems.append(f"cannot run: 'ingresses' must be a list of Ingress dicts, got {ingresses!r}")
    if not isinstance(requests, list) or not requests:
        problems.append(f"cannot run: 'requests' must be a non-empty list, got {requests!r}")
    if problems or not isinstance(ingresses, list) or not isinstance(requests, list):
        return problems
    try:
        router = IngressRouter(ingresses)
    except IngressError as err:
        return [f"cannot run: an Ingress the API server would reject: {err}"]
    for i, request in enumerate(requests):
        problems += _check_request(router, f"requests[{i}]", request, case.get("doubt"))
    return problems


def _expected_backend(raw: Any) -> tuple[str, int | str] | str:
    """``(service, port)`` from an ``expected_backend`` mapping, or why it cannot be read."""
    if not isinstance(raw, Mapping):
        return f"expected_backend must be null or a mapping, got {raw!r}"
    if set(raw) - BACKEND_KEYS or not raw.get("service") or raw.get("port") in (None, ""):
        return f"expected_backend must be {{service, port}}, got {dict(raw)}"
    port = raw["port"]
    if isinstance(port, bool) or not isinstance(port, int | str):
        return f"expected_backend.port must be a number or a port name, got {port!r}"
    # a port name always holds a letter (IANA_SVC_NAME), so digits are a number
    return str(raw["service"]), int(port) if isinstance(port, str) and port.isdigit() else port


def _check_request(router: IngressRouter, label: str, request: Any, case_doubt: Any) -> list[str]:
    if not isinstance(request, Mapping):
        return [f"{label}: cannot run: a request must be a mapping, got {request!r}"]
    unknown = sorted(set(request) - REQUEST_KEYS)
    if unknown:
        return [f"{label}: cannot run: unknown request key(s) {unknown} (known: "
                f"{', '.join(sorted(REQUEST_KEYS))})"]
    if "path" not in request or "expected_backend" not in request:
        return [f"{label}: cannot run: 'path' and 'expected_backend' are required, got {dict(request)}"]
    host, path, scheme = request.get("host"), request["path"], request.get("scheme") or "http"
    if (host is not None and not isinstance(host, str)) or not isinstance(path, str):
        return [f"{label}: cannot run: host must be a string or null and path a string, got "
                f"host={host!r} path={path!r}"]
    expected = request["expected_backend"]
    wanted = None if expected is None else _expected_backend(expected)
    if isinstance(wanted, str):
        return [f"{label}: cannot run: {wanted}"]
    try:
        route = router.route(host, path, scheme)
    except IngressError as err:
        return [f"{label}: cannot run: {err}"]
    mismatches = _backend_mismatch(route, wanted)
    status = request.get("expected_status")
    if status is not None and status != route.status:
        mismatches.append(f"expected HTTP {status}, got HTTP {route.status}")
    if not mismatches:
        return []
    where = f"{label} {scheme}://{host if host is not None else '<no Host header>'}{path}"
    text = f"{where}: " + "; ".join(mismatches) + "\n" + route.explain()
    for doubt in (request.get("doubt"), case_doubt):
        if doubt:
            text += f"\n  oracle doubt: {doubt}"
    return [text]


def _backend_mismatch(route: Route, wanted: tuple[str, int | str] | None) -> list[str]:
    if wanted is None:
        if route.is_default_backend:
            return []
        return [f"expected no rule to match (a default backend), but {route.backend} was chosen"]
    got = route.backend
    if isinstance(got, ServiceBackend) and (got.name, got.port) == wanted:
        return []
    shown = got if got is not None else "the controller's default backend (no rule matched)"
    return [f"expected service {wanted[0]}:{wanted[1]}, got {shown}"]
