"""The VNet: `az network vnet show` -> the scenario's ``cluster.vnet`` (address space, subnets,
the addresses other resources already hold in them), or assumed subnets without ``--vnet``."""

from __future__ import annotations

from typing import Any

from services.importer.common import ImportError_, Out, get, scalar
from sim import Issue
from sim.scenario import Located

VNET_TYPE = "microsoft.network/virtualnetworks"


def _held_by_others(subnet: dict[str, Any], node_group: str | None) -> int:
    """Addresses of the subnet held by anything but this cluster's node VMSS (its NICs hold
    the nodes' and, on Azure CNI, the pods' addresses: the simulation takes those itself)."""
    held = 0
    for config in subnet.get("ipConfigurations") or []:
        rid = str((config or {}).get("id") or "").lower()
        ours = node_group and f"/resourcegroups/{node_group.lower()}/" in rid and (
            "/virtualmachinescalesets/aks-" in rid)
        held += 0 if ours else 1
    return held


def _vnet_assumed(names: set[str], out: Out) -> None:
    """No ``--vnet``: each subnet the pools name is assumed a /16 of 10.224.0.0/12 (a warning)."""
    if not names:
        return
    out.warnings.append(Issue("cluster.vnet", f"the pools use subnet(s) "
                              f"{', '.join(sorted(names))} of a VNet that was not given "
                              f"(--vnet): assumed 10.224.0.0/16 each, from 10.224.0.0/12",
                              severity="warning"))
    out.put(1, "vnet", None)
    out.put(2, "managed", False, "agentPoolProfiles[].vnetSubnetId (bring your own VNet)")
    out.put(2, "addressSpace", ["10.224.0.0/12"], "assumed: no --vnet")
    out.put(2, "subnets", None)
    for i, name in enumerate(sorted(names)):
        out.raw(f"      - name: {scalar(name)}  # from agentPoolProfiles[].vnetSubnetId")
        out.put(4, "addressPrefix", f"10.{224 + i}.0.0/16", "assumed: no --vnet")


def _vnet_subnet(vdoc: Located, i: int, subnet: dict[str, Any], node_group: str | None,
                 out: Out) -> bool:
    """One subnet of ``az network vnet show``; False (and a warning) if it has no IPv4 prefix."""
    src = f"vnet: subnets[{i}]"
    prefix = subnet.get("addressPrefix") or next(
        (p for p in subnet.get("addressPrefixes") or [] if ":" not in p), None)
    if not prefix:
        out.warnings.append(vdoc.issue(("subnets", i), f"subnet {subnet.get('name')} has no "
                                       "IPv4 prefix: left out", severity="warning"))
        return False
    out.raw(f"      - name: {scalar(subnet.get('name'))}  # from {src}.name")
    out.put(4, "addressPrefix", prefix, f"{src}.addressPrefix")
    table = (subnet.get("routeTable") or {}).get("id")
    if table:
        out.put(4, "routeTable", table.rsplit("/", 1)[-1], f"{src}.routeTable.id")
    endpoints = [e.get("service") for e in subnet.get("serviceEndpoints") or [] if e.get("service")]
    if endpoints:
        out.put(4, "serviceEndpoints", endpoints, f"{src}.serviceEndpoints")
    held = _held_by_others(subnet, node_group)
    if held:
        out.put(4, "heldAddresses", held, f"{src}.ipConfigurations not on this cluster's nodes")
    if (subnet.get("networkSecurityGroup") or {}).get("id"):
        out.warnings.append(vdoc.issue(("subnets", i, "networkSecurityGroup"), "the subnet's "
                                       "NSG rules are not in `az network vnet show`: add them "
                                       "as securityRules (az network nsg rule list)",
                                       severity="warning"))
    return True


def vnet(vdoc: Located | None, names: set[str], node_group: str | None, out: Out) -> None:
    if vdoc is None:
        _vnet_assumed(names, out)
        return
    data = vdoc.data
    if not isinstance(data, dict) or str(data.get("type", "")).lower() != VNET_TYPE:
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ImportError_([vdoc.issue(("type",), f"expected Microsoft.Network/virtualNetworks "
                                       f"(the output of `az network vnet show`), found {found!r}")])
    prefixes = [p for p in get(vdoc, ("addressSpace", "addressPrefixes")) or [] if ":" not in p]
    if not prefixes:
        raise ImportError_([vdoc.issue(("addressSpace", "addressPrefixes"), "expected the VNet's "
                                       "IPv4 address prefixes, found none")])
    out.put(1, "vnet", None)
    out.put(2, "name", data.get("name") or "vnet", "vnet: name")
    out.put(2, "managed", False, "vnet: a VNet you manage (az network vnet show)")
    out.put(2, "addressSpace", prefixes, "vnet: addressSpace.addressPrefixes")
    out.put(2, "subnets", None)
    listed = set()
    for i, subnet in enumerate(get(vdoc, ("subnets",)) or []):
        if _vnet_subnet(vdoc, i, subnet, node_group, out):
            listed.add(subnet.get("name"))
    missing = names - listed
    if missing:
        raise ImportError_([vdoc.issue(("subnets",), f"expected the subnet(s) the pools use "
                                       f"({', '.join(sorted(missing))}), found "
                                       f"{', '.join(sorted(n for n in listed if n)) or 'none'}: is "
                                       f"this the cluster's VNet?")])
