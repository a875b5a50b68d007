"""Azure VM sizes and the allocatable CPU/memory AKS leaves for pods on them.

Reservations follow node-resource-reservations.md (AKS 1.29 and later):
- kube-reserved CPU by core count: 1:60m, 2:100m, 4:140m, 8:180m, 16:260m, 32:420m, 64:740m;
- kube-reserved memory = min(20 MB x maxPods + 50 MB, 25% of memory), plus the kubelet
  eviction threshold ``memory.available < 100Mi``.
  Worked example from the page: 8 GB, 30 max pods -> 650 MB reserved.
"""

from __future__ import annotations

from dataclasses import dataclass

VM_SIZES: dict[str, tuple[int, float]] = {
    # name: (vCPUs, memory GiB), from the Azure VM size pages
    "Standard_B2s": (2, 4),
    "Standard_B2ms": (2, 8),
    "Standard_B4ms": (4, 16),
    "Standard_DS2_v2": (2, 7),
    "Standard_DS3_v2": (4, 14),
    "Standard_DS4_v2": (8, 28),
    "Standard_D2s_v3": (2, 8),
    "Standard_D4s_v3": (4, 16),
    "Standard_D8s_v3": (8, 32),
    "Standard_D16s_v3": (16, 64),
    "Standard_D32s_v3": (32, 128),
    "Standard_D2s_v5": (2, 8),
    "Standard_D4s_v5": (4, 16),
    "Standard_D8s_v5": (8, 32),
    "Standard_D16s_v5": (16, 64),
    "Standard_D2ds_v5": (2, 8),
    "Standard_D4ds_v5": (4, 16),
    "Standard_D8ds_v5": (8, 32),
    "Standard_D16ds_v5": (16, 64),
    "Standard_D32ds_v5": (32, 128),
    "Standard_D64ds_v5": (64, 256),
    "Standard_E4s_v3": (4, 32),
    "Standard_E8s_v3": (8, 64),
    "Standard_E16s_v3": (16, 128),
    "Standard_F4s_v2": (4, 8),
    "Standard_F8s_v2": (8, 16),
    "Standard_F16s_v2": (16, 32),
}

_CPU_RESERVED = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))
EVICTION_THRESHOLD_MIB = 100


@dataclass(frozen=True, slots=True)
class Allocatable:
    """What the scheduler may place on a node."""

    cpu: int
    """Millicores."""
    memory: int
    """MiB."""


def kube_reserved_cpu(cores: int) -> int:
    """Millicores AKS reserves on a host with *cores* vCPUs (the table's next row down)."""
    reserved = _CPU_RESERVED[0][1]
    for c, m in _CPU_RESERVED:
        if cores >= c:
            reserved = m
    return reserved


def kube_reserved_memory(memory_mib: int, max_pods: int) -> int:
    """MiB AKS reserves: min(20 MB x maxPods + 50 MB, 25% of memory)."""
    return min(20 * max_pods + 50, memory_mib // 4)


def allocatable(vm_size: str, max_pods: int) -> Allocatable:
    """Allocatable resources of *vm_size* with *max_pods* per node.

    Raises:
        KeyError: for an unknown size (validation catches that first).
    """
    cores, gib = VM_SIZES[vm_size]
    mib = int(gib * 1024)
    cpu = cores * 1000 - kube_reserved_cpu(cores)
    mem = mib - kube_reserved_memory(mib, max_pods) - EVICTION_THRESHOLD_MIB
    return Allocatable(cpu, mem)
