"""The Kubernetes side: `kubectl get ... -o yaml` -> the manifests the simulation reads, with
nothing secret kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from services.importer.common import ImportError_, Out
from sim import Issue
from sim.scenario import Path, load_documents

SIMULATED_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "PodDisruptionBudget", "Service",
                   "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "Namespace"}
NOT_YET = {
    "Pod": "a bare pod (no controller) is not placed: its maxPods slot, requests and address "
           "are missing",
    "ReplicaSet": "its pods are simulated through their Deployment; a ReplicaSet without one "
                  "is not placed",
    "Job": "its pods are not placed: while they run they take maxPods slots, requests and "
           "addresses the simulation leaves free",
    "CronJob": "the pods of its runs are not placed: while they run they take maxPods slots, "
               "requests and addresses the simulation leaves free",
    "PersistentVolumeClaim": "volumes are not simulated (no zone pinning of a pod to its disk)",
    "ResourceQuota": "quotas are not enforced: the simulation may create pods a quota refuses",
    "LimitRange": "default requests are not applied: containers without requests request 0",
    "EndpointSlice": "endpoints come from the Services' selectors (manual endpoints are "
                     "missing)",
}
"""Kinds the simulation leaves out, each with what leaving it out changes (the import warns
once per kind)."""
KEPT_ANNOTATIONS = re.compile(r"^(service\.beta\.kubernetes\.io/|nginx\.ingress\.kubernetes\.io/|"
                              r"kubernetes\.io/ingress\.class$|external-dns\.alpha\.kubernetes\.io/|"
                              r"cert-manager\.io/)")
SECRET_WORDS = re.compile(r"(password|passwd|secret|token|apikey|api[-_]key|credential|"
                          r"private[-_]?key|connectionstring|sas)", re.I)


SKIPPED_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease", "gatekeeper-system",
                      "calico-system", "tigera-operator", "app-routing-system"}
AKS_OWN = "<aks>"
DROPPED_POD_FIELDS = ("env", "envFrom", "args", "command", "volumeMounts", "volumeDevices",
                      "lifecycle", "livenessProbe", "startupProbe")


def _clean(value: Any) -> Any:
    """A copy without any key that names a credential."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not SECRET_WORDS.search(str(k))}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in spec.items() if k not in ("volumes", "imagePullSecrets")}
    for key in ("containers", "initContainers"):
        if isinstance(spec.get(key), list):
            spec[key] = [{k: v for k, v in c.items() if k not in DROPPED_POD_FIELDS}
                         for c in spec[key] if isinstance(c, dict)]
    return spec


def _sanitise(obj: dict[str, Any]) -> dict[str, Any]:
    """What the simulation reads of *obj*, and nothing that could be secret."""
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if KEPT_ANNOTATIONS.match(str(k)) and not SECRET_WORDS.search(f"{k}={v}")}
    out: dict[str, Any] = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                           "metadata": {"name": meta.get("name")}}
    for key, value in (("namespace", meta.get("namespace")), ("labels", meta.get("labels")),
                       ("annotations", annotations)):
        if value:
            out["metadata"][key] = value
    spec = dict(obj.get("spec") or {})
    template = spec.get("template")
    if isinstance(template, dict):
        tmeta = {k: v for k, v in (template.get("metadata") or {}).items() if k == "labels"}
        spec["template"] = {"metadata": tmeta, "spec": _pod_spec(dict(template.get("spec") or {}))}
    if obj.get("kind") == "Service":
        spec = {k: v for k, v in spec.items() if k not in ("clusterIP", "clusterIPs")}
    if spec:
        out["spec"] = _clean(spec)
    return out


@dataclass
class Workloads:
    """What an import takes from a ``kubectl get ... -o yaml`` dump."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    secrets_dropped: int = 0


def kubernetes_objects(path: str, out: Out) -> Workloads:
    from sim.scenario import read_file

    text, problem = read_file(path)
    if problem is not None or text is None:
        raise ImportError_([problem or Issue("", "empty file", path)])
    docs, issues = load_documents(text, path)
    if any(i.severity == "error" for i in issues):
        raise ImportError_(issues)
    found = Workloads()
    skipped: dict[str, int] = {}
    for doc in docs:
        data = doc.data
        if data is None:
            continue
        items = data.get("items") if isinstance(data, dict) and data.get("kind") == "List" else None
        where: list[tuple[Path, Any]] = ([(("items", i), item) for i, item in enumerate(items)]
                                         if isinstance(items, list) else [((), data)])
        if not isinstance(data, dict) or (items is None and "kind" not in data):
            raise ImportError_([doc.issue((), "expected Kubernetes objects (kubectl get ... -o "
                                              "yaml: a List with items), found "
                                              f"{type(data).__name__}")])
        for at, obj in where:
            if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
                raise ImportError_([doc.issue(at, "expected a Kubernetes object with a kind")])
            kind = obj["kind"]
            namespace = (obj.get("metadata") or {}).get("namespace") or "default"
            name = (obj.get("metadata") or {}).get("name")
            if kind in ("Secret", "ConfigMap"):
                found.secrets_dropped += 1
            elif namespace in SKIPPED_NAMESPACES or (kind == "Service" and name == "kubernetes"
                                                     and namespace == "default"):
                skipped[AKS_OWN] = skipped.get(AKS_OWN, 0) + 1
            elif kind in SIMULATED_KINDS:
                found.objects.append(_sanitise(obj))
            else:
                skipped[kind] = skipped.get(kind, 0) + 1
    for kind, count in sorted(skipped.items()):
        if kind == AKS_OWN:
            out.warnings.append(Issue("workloads", f"{count} object(s) of kube-system, the API "
                                      "server's Service and AKS's add-on namespaces left out: the "
                                      "simulation has its own (CoreDNS and kube-proxy are modelled)",
                                      path, severity="warning"))
            continue
        why = NOT_YET.get(kind, "kind not simulated")
        out.warnings.append(Issue("workloads", f"{count} {kind} object(s) left out: {why}",
                                  path, severity="warning"))
    if found.secrets_dropped:
        out.warnings.append(Issue("workloads", f"{found.secrets_dropped} Secret/ConfigMap "
                                  "object(s) dropped (never copied into a scenario)", path,
                                  severity="warning"))
    return found
