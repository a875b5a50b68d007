"""The second stage: requests an ingress controller pod (or a client pod, after its lookup)
passes on to a backend Service, within the tick they arrived in.

The first stage hands each proxied request on when its proxy answered it
(:meth:`SecondStage.forward_later`); after each round of serving, the second stage picks the
backend endpoint (ingress-nginx's balancing, or kube-proxy of the client pod's node for a
ClusterIP), checks NetworkPolicy and faults between the nodes, and queues the requests at the
backend pods; the outcomes are decided once those pods have served them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.outcomes import DEAD_ENDPOINT, DENIED, DNS_FAILURE, NO_ENDPOINT, NO_LOCAL, NO_RULE, TIMEOUT
from sim.queueing.service_times import draw_many
from sim.traffic.batch import Batch

if TYPE_CHECKING:
    from sim.kubeproxy.ipvs import IpvsTables
    from sim.objects import Pod, ServiceState
    from sim.traffic.backends import Backends
    from sim.traffic.inflight import InFlight
    from sim.traffic.links import Links
    from sim.traffic.policy import Verdicts
    from sim.traffic.proxypath import KubeProxyPath


class SecondStage:
    """Proxied requests on their way to the backend (see the module docstring)."""

    def __init__(self, rng: np.random.Generator, service_rng: np.random.Generator,
                 backends: Backends, enqueue: Callable[..., None], proxy: KubeProxyPath,
                 verdicts: Verdicts, links: Links, ipvs: IpvsTables | None,
                 in_flight: InFlight) -> None:
        self.rng = rng
        self.service_rng = service_rng
        self.backends = backends
        self.enqueue = enqueue
        self.proxy = proxy
        self.verdicts = verdicts
        self.links = links
        self.ipvs = ipvs
        self.in_flight = in_flight
        self._forwards: dict[int, tuple[Batch, list[tuple[np.ndarray, np.ndarray, Pod]]]] = {}
        self._finalizers: list[Any] = []

    def __bool__(self) -> bool:
        """Whether proxied requests wait to be passed on."""
        return bool(self._forwards)

    def finish_round(self) -> None:
        """The round of serving is over: decide the outcomes its backend pods answered."""
        finalizers, self._finalizers = self._finalizers, []
        for finish in finalizers:
            finish()

    def forward_later(self, b: Batch, rows: np.ndarray, t: np.ndarray, source: Pod) -> None:
        """Collect a round's proxied requests per flow: one second stage per flow and tick."""
        entry = self._forwards.get(id(b.flow))
        if entry is None:
            entry = self._forwards[id(b.flow)] = (b, [])
        entry[1].append((rows, t, source))

    def flush(self) -> None:
        """Pass every collected request on (one second stage per flow and tick)."""
        pending, self._forwards = self._forwards, {}
        for b, proxied in pending.values():
            self._forward(b, proxied)

    def _forward(self, b: Batch, proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]]) -> None:
        """The controller pods proxy their requests (each leaving at its time) to the backend."""
        flow, arrivals, hop = b.flow, b.arrivals, b.hop
        idx = np.concatenate([p[0] for p in proxied_by])
        proxied = np.concatenate([p[1] for p in proxied_by])
        source = np.concatenate([np.full(p[0].size, i) for i, p in enumerate(proxied_by)])
        if idx.size == 0:
            return
        backend = flow.backend
        if backend is None:  # no rule matched: the default backend's 404
            b.fail(idx, NO_RULE, proxied + hop)
            return
        endpoints = backend.endpoints
        if not endpoints:  # NGINX answers 503 when the upstream has no endpoints
            # a headless name has no address to connect to; a ClusterIP is REJECTed
            b.fail(idx, DNS_FAILURE if backend.headless and flow.client is not None else NO_ENDPOINT,
                   proxied + hop)
            return
        picked = self._backend_pick(b, backend, proxied_by, idx, proxied, source)
        if picked is None:
            return
        idx, proxied, source, pick, service_for = picked
        port, _ = backend.target(flow.backend_port)
        order = np.argsort(pick, kind="stable")
        answered: list[tuple[Pod, np.ndarray, np.ndarray]] = []
        # the verdict depends on the source pod and the backend Deployment: once per pair
        denied_by: dict[str, np.ndarray] = {}
        for group in np.split(order, np.flatnonzero(np.diff(pick[order])) + 1):
            t = proxied[group] + hop
            sort = np.argsort(t, kind="stable")
            drawn = service_for[group][sort] if service_for is not None else None
            self._forward_to(b, endpoints[int(pick[group[0]])], idx[group][sort], t[sort], drawn,
                             source[group][sort], proxied_by, port, denied_by, answered)
        proxies = None
        if flow.route is not None:  # which controller pod holds each client's connection
            via = np.full(arrivals.size, -1, np.int64)
            via[idx] = source
            proxies = (via, [p[2] for p in proxied_by])
        # the callbacks fill `answered` while the round is served; decide outcomes after it
        self._finalizers.append(lambda: self._answered(b, answered, proxies))

    def _backend_pick(self, b: Batch, backend: ServiceState,
                      proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]], idx: np.ndarray,
                      proxied: np.ndarray, source: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                 np.ndarray | None] | None:
        """Each proxied request's backend endpoint: kube-proxy of a client pod's node for a
        ClusterIP (dropping what internalTrafficPolicy Local cannot place), ingress-nginx's
        own balancing otherwise. Returns (rows, times, sources, picks, service times drawn or
        None), or None when nothing is left."""
        flow, hop = b.flow, b.hop
        endpoints = backend.endpoints
        service_for: np.ndarray | None = None
        if flow.client is not None and not backend.headless and (
                backend.internal_local or self.ipvs is not None or backend.affinity is not None):
            # a pod calling the ClusterIP: its node's kube-proxy chooses
            pick, service_for, dropped = self.proxy.cluster_ip_pick(flow, backend, proxied_by, idx,
                                                               proxied, source, hop)
            if dropped.any():  # internalTrafficPolicy Local, no endpoint on the node: DROP
                b.give_up(idx[dropped], NO_LOCAL)
                keep = ~dropped
                idx, proxied, source, pick = idx[keep], proxied[keep], source[keep], pick[keep]
                if service_for is not None:
                    service_for = service_for[keep]
                if idx.size == 0:
                    return None
        else:  # ingress-nginx balances over the endpoints; a headless name's pods are shuffled
            pick = self.rng.integers(0, len(endpoints), idx.size)
        return idx, proxied, source, pick, service_for

    def _forward_to(self, b: Batch, pod: Pod, rows: np.ndarray, t: np.ndarray,
                    drawn: np.ndarray | None, src: np.ndarray,
                    proxied_by: list[tuple[np.ndarray, np.ndarray, Pod]], port: int,
                    denied_by: dict[str, np.ndarray],
                    answered: list[tuple[Pod, np.ndarray, np.ndarray]]) -> None:
        """Requests *rows* (in time order, from the proxies *src*) reach backend *pod* at *t*:
        a dead pod, a NetworkPolicy or a cut link fails some; the rest queue there."""
        flow = b.flow
        timeout = flow.spec.timeout
        flow.per_pod[pod.name] = flow.per_pod.get(pod.name, 0) + rows.size
        if pod.node is None or not pod.node.alive or pod.phase != "Running":
            b.give_up(rows, DEAD_ENDPOINT)
            return
        if self.verdicts.policy_objects:
            denied_src = denied_by.get(pod.dep.key)
            if denied_src is None:
                denied_src = denied_by[pod.dep.key] = np.fromiter(
                    (not self.verdicts.allowed_from_pod(p[2], pod, port) for p in proxied_by),
                    bool, len(proxied_by))
            blocked = denied_src[src] if denied_src.any() else None
            if blocked is not None and blocked.any():
                b.give_up(rows[blocked], DENIED)
                rows, t, src = rows[~blocked], t[~blocked], src[~blocked]
                if drawn is not None:
                    drawn = drawn[~blocked]
                if rows.size == 0:
                    return
        back: Any = None
        if self.links.active and pod.node is not None:
            # the controller pod (or the client pod) connects to the backend pod's node
            crossed = self.links.cross([proxied_by[i][2].node for i in src.tolist()], pod.node,
                                       timeout, flow.spec.connection == "new")
            if crossed is not None:
                cut, inbound, back = crossed
                if cut.any():
                    b.give_up(rows[cut], TIMEOUT)
                    keep = ~cut
                    rows, t, inbound, back = rows[keep], t[keep], inbound[keep], back[keep]
                    if drawn is not None:
                        drawn = drawn[keep]
                    if rows.size == 0:
                        return
                t = t + inbound
        service = (drawn if drawn is not None
                   else draw_many(self.backends.service_time(pod), self.service_rng, rows.size))
        backend_spec = self.backends.of(pod)
        cpu = backend_spec.cpu if backend_spec else 1.0
        pod.dep.cpu_seconds += float(service.sum()) * cpu
        pod.dep.cpu_cap = cpu * (backend_spec.concurrency if backend_spec else 1)
        self.enqueue(pod, t, service, lambda done, rows=rows, pod=pod, back=back: (
            answered.append((pod, rows, done.copy() if back is None else done + back))))
        # (a copy either way: the round's departure buffer is not ours to keep)

    def _answered(self, b: Batch, answered: list[tuple[Pod, np.ndarray, np.ndarray]],
                  proxies: tuple[np.ndarray, list[Pod]] | None = None) -> None:
        """The backend pods answered (after the round): outcomes of all their requests at once.

        Behind an ingress controller, the controller pod holds the client's connection until
        it relays the answer: a request is in flight there too (a killed controller pod
        resets it)."""
        if not answered:
            return
        flow, arrivals, outcome, when, hop = b.flow, b.arrivals, b.outcome, b.when, b.hop
        rows = np.concatenate([a[1] for a in answered])
        done = np.concatenate([a[2] for a in answered]) + 2 * hop
        b.settle(rows, done)
        gives_up = arrivals[rows] + flow.spec.timeout
        start = 0
        for pod, part, _ in answered:
            end = start + part.size
            self.in_flight.served(
                pod, (done[start:end] - 2 * hop, when[part], outcome[part], gives_up[start:end], flow))
            start = end
        if proxies is not None:  # sorted out only if a controller pod is lost (rare)
            self.in_flight.proxied(float(arrivals[-1]) + flow.spec.timeout, rows, proxies[0],
                                   proxies[1], when, outcome, gives_up, flow)
