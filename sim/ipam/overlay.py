"""Azure CNI Overlay: a /24 per node from ``podCidr``, nothing from the VNet for pods
(concepts-network-azure-cni-overlay.md)."""

from __future__ import annotations

from sim.ipam.base import PodRange


class Overlay(PodRange):
    """Azure CNI Overlay: pod /24 per node from the pod CIDR; no routes, no VNet addresses."""

    mode = "overlay"
