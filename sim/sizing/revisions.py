"""Doc revisions: where two revisions of the AKS docs disagree.

The model follows one of them (:data:`MODEL`) and every other known revision is a
:class:`DocRevision` in :data:`REVISIONS`, so a scenario or a test can ask what the other
revision says instead of the conflict hiding in a constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from sim.azure.vnet import AZURE_RESERVED_PER_SUBNET
from sim.sizing.limits import (
    DEFAULT_MAX_PODS,
    DYNAMIC,
    DYNAMIC_DEFAULT_MAX_PODS_ALT,
    KUBENET,
    KUBENET_MAX_PODS,
    KUBENET_MAX_PODS_2020,
    MAX_NODES_PER_CLUSTER,
    MAX_SURGE_DEFAULT,
    MAX_SURGE_DEFAULT_LARGE_DOC,
    NODE_SUBNET,
    SNAT_MAX_DEFAULT_PORTS_PER_INSTANCE,
    SRC_CONFIGURE_CNI,
    SRC_DYNAMIC,
    SRC_IP_PLANNING,
    SRC_KUBENET,
    SRC_LARGE,
    SRC_LB_OUTBOUND,
    SRC_QUOTAS,
)

# --------------------------------------------------------------------------- doc revisions


@dataclass(frozen=True)
class DocRevision:
    """One reading of the docs where they disagree; :data:`MODEL` is the one the model follows.

    Attributes:
        name: Short key of the revision (a key of :data:`REVISIONS`).
        source: Doc path (and revision) the values come from.
        note: What differs from the model.
        default_max_pods: Default max-pods by IP mode.
        kubenet_max_pods: Kubenet's configurable maximum pods per node.
        reserved_per_subnet: Addresses Azure reserves in every subnet.
        snat_frontend_cap: Cap of the per-instance default SNAT allocation when several
            frontend IPs multiply it; ``None`` means no cap.
        default_max_surge: Default max surge (node count or percentage string).
        max_nodes_per_cluster: Nodes per cluster.
    """

    name: str
    source: str
    note: str
    default_max_pods: Mapping[str, int] = field(default_factory=lambda: DEFAULT_MAX_PODS,
                                                 hash=False)
    kubenet_max_pods: int = KUBENET_MAX_PODS
    reserved_per_subnet: int = AZURE_RESERVED_PER_SUBNET
    snat_frontend_cap: int | None = SNAT_MAX_DEFAULT_PORTS_PER_INSTANCE
    default_max_surge: int | str = MAX_SURGE_DEFAULT
    max_nodes_per_cluster: int = MAX_NODES_PER_CLUSTER


MODEL = DocRevision(
    name="model",
    source=f"{SRC_IP_PLANNING} defaults and kubenet max 250; {SRC_LB_OUTBOUND}",
    note="The revision the model follows.",
)


def _with_defaults(**changes: int) -> Mapping[str, int]:
    return MappingProxyType({**DEFAULT_MAX_PODS, **changes})


REVISIONS: Mapping[str, DocRevision] = MappingProxyType({
    r.name: r
    for r in (
        MODEL,
        replace(
            MODEL,
            name="configure-azure-cni-2019",
            source=f"{SRC_CONFIGURE_CNI} (ms.date 06/03/2019)",
            note="Table 'Maximum pods per node': kubenet configurable only up to 110 "
            "(current docs: 250).",
            kubenet_max_pods=KUBENET_MAX_PODS_2020,
        ),
        replace(
            MODEL,
            name="configure-kubenet-2020",
            source=f"{SRC_KUBENET} (2020)",
            note="Kubenet max-pods configurable only up to 110 (current docs: 250).",
            kubenet_max_pods=KUBENET_MAX_PODS_2020,
        ),
        replace(
            MODEL,
            name="ip-address-planning-2024-05",
            source=f"{SRC_IP_PLANNING} (ms.date 05/13/2024)",
            note="Lists kubenet default 30 and Azure CNI (legacy) 110, the reverse of every "
            "other revision, and kubenet configurable up to 250.",
            default_max_pods=_with_defaults(**{KUBENET: 30, NODE_SUBNET: 110}),
            kubenet_max_pods=KUBENET_MAX_PODS,
        ),
        replace(
            MODEL,
            name="dynamic-ip-allocation",
            source=SRC_DYNAMIC,
            note="Lists the dynamic pod subnet with a default max-pods of 250.",
            default_max_pods=_with_defaults(**{DYNAMIC: DYNAMIC_DEFAULT_MAX_PODS_ALT}),
        ),
        replace(
            MODEL,
            name="lb-outbound-multiple-frontends-old",
            source=f"{SRC_LB_OUTBOUND} (older revision)",
            note="Several frontend IPs multiply the default SNAT allocation without a cap "
            "(50 VMs x 2 frontends = 2,048 ports per IP configuration).",
            snat_frontend_cap=None,
        ),
        replace(
            MODEL,
            name="configure-kubenet-three-reserved",
            source=SRC_KUBENET,
            note="Text says a subnet reserves 'the first three IP addresses' (yet uses 251).",
            reserved_per_subnet=3,
        ),
        replace(
            MODEL,
            name="best-practices-large-max-surge",
            source=SRC_LARGE,
            note="Says the default max surge is 10%.",
            default_max_surge=MAX_SURGE_DEFAULT_LARGE_DOC,
        ),
        replace(
            MODEL,
            name="quotas-older-default",
            source=f"{SRC_QUOTAS} (older revision)",
            note="Older docs list a default quota of 1,000 nodes per cluster.",
            max_nodes_per_cluster=1000,
        ),
    )
})
"""The model's revision and every conflicting revision it knows, by name."""
