"""Defaults that depend on the cluster's Kubernetes version (``cluster.kubernetesVersion``).

Every version-dependent default of the model is here, each with the release that changed it
and where that is written (AKS-NETWORKING.md):

- ``nodeMonitorGracePeriod`` (kube-controller-manager ``--node-monitor-grace-period``): 40 s
  before 1.32, 50 s from 1.32 (kubernetes/kubernetes PR #126287, fixing #121793;
  AKS-NETWORKING.md section 8). AKS runs the control plane and does not expose the flag, so
  the upstream default of the cluster's version applies; a scenario may still set it.
- Pod DNS search-list limits (kubelet): ExpandedDNSConfig on by default from 1.26 (32 domains,
  2,048 characters), 6 domains and 256 characters before (dns-pod-service.md, KEP-2595;
  :func:`sim.dns.search_limits`).

AKS-pinned values that do NOT follow the version (AKS sets them the same on every supported
version): the DefaultTolerationSeconds of 300 s (kube-apiserver defaults, unchanged), the
cluster-autoscaler profile (cluster-autoscaler.md), node auto-repair (node-auto-repair.md),
``maxSurge`` 1 (upgrade-aks-node-pools-rolling.md), CoreDNS ``cache 30`` and its autoscaler
ladder (coredns-autoscale.md), the LB probe defaults of cloud-provider-azure (5 s x 2).
"""

from __future__ import annotations

import re

GRACE_PERIOD_OLD = 40.0
"""node-monitor-grace-period before Kubernetes 1.32 (seconds)."""
GRACE_PERIOD_NEW = 50.0
"""node-monitor-grace-period from Kubernetes 1.32 (PR #126287)."""
GRACE_PERIOD_SINCE = (1, 32)


def parse(version: str) -> tuple[int, int]:
    """``"1.32"`` or ``"1.32.5"`` or ``"v1.32"`` as (major, minor).

    Raises:
        ValueError: Not a version.
    """
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\..*)?", version.strip())
    if not match:
        raise ValueError(f"expected a Kubernetes version such as \"1.30\", got {version!r}")
    return int(match.group(1)), int(match.group(2))


def node_monitor_grace_period(version: str) -> float:
    """The kube-controller-manager default at *version*: 40 s, 50 s from 1.32."""
    try:
        release = parse(version)
    except ValueError:
        return GRACE_PERIOD_OLD  # the schema reports the bad version
    return GRACE_PERIOD_NEW if release >= GRACE_PERIOD_SINCE else GRACE_PERIOD_OLD
