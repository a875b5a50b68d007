"""NetworkPolicy oracle cases (``netpol_cases.yaml`` format) run through :mod:`sim.netpol`.

One check per case. A check compares every expectation of its case and reports all the
mismatches at once (from, to, port, expected, got, and the verdict's reason). A case that
cannot be run (a field value the engine does not model, a malformed expectation) is a
failing check that says why; nothing is skipped and no case id is special.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from conformance_loader import OracleFile

from sim.netpol import ExternalPeer, Namespace, NetworkPolicies, NetworkPolicyError, Pod

EXPECTED = {"allow": True, "deny": False}
ENGINE = "calico"
"""Any enforcing engine follows upstream semantics; the oracle is upstream Kubernetes."""

Check = Callable[[], None]


def collect(files: list[OracleFile]) -> list[tuple[str, Check]]:
    """One ``(case id, check)`` per case of every given netpol file.

    Args:
        files: Loaded oracle files of the netpol family.

    Returns:
        The checks, in file order; a file with no readable ``cases`` list yields one failing
        check that says so.
    """
    out: list[tuple[str, Check]] = []
    for f in files:
        cases = f.data.get("cases") if isinstance(f.data, Mapping) else None
        if not isinstance(cases, list) or not cases:
            message = f"{f.label}: expected a non-empty top-level `cases` list"
            out.append(("<no cases>", partial(_fail, message)))
            continue
        for i, case in enumerate(cases):
            case_id = str(case.get("id") or f"case-{i}") if isinstance(case, Mapping) else f"case-{i}"
            out.append((case_id, partial(check_case, f"{f.label}::{case_id}", case)))
    return out


def _fail(message: str) -> None:
    raise AssertionError(message)


def build(case: Mapping[str, Any]) -> NetworkPolicies:
    """The compiled policies of a case (namespaces, pods, external peers, policies).

    Raises:
        NetworkPolicyError: The engine rejects something in the case.
        KeyError, TypeError, ValueError: The case does not follow the format.
    """
    return NetworkPolicies(
        case.get("policies") or [],
        namespaces=[Namespace.from_dict(n) for n in case.get("namespaces") or []],
        pods=[Pod.from_dict(p) for p in case.get("pods") or []],
        external_peers=[ExternalPeer(str(e["ip"]), str(e.get("name") or ""))
                        for e in case.get("external_peers") or []],
        engine=ENGINE,
    )


def _expectation_problem(engine: NetworkPolicies, item: Any) -> str | None:
    """``None`` when *item* agrees with the engine, else one line saying how it does not."""
    if not isinstance(item, Mapping):
        return f"cannot run expectation {item!r}: not a mapping"
    src, dst, port = item.get("from"), item.get("to"), item.get("port")
    protocol, port_name = item.get("protocol") or "TCP", item.get("port_name")
    where = f"{src} -> {dst} {protocol}/{port}" + (f" ({port_name})" if port_name else "")
    if item.get("expected") not in EXPECTED:
        return f"cannot run {where}: expected must be allow or deny, got {item.get('expected')!r}"
    if not isinstance(src, str) or not isinstance(dst, str):
        return f"cannot run {where}: from/to must be '<namespace>/<pod>' or 'ip:<address>'"
    if src == dst:  # upstream ignores loopback; its outcome is undefined, so never asserted
        return f"cannot run {where}: a self-connection has no defined outcome"
    try:
        verdict = engine.allows(src, dst, port, protocol, port_name)
    except NetworkPolicyError as err:
        return f"cannot run {where}: {err}"
    if verdict.allowed == EXPECTED[item["expected"]]:
        return None
    got = "allow" if verdict.allowed else "deny"
    notes = "".join(f" [{k}: {item[k]}]" for k in ("why", "doubt") if item.get(k))
    return f"{where}: expected {item['expected']}, got {got}: {verdict.reason}{notes}"


def check_case(label: str, case: Any) -> None:
    """Run every expectation of one case; raise one AssertionError listing every mismatch."""
    if not isinstance(case, Mapping):
        raise AssertionError(f"{label}: cannot run: a case must be a mapping, got {case!r}")
    try:
        engine = build(case)
    except (NetworkPolicyError, KeyError, TypeError, ValueError) as err:
        raise AssertionError(f"{label}: cannot run: {type(err).__name__}: {err}") from err
    expectations = case.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise AssertionError(f"{label}: cannot run: no expectations (a case must assert something)")
    problems = [p for p in (_expectation_problem(engine, e) for e in expectations) if p]
    if problems:
        notes = [f"{k}: {case[k]}" for k in ("doubt", "derived_parts") if case.get(k)]
        lines = "".join(f"\n  {p}" for p in problems + notes)  # the oracle's own doubts, to judge by
        raise AssertionError(f"{label}: {len(problems)} of {len(expectations)} expectations disagree:{lines}")
