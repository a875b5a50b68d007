"""The event bus: gapless seq, ordered synchronous delivery, subscribe returns unsubscribe."""

from __future__ import annotations

from sim.events import NodeNotReady, NodeReady, SimEvent, known_reasons
from sim.kernel.bus import Bus


def test_seq_is_gapless_and_time_comes_from_the_clock() -> None:
    """Every publish gets the next seq and the current simulated time."""
    now = [0.0]
    bus = Bus("r1", lambda: now[0])
    got = []
    bus.subscribe(SimEvent, got.append)
    for i in range(5):
        now[0] = i * 1.5
        bus.publish(NodeReady(f"n{i}"))
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert [e.sim_time for e in got] == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert {e.run_id for e in got} == {"r1"}


def test_delivery_by_type_and_base_type_in_subscription_order() -> None:
    """A handler of a base type sees subclasses; handlers run in the order they subscribed."""
    bus = Bus("r", lambda: 0.0)
    order: list[str] = []
    bus.subscribe(NodeNotReady, lambda e: order.append("not-ready"))
    bus.subscribe(SimEvent, lambda e: order.append("all"))
    bus.publish(NodeNotReady("n", "1"))
    bus.publish(NodeReady("n"))
    assert order == ["not-ready", "all", "all"]


def test_unsubscribe_stops_delivery() -> None:
    """subscribe() returns the function that undoes it."""
    bus = Bus("r", lambda: 0.0)
    got: list[object] = []
    stop = bus.subscribe(SimEvent, got.append)
    bus.publish(NodeReady("a"))
    stop()
    bus.publish(NodeReady("b"))
    assert len(got) == 1 and bus.published == 2


def test_events_carry_real_kubernetes_reasons() -> None:
    """Reasons are the strings kubectl shows (and the auto-repair ones AKS documents)."""
    reasons = known_reasons()
    for r in ("FailedScheduling", "FailedCreatePodSandBox", "SubnetIsFull", "NodeNotReady",
              "TaintManagerEviction", "Scheduled", "NodeRebootStart", "ScaledUpGroup"):
        assert r in reasons
    ev = NodeNotReady("aks-x", "1")
    assert ev.message == "Node aks-x status is now: NodeNotReady"
    assert ev.type == "Warning" and ev.involved_object() == {"kind": "Node", "name": "aks-x"}
