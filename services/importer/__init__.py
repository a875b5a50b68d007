"""``aks-sim import``: a scenario from what ``az`` and ``kubectl`` already print.

Inputs (each optional but the first):
- ``--aks``: ``az aks show -o json``, or an ARM template export holding the
  ``Microsoft.ContainerService/managedClusters`` resource;
- ``--vnet``: ``az network vnet show -o json`` (address space, subnets, and the addresses other
  resources already hold in them);
- ``--k8s``: ``kubectl get deploy,sts,ds,svc,ing,netpol,hpa,pdb -A -o yaml`` (a ``List``).

The scenario it writes runs as is. Every value carries a comment saying where it came from;
everything that could not be carried over is a warning (printed, and listed at the top of the
file). Nothing secret survives: Secrets and ConfigMaps are dropped, and so are environment
values, annotations that are not about networking, and any field that looks like a
credential. Bad input is a located error (``file:line:col: field: found ..., expected ...``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from services.importer import azure, virtual_network
from services.importer.common import ImportError_, Out, get, read_json, scalar
from services.importer.kubernetes import kubernetes_objects
from sim import Issue

__all__ = ["ImportError_", "Imported", "build"]


@dataclass
class Imported:
    """An import's scenario text, its manifests file (or None) and its warnings."""

    scenario: str
    manifests: str | None
    warnings: list[Issue]


def build(aks: str, vnet: str | None = None, k8s: str | None = None,
          manifests_name: str = "manifests.yaml") -> Imported:
    """Import the files at *aks*, *vnet* and *k8s* (paths as the user gave them).

    Raises:
        ImportError_: an input cannot be read or is not what its flag expects (located).
    """
    import yaml

    doc = read_json(aks)
    root = azure.cluster_root(doc)
    out = Out()
    if not root:
        azure.unknown_fields(doc, (), azure.KNOWN_CLUSTER, out)
    name_path = (*root[:-1], "name") if root else ("name",)
    raw_name = str(get(doc, name_path) or "imported")
    name = re.sub(r"[^a-z0-9-]+", "-", raw_name.lower()).strip("-")[:63] or "imported"
    out.raw(f"name: {scalar(name)}  # from {'.'.join(str(p) for p in name_path)}")
    out.raw(f"description: {scalar(f'The AKS cluster {raw_name}, imported by aks-sim import')}")
    out.raw("duration: 1h  # how long to simulate: change it to what you want to ask")
    out.raw("cluster:")
    out.put(1, "name", name, ".".join(str(p) for p in name_path))
    version = azure.version(doc, root)
    if version:
        out.put(1, "kubernetesVersion", version, "kubernetesVersion")
    azure.network(doc, root, out)
    zones = azure.zones_of(doc, (*root, "agentPoolProfiles"))
    out.put(1, "zones", zones or ["1"], "agentPoolProfiles[].availabilityZones" if zones else
            "no pool uses availability zones: one zone stands for the region")
    body = Out(warnings=out.warnings)
    subnets = azure.pools(doc, root, zones or ["1"], body)
    vdoc = read_json(vnet) if vnet else None
    node_group = get(doc, (*root, "nodeResourceGroup"))
    virtual_network.vnet(vdoc, subnets, node_group, out)
    out.lines += body.lines
    azure.autoscaler(doc, root, out)
    manifests_text = None
    if k8s:
        found = kubernetes_objects(k8s, out)
        if found.objects:
            manifests_text = yaml.safe_dump_all(found.objects, sort_keys=False)
            out.raw("workloads:")
            out.raw(f"  - manifests: {scalar(manifests_name)}  # from {os.path.basename(k8s)}: "
                    f"{len(found.objects)} objects")
    header = [f"# Imported by `aks-sim import` from {os.path.basename(aks)}"
              + (f", {os.path.basename(vnet)}" if vnet else "")
              + (f" and {os.path.basename(k8s)}" if k8s else "") + "."]
    header += [f"# warning: {w.path + ': ' if w.path else ''}{w.message}" for w in out.warnings]
    return Imported("\n".join(header + out.lines) + "\n", manifests_text, out.warnings)
