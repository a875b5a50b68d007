"""The model's watches: every subscriber, in subscription order, with the change's arguments;
``fire`` stays right as subscribers come and go (it is rebuilt, not looped when there is one)."""

from __future__ import annotations

from sim.kernel.watch import Watch


def test_fire_reaches_every_subscriber_in_order_as_they_come_and_go() -> None:
    watch: Watch[[str, int]] = Watch()
    seen: list[tuple[str, str, int]] = []
    watch.fire("nobody", 0)  # no subscriber: nothing happens
    assert not watch
    stop_a = watch.subscribe(lambda s, n: seen.append(("a", s, n)))
    watch.fire("one", 1)
    stop_b = watch.subscribe(lambda s, n: seen.append(("b", s, n)))
    watch.fire("two", 2)
    stop_a()
    watch.fire("after a left", 3)
    stop_b()
    watch.fire("none left", 4)
    assert seen == [("a", "one", 1), ("a", "two", 2), ("b", "two", 2), ("b", "after a left", 3)]
    assert not watch
