"""Kubernetes NetworkPolicy: may this pod (or IP) open a connection to that pod (or IP), and why.

:class:`NetworkPolicies` takes plain ``networking.k8s.io/v1`` NetworkPolicy dicts, exactly as
``kubectl apply`` would send them, with the namespaces and pods they select. It compiles them
once and answers :meth:`NetworkPolicies.allows` with a :class:`Verdict` that says which side
decided and which policies were involved, in words a person can read in ``aks-sim reach``.

Semantics (kubernetes/website ``concepts/services-networking/network-policies.md``, the
``networking.k8s.io/v1`` API reference, AKS-NETWORKING.md section 6):

- A pod is non-isolated until a policy selects it with that policy type; from then on only
  what the union of its selecting policies allows gets through. Policies are additive, so
  their order never matters.
- A connection needs egress allowed at the source AND ingress allowed at the destination.
  Replies are implicitly allowed and are not separate connections here; traffic from the
  pod's own node (always allowed) is not modelled.
- External endpoints (``ip:1.2.3.4``) are never selected by a policy. As peers they match
  ``ipBlock`` only. ``ipBlock`` also matches pod IPs, as the upstream e2e suite
  (test/e2e/network/netpol) expects of a conformant plugin.
- A named policy port resolves against the destination pod's container ports, for ingress
  and for egress alike; a destination that is not a pod has only the name the caller gives.
- With the cluster's ``networkPolicy`` set to ``none`` nothing enforces the policies, so
  they have no effect. Azure NPM, Calico and Cilium are modelled alike, with upstream
  semantics; plugin deviations (e.g. an AKS doc revision saying Cilium's ``ipBlock`` cannot
  select pod or node IPs) are not modelled.
"""

from sim.netpol.engine import Decision, GroupVerdict, NetworkPolicies, Verdict
from sim.netpol.selectors import (
    AZURE_NPM_MAX_NODES,
    DEFAULT_ENGINE,
    DEFAULT_PROTOCOL,
    ENGINES,
    NAMESPACE_NAME_LABEL,
    PROTOCOLS,
    ContainerPort,
    Direction,
    Endpoint,
    ExternalPeer,
    IpAddress,
    IpNetwork,
    Namespace,
    NetworkPolicyError,
    Pod,
)

__all__ = [
    "AZURE_NPM_MAX_NODES", "DEFAULT_ENGINE", "DEFAULT_PROTOCOL", "ENGINES", "NAMESPACE_NAME_LABEL",
    "PROTOCOLS",
    "ContainerPort", "Decision", "Direction", "Endpoint", "ExternalPeer", "GroupVerdict", "IpAddress",
    "IpNetwork", "Namespace", "NetworkPolicies", "NetworkPolicyError", "Pod", "Verdict",
]
