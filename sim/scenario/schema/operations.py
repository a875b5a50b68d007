"""``operations:``: what an operator does while the run goes (``az aks nodepool scale`` and
``upgrade``, ``kubectl scale``, ``kubectl apply`` / ``delete`` of a NetworkPolicy or an Ingress)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.scenario.schema.types import INT32_MAX, Duration, SpecModel, Surge, Version


class ScaleNodePool(SpecModel):
    """``az aks nodepool scale``: set the node count."""

    operation: Literal["scale"]
    at: Duration
    node_pool: str
    count: Annotated[int, Field(ge=0)]
    """At most 1,000 nodes per pool."""


class UpgradeNodePool(SpecModel):
    """``az aks nodepool upgrade``: rolling upgrade with surge nodes."""

    operation: Literal["upgrade"]
    at: Duration
    node_pool: str
    kubernetes_version: Version | None = None
    max_surge: Surge | None = None
    """Override of the pool's maxSurge for this upgrade."""
    node_image_only: bool = False
    """``az aks nodepool upgrade --node-image-only``: reimage every node to the latest node
    image, same surge and drain, Kubernetes version unchanged."""

    @model_validator(mode="after")
    def _image_or_version(self) -> UpgradeNodePool:
        if self.node_image_only and self.kubernetes_version is not None:
            raise ValueError("nodeImageOnly upgrades the node image only: it cannot be given "
                             "with kubernetesVersion (as az aks nodepool upgrade refuses)")
        return self


class ScaleDeployment(SpecModel):
    """``kubectl scale deployment``: set the replicas of a Deployment."""

    operation: Literal["scale_deployment"]
    at: Duration
    deployment: str
    replicas: Annotated[int, Field(ge=0, le=INT32_MAX)]


class NetworkPolicyChange(SpecModel):
    """``kubectl apply`` / ``kubectl delete`` of a NetworkPolicy while the run goes."""

    operation: Literal["network_policy"]
    at: Duration
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 NetworkPolicy to create or replace."""
    delete: str | None = None
    """``namespace/name`` of a NetworkPolicy to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> NetworkPolicyChange:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (a NetworkPolicy) or delete "
                             "(namespace/name)")
        return self


class IngressChange(SpecModel):
    """``kubectl apply`` / ``kubectl delete`` of an Ingress while the run goes."""

    operation: Literal["ingress"]
    at: Duration
    apply: dict[str, Any] | None = None
    """A networking.k8s.io/v1 Ingress to create or replace."""
    delete: str | None = None
    """``namespace/name`` of an Ingress to delete."""

    @model_validator(mode="after")
    def _one_of(self) -> IngressChange:
        if (self.apply is None) == (self.delete is None):
            raise ValueError("expected exactly one of apply (an Ingress) or delete (namespace/name)")
        return self


Operation = Annotated[ScaleNodePool | UpgradeNodePool | ScaleDeployment | NetworkPolicyChange
                      | IngressChange, Field(discriminator="operation")]

