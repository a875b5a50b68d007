"""Requests in flight at pods: what a pod was serving, or an ingress controller pod was
holding open for its client, when it stopped answering.

A pod killed or crashed (``reset``) resets its open connections: those clients see
``reset`` now. A pod whose node stopped (no reset) never answers: those clients wait for
their timeout (``dead_endpoint``). Records are kept until the tick in which their outcome
lands has been published (after that nothing can change it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.outcomes import DEAD_ENDPOINT, OK, RESET

if TYPE_CHECKING:
    from sim.objects import Pod
    from sim.traffic.flows import FlowState

Record = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, "FlowState"]
"""(done at the pod, when the client sees it, outcome, when the client gives up, flow)."""


class InFlight:
    """Which requests each pod holds now, to be failed if it stops answering."""

    def __init__(self) -> None:
        self._at: dict[str, list[Record]] = {}
        self._proxied: list[tuple[float, np.ndarray, np.ndarray, list[Pod], np.ndarray,
                                  np.ndarray, np.ndarray, FlowState]] = []
        """Requests behind an ingress controller, by the controller pod that holds each one
        (last give-up time, rows, controller index per row, controllers, when, outcome,
        give-up times, flow)."""

    def served(self, pod: Pod, record: Record) -> None:
        """*pod* serves these requests (answered at ``record[0]``)."""
        self._at.setdefault(pod.name, []).append(record)

    def proxied(self, last_gives_up: float, rows: np.ndarray, via: np.ndarray,
                controllers: list[Pod], when: np.ndarray, outcome: np.ndarray,
                gives_up: np.ndarray, flow: FlowState) -> None:
        """Ingress controller pods (``controllers[via[row]]``) hold these requests' client
        connections until they relay the answers."""
        self._proxied.append((last_gives_up, rows, via, controllers, when, outcome, gives_up,
                              flow))

    def forget_before(self, horizon: float) -> None:
        """Outcomes before *horizon* are published: their records can no longer change."""
        if self._proxied and self._proxied[0][0] < horizon:
            self._proxied = [r for r in self._proxied if r[0] >= horizon]
        for name in list(self._at):
            kept = [r for r in self._at[name] if float(r[1].max()) >= horizon]
            if kept:
                self._at[name] = kept
            else:
                del self._at[name]

    def lost(self, pod: Pod, reset: bool, now: float, dt: float) -> None:
        """*pod* stops answering at *now*: its in-flight requests fail (reset) or hang
        (timeout), each counted in the tick its client sees it."""
        records = self._at.pop(pod.name, None) or []
        # requests an ingress controller pod holds until their answer is relayed
        for _, rows, via, controllers, when_all, outcome_all, gives_up_all, flow in self._proxied:
            for c, controller in enumerate(controllers):
                if controller is pod:
                    mine = via[rows] == c
                    part = rows[mine]
                    records.append((when_all[part], when_all[part], outcome_all[part],
                                    gives_up_all[mine], flow))
        for done, when, outcome, gives_up, flow in records:
            hit = (done > now) & (when > now) & (outcome == OK)
            for w, g in zip(when[hit].tolist(), gives_up[hit].tolist(), strict=True):
                if reset:
                    flow.move(int(w // dt), OK, RESET, 1, int(now // dt))
                else:
                    # no answer will come: the client times out instead
                    flow.move(int(w // dt), OK, DEAD_ENDPOINT, 1, int(g // dt))
