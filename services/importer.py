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

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from sim.errors import Issue
from sim.scenario.yamlmarks import Located, Path, load_document, load_documents

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
VNET_TYPE = "microsoft.network/virtualnetworks"
SIMULATED_KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy",
                   "Namespace"}
NOT_YET = {
    "StatefulSet": "its pods are not placed: their maxPods slots, addresses (Azure CNI) and "
                   "traffic are missing",
    "DaemonSet": "its pods (one per node) are not placed: they take a maxPods slot on every "
                 "node and, on Azure CNI without hostNetwork, an address each",
    "PodDisruptionBudget": "upgrades and scale-downs drain without it (an upgrade it would "
                           "stall goes through)",
}
KEPT_ANNOTATIONS = re.compile(r"^(service\.beta\.kubernetes\.io/|nginx\.ingress\.kubernetes\.io/|"
                              r"kubernetes\.io/ingress\.class$|external-dns\.alpha\.kubernetes\.io/|"
                              r"cert-manager\.io/)")
SECRET_WORDS = re.compile(r"(password|passwd|secret|token|apikey|api[-_]key|credential|"
                          r"private[-_]?key|connectionstring|sas)", re.I)

# What `az aks show` carries (API 2025-xx): anything else is new to this importer.
KNOWN_CLUSTER = {
    "aadProfile", "addonProfiles", "agentPoolProfiles", "aiToolchainOperatorProfile",
    "apiServerAccessProfile", "autoScalerProfile", "autoUpgradeProfile", "azureMonitorProfile",
    "azurePortalFqdn", "bootstrapProfile", "currentKubernetesVersion", "disableLocalAccounts",
    "diskEncryptionSetId", "dnsPrefix", "eTag", "enablePodSecurityPolicy", "enableRbac",
    "extendedLocation", "fqdn", "fqdnSubdomain", "hostedSystemProfile", "httpProxyConfig", "id",
    "identity", "identityProfile", "ingressProfile", "kind", "kubernetesVersion", "linuxProfile",
    "location", "maxAgentPools", "metricsProfile", "name", "networkProfile",
    "nodeProvisioningProfile", "nodeResourceGroup", "nodeResourceGroupProfile", "oidcIssuerProfile",
    "podIdentityProfile", "powerState", "privateFqdn", "privateLinkResources", "provisioningState",
    "publicNetworkAccess", "resourceGroup", "resourceUid", "schedulerProfile", "securityProfile",
    "serviceMeshProfile", "servicePrincipalProfile", "sku", "status", "storageProfile",
    "supportPlan", "systemData", "tags", "type", "upgradeSettings", "windowsProfile",
    "workloadAutoScalerProfile", "enableRBAC", "apiVersion", "dependsOn", "properties",
}
KNOWN_NETWORK = {
    "advancedNetworking", "dnsServiceIp", "dnsServiceIP", "dockerBridgeCidr", "ipFamilies",
    "loadBalancerProfile", "loadBalancerSku", "natGatewayProfile", "networkDataplane",
    "networkMode", "networkPlugin", "networkPluginMode", "networkPolicy", "outboundType",
    "podCidr", "podCidrs", "serviceCidr", "serviceCidrs", "staticEgressGatewayProfile",
    "kubeProxyConfig", "podLinkLocalAccess",
}
KNOWN_POOL = {
    "artifactStreamingProfile", "availabilityZones", "capacityReservationGroupId", "count",
    "creationData", "currentOrchestratorVersion", "eTag", "enableAutoScaling",
    "enableCustomCaTrust", "enableEncryptionAtHost", "enableFips", "enableNodePublicIp",
    "enableUltraSsd", "gatewayProfile", "gpuInstanceProfile", "gpuProfile", "hostGroupId", "id",
    "kubeletConfig", "kubeletDiskType", "linuxOsConfig", "localDnsProfile", "maxCount", "maxPods",
    "messageOfTheDay", "minCount", "mode", "name", "networkProfile", "nodeImageVersion",
    "nodeLabels", "nodePublicIpPrefixId", "nodeTaints", "orchestratorVersion", "osDiskSizeGb",
    "osDiskSizeGB", "osDiskType", "osSku", "osType", "podIpAllocationMode", "podSubnetId",
    "podSubnetID", "vnetSubnetID", "powerState", "provisioningState", "proximityPlacementGroupId",
    "resourceGroup", "scaleDownMode", "scaleSetEvictionPolicy", "scaleSetPriority",
    "securityProfile", "spotMaxPrice", "status", "systemData", "tags", "type",
    "typePropertiesType", "upgradeSettings", "virtualMachineNodesStatus", "virtualMachinesProfile",
    "vmSize", "vnetSubnetId", "windowsProfile", "workloadRuntime", "nodeInitializationTaints",
}
AUTOSCALER_KEYS = {  # autoScalerProfile (kebab-case, as az prints it) -> scenario key
    "scan-interval": "scanInterval", "scale-down-delay-after-add": "scaleDownDelayAfterAdd",
    "scale-down-delay-after-failure": "scaleDownDelayAfterFailure",
    "scale-down-unneeded-time": "scaleDownUnneededTime",
    "scale-down-unready-time": "scaleDownUnreadyTime",
    "scale-down-utilization-threshold": "scaleDownUtilizationThreshold",
    "max-node-provision-time": "maxNodeProvisionTime",
    "new-pod-scale-up-delay": "newPodScaleUpDelay",
}
AUTOSCALER_NOT_MODELLED = {  # not simulated; AKS's default (cluster-autoscaler.md) is assumed
    "balance-similar-node-groups": "false", "daemonset-eviction-for-empty-nodes": "false",
    "daemonset-eviction-for-occupied-nodes": "true", "expander": "random",
    "ignore-daemonsets-utilization": "false", "max-empty-bulk-delete": "10",
    "max-graceful-termination-sec": "600", "max-total-unready-percentage": "45",
    "ok-total-unready-count": "3", "scale-down-delay-after-delete": "10s",
    "skip-nodes-with-local-storage": "false", "skip-nodes-with-system-pods": "true",
}


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """An input cannot be imported; ``issues`` say where and why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(i.render() for i in issues))
        self.issues = issues


@dataclass
class Out:
    """The scenario being written: lines with their comments, and the warnings."""

    lines: list[str] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def put(self, indent: int, key: str, value: Any, source: str | None = None) -> None:
        text = f"{'  ' * indent}{key}:" + ("" if value is None else f" {_scalar(value)}")
        self.lines.append(f"{text}  # from {source}" if source else text)

    def raw(self, line: str) -> None:
        self.lines.append(line)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return json.dumps(str(value))  # a JSON string is a YAML string, whatever it holds


def _read(path: str) -> Located:
    """A JSON (or YAML) input with positions; ImportError_ when it is not readable or not JSON."""
    from sim.scenario import read_file

    text, problem = read_file(path)
    if problem is not None or text is None:
        raise ImportError_([problem or Issue("", "empty file", path)])
    try:
        json.loads(text)
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise ImportError_([Issue("", f"not JSON: {getattr(exc, 'msg', exc)} (expected the output "
                                      f"of `az ... -o json`)", path, line, col)]) from None
    doc, issues = load_document(text, path)
    if doc is None:
        raise ImportError_(issues)
    return doc


def _get(doc: Located, path: Path) -> Any:
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def _cluster_root(doc: Located) -> Path:
    """Where the managedClusters resource's properties are: ``()`` for `az aks show`, or the
    resource's ``properties`` in an ARM export. Errors name the field."""
    data = doc.data
    if not isinstance(data, dict):
        raise ImportError_([doc.issue((), "expected a JSON object (the output of `az aks show "
                                          "-o json`)")])
    resources = data.get("resources")
    if isinstance(resources, list):  # an ARM template export
        for i, r in enumerate(resources):
            if isinstance(r, dict) and str(r.get("type", "")).lower() == CLUSTER_TYPE:
                return ("resources", i, "properties")
        raise ImportError_([doc.issue(("resources",), "expected a resource of type "
                                      "Microsoft.ContainerService/managedClusters in this ARM "
                                      "template, found none")])
    kind = str(data.get("type", ""))
    if kind.lower() != CLUSTER_TYPE:
        hint = (" (that is `az network vnet show`: pass it with --vnet)" if kind.lower() == VNET_TYPE
                else "")
        raise ImportError_([doc.issue(("type",), f"expected Microsoft.ContainerService/"
                                      f"ManagedClusters (the output of `az aks show`), found "
                                      f"{kind or 'no type'!r}{hint}")])
    return ()


def _unknown(doc: Located, path: Path, known: set[str], out: Out) -> None:
    node = _get(doc, path) if path else doc.data
    for key in sorted(node or {}):
        if key not in known:
            out.warnings.append(doc.issue((*path, key), f"unknown field {key!r} (a newer az?): "
                                          "ignored", key=True, severity="warning"))


def _subnet_name(resource_id: str | None) -> str | None:
    if not resource_id:
        return None
    match = re.search(r"/subnets/([^/]+)$", resource_id, re.I)
    return match.group(1) if match else None


def _duration(text: Any) -> str | None:
    """An autoscaler duration (``10m``, ``30s``, ``1h``) as the scenario writes it."""
    return str(text) if re.fullmatch(r"\d+(\.\d+)?(ms|s|m|h)", str(text)) else None


def _vm_size(name: str, doc: Located, where: Path, out: Out) -> str:
    from sim.vmsizes import VM_SIZES

    if name in VM_SIZES:
        return name
    cores = re.match(r"^Standard_[A-Za-z]+(\d+)", name)
    same = sorted(s for s, (c, _) in VM_SIZES.items() if cores and c == int(cores.group(1)))
    pick = next((s for s in same if s.startswith("Standard_D") and s.endswith("s_v5")), None)
    pick = pick or (same[0] if same else "Standard_D4s_v3")
    out.warnings.append(doc.issue(where, f"VM size {name} is not in aks-sim's table: simulated as "
                                  f"{pick} ({VM_SIZES[pick][0]} vCPUs, {VM_SIZES[pick][1]:g} GiB); "
                                  f"edit vmSize if its memory matters", severity="warning"))
    return pick


# --- the cluster ---------------------------------------------------------------------------

def _choice(doc: Located, path: Path, allowed: tuple[str | None, ...], what: str) -> str | None:
    value = _get(doc, path)
    if value not in allowed:
        shown = ", ".join(a for a in allowed if a)
        raise ImportError_([doc.issue(path, f"expected {what} ({shown}), found {value!r}: not a "
                                            f"kind of cluster AKS has")])
    return value


def _network(doc: Located, root: Path, out: Out) -> str:
    """``networkProfile`` -> the cluster's network keys; returns the plugin (kubenet, azure, none)."""
    np_ = (*root, "networkProfile")
    if not isinstance(_get(doc, np_), dict):
        raise ImportError_([doc.issue(np_, "expected the cluster's networkProfile (an object), "
                                           "found none")])
    _unknown(doc, np_, KNOWN_NETWORK, out)
    src = "networkProfile"
    plugin = _choice(doc, (*np_, "networkPlugin"), ("azure", "kubenet", "none"), "a network plugin")
    mode = _choice(doc, (*np_, "networkPluginMode"), (None, "overlay"), "a plugin mode")
    policy = _choice(doc, (*np_, "networkPolicy"), (None, "none", "azure", "calico", "cilium"),
                     "a network policy engine")
    if _get(doc, (*np_, "networkDataplane")) == "cilium" and policy in (None, "none"):
        policy = "cilium"
    out.put(1, "networkPlugin", plugin, f"{src}.networkPlugin")
    if mode:
        out.put(1, "networkPluginMode", mode, f"{src}.networkPluginMode")
    out.put(1, "networkPolicy", policy or "none", f"{src}.networkPolicy")
    if (plugin == "kubenet" or mode == "overlay") and _get(doc, (*np_, "podCidr")):
        out.put(1, "podCidr", _get(doc, (*np_, "podCidr")), f"{src}.podCidr")
    for key, name in (("serviceCidr", "serviceCidr"), ("dnsServiceIp", "dnsServiceIP"),
                      ("dnsServiceIP", "dnsServiceIP")):
        if _get(doc, (*np_, key)):
            out.put(1, name, _get(doc, (*np_, key)), f"{src}.{key}")
    outbound = _get(doc, (*np_, "outboundType")) or "loadBalancer"
    if outbound != "loadBalancer":
        out.warnings.append(doc.issue((*np_, "outboundType"), f"outbound type {outbound} is not "
                                      "simulated: outbound SNAT follows the load balancer's port "
                                      "model", severity="warning"))
    if str(_get(doc, (*np_, "loadBalancerSku")) or "standard").lower() != "standard":
        out.warnings.append(doc.issue((*np_, "loadBalancerSku"), "a Basic load balancer is "
                                      "simulated as Standard", severity="warning"))
    _load_balancer(doc, (*np_, "loadBalancerProfile"), out)
    proxy = _get(doc, (*np_, "kubeProxyConfig"))
    if isinstance(proxy, dict) and proxy.get("enabled") is not False and proxy.get("mode"):
        out.put(1, "kubeProxyConfig", None)
        out.put(2, "mode", proxy["mode"], f"{src}.kubeProxyConfig.mode")
        scheduler = (proxy.get("ipvsConfig") or {}).get("scheduler")
        if scheduler:
            out.put(2, "ipvsConfig", None)
            out.put(3, "scheduler", scheduler, f"{src}.kubeProxyConfig.ipvsConfig.scheduler")
    return str(plugin)


def _load_balancer(doc: Located, path: Path, out: Out) -> None:
    lb = _get(doc, path)
    if not isinstance(lb, dict):
        return
    src = "networkProfile.loadBalancerProfile"
    lines: list[tuple[str, Any, str]] = []
    managed = (lb.get("managedOutboundIPs") or {}).get("count")
    given = (lb.get("outboundIPs") or {}).get("publicIPs") or []
    if managed:
        lines.append(("managedOutboundIPs", int(managed), f"{src}.managedOutboundIPs.count"))
    elif given:
        lines.append(("managedOutboundIPs", len(given), f"{src}.outboundIPs.publicIPs (count)"))
    if lb.get("outboundIpPrefixes") or lb.get("outboundIPPrefixes"):
        out.warnings.append(doc.issue(path, "outbound IP prefixes are not simulated: give their "
                                      "addresses as managedOutboundIPs", severity="warning"))
    if lb.get("allocatedOutboundPorts") is not None:
        lines.append(("allocatedOutboundPorts", int(lb["allocatedOutboundPorts"]),
                      f"{src}.allocatedOutboundPorts"))
    if lb.get("idleTimeoutInMinutes") is not None:
        lines.append(("idleTimeoutInMinutes", int(lb["idleTimeoutInMinutes"]),
                      f"{src}.idleTimeoutInMinutes"))
    if lines:
        out.put(1, "loadBalancerProfile", None)
        for key, value, source in lines:
            out.put(2, key, value, source)


def _autoscaler(doc: Located, root: Path, out: Out) -> None:
    path = (*root, "autoScalerProfile")
    profile = _get(doc, path)
    if not isinstance(profile, dict):
        return
    kept: list[tuple[str, Any, str]] = []
    ignored = []
    for key, value in sorted(profile.items()):
        if value is None:
            continue
        if key in AUTOSCALER_KEYS:
            name = AUTOSCALER_KEYS[key]
            if name == "scaleDownUtilizationThreshold":
                try:
                    kept.append((name, float(value), f"autoScalerProfile.{key}"))
                except ValueError:
                    out.warnings.append(doc.issue((*path, key), f"expected a number, found "
                                                  f"{value!r}: the AKS default is kept",
                                                  severity="warning"))
            elif _duration(value):
                kept.append((name, _duration(value), f"autoScalerProfile.{key}"))
            else:
                out.warnings.append(doc.issue((*path, key), f"expected a duration such as 10m, "
                                              f"found {value!r}: the AKS default is kept",
                                              severity="warning"))
        elif key in AUTOSCALER_NOT_MODELLED:
            if str(value).lower() != AUTOSCALER_NOT_MODELLED[key]:
                ignored.append(f"{key}={value} (the AKS default {AUTOSCALER_NOT_MODELLED[key]} "
                               f"is simulated)")
        else:
            out.warnings.append(doc.issue((*path, key), f"unknown autoscaler setting {key!r} (a "
                                          "newer az?): ignored", key=True, severity="warning"))
    if ignored:
        out.warnings.append(doc.issue(path, f"not simulated: {'; '.join(ignored)}",
                                      severity="warning"))
    if kept:
        out.put(1, "autoscalerProfile", None)
        for name, value, source in kept:
            out.put(2, name, value, source)


def _version(doc: Located, root: Path) -> str | None:
    for key in ("kubernetesVersion", "currentKubernetesVersion"):
        value = _get(doc, (*root, key))
        match = re.match(r"^(\d+\.\d+)", str(value or ""))
        if match:
            return match.group(1)
    return None


def _zones_of(doc: Located, pools: Path) -> list[str]:
    zones: set[str] = set()
    for pool in _get(doc, pools) or []:
        zones.update(str(z) for z in (pool.get("availabilityZones") or []))
    return sorted(zones)


def _pools(doc: Located, root: Path, zones: list[str], out: Out) -> set[str]:
    """``agentPoolProfiles`` -> ``nodePools``; returns the subnets the pools name."""
    path = (*root, "agentPoolProfiles")
    pools = _get(doc, path)
    if not isinstance(pools, list) or not pools:
        raise ImportError_([doc.issue(path, "expected agentPoolProfiles (a list of node pools), "
                                            "found none")])
    subnets: set[str] = set()
    out.put(1, "nodePools", None)
    for i, pool in enumerate(pools):
        at = (*path, i)
        src = f"agentPoolProfiles[{i}]"
        if not isinstance(pool, dict) or not re.fullmatch(r"[a-z][a-z0-9]{0,11}", str(pool.get("name"))):
            raise ImportError_([doc.issue((*at, "name"), f"expected a pool name (lowercase letters "
                                          f"and digits, at most 12), found "
                                          f"{pool.get('name') if isinstance(pool, dict) else pool!r}")])
        _unknown(doc, at, KNOWN_POOL, out)
        out.raw(f"    - name: {_scalar(pool['name'])}  # from {src}.name")
        mode = pool.get("mode") or "User"
        if mode not in ("System", "User"):
            out.warnings.append(doc.issue((*at, "mode"), f"pool mode {mode} is simulated as User",
                                          severity="warning"))
            mode = "User"
        out.put(3, "mode", mode, f"{src}.mode")
        out.put(3, "vmSize", _vm_size(str(pool.get("vmSize") or "Standard_D4s_v3"), doc,
                                      (*at, "vmSize"), out), f"{src}.vmSize")
        out.put(3, "count", int(pool.get("count") or 0), f"{src}.count")
        if pool.get("maxPods") is not None:
            out.put(3, "maxPods", int(pool["maxPods"]), f"{src}.maxPods")
        own = [str(z) for z in pool.get("availabilityZones") or []]
        if own:
            out.put(3, "zones", own, f"{src}.availabilityZones")
        elif len(zones) > 1:
            out.warnings.append(doc.issue((*at, "availabilityZones"), f"pool {pool['name']} uses no "
                                          f"availability zones: simulated spread over zones "
                                          f"{', '.join(zones)}", severity="warning"))
        for key, name in (("vnetSubnetId", "vnetSubnet"), ("vnetSubnetID", "vnetSubnet"),
                          ("podSubnetId", "podSubnet"), ("podSubnetID", "podSubnet")):
            subnet = _subnet_name(pool.get(key))
            if subnet:
                subnets.add(subnet)
                out.put(3, name, subnet, f"{src}.{key}")
        if pool.get("podIpAllocationMode") in ("DynamicIndividual", "StaticBlock"):
            out.put(3, "podIPAllocationMode", pool["podIpAllocationMode"],
                    f"{src}.podIpAllocationMode")
        if pool.get("enableAutoScaling"):
            out.put(3, "enableAutoScaling", True, f"{src}.enableAutoScaling")
            out.put(3, "minCount", int(pool.get("minCount") or 0), f"{src}.minCount")
            out.put(3, "maxCount", int(pool.get("maxCount") or pool.get("count") or 0),
                    f"{src}.maxCount")
        surge = (pool.get("upgradeSettings") or {}).get("maxSurge")
        if surge:
            out.put(3, "maxSurge", str(surge), f"{src}.upgradeSettings.maxSurge")
        if pool.get("nodeLabels"):
            out.put(3, "nodeLabels", {str(k): str(v) for k, v in pool["nodeLabels"].items()},
                    f"{src}.nodeLabels")
        if pool.get("nodeTaints"):
            out.warnings.append(doc.issue((*at, "nodeTaints"), f"node taints "
                                          f"{', '.join(pool['nodeTaints'])} are not simulated: pods "
                                          f"without a toleration may be placed on {pool['name']}",
                                          severity="warning"))
        if str(pool.get("osType") or "Linux") != "Linux":
            out.warnings.append(doc.issue((*at, "osType"), f"{pool.get('osType')} nodes are "
                                          "simulated as Linux nodes", severity="warning"))
    return subnets


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


def _vnet(vdoc: Located | None, names: set[str], node_group: str | None, out: Out) -> None:
    if vdoc is None:
        if names:
            out.warnings.append(Issue("cluster.vnet", f"the pools use subnet(s) "
                                      f"{', '.join(sorted(names))} of a VNet that was not given "
                                      f"(--vnet): assumed 10.224.0.0/16 each, from 10.224.0.0/12",
                                      severity="warning"))
            out.put(1, "vnet", None)
            out.put(2, "managed", False, "agentPoolProfiles[].vnetSubnetId (bring your own VNet)")
            out.put(2, "addressSpace", ["10.224.0.0/12"], "assumed: no --vnet")
            out.put(2, "subnets", None)
            for i, name in enumerate(sorted(names)):
                out.raw(f"      - name: {_scalar(name)}  # from agentPoolProfiles[].vnetSubnetId")
                out.put(4, "addressPrefix", f"10.{224 + i}.0.0/16", "assumed: no --vnet")
        return
    data = vdoc.data
    if not isinstance(data, dict) or str(data.get("type", "")).lower() != VNET_TYPE:
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ImportError_([vdoc.issue(("type",), f"expected Microsoft.Network/virtualNetworks "
                                       f"(the output of `az network vnet show`), found {found!r}")])
    prefixes = [p for p in _get(vdoc, ("addressSpace", "addressPrefixes")) or [] if ":" not in p]
    if not prefixes:
        raise ImportError_([vdoc.issue(("addressSpace", "addressPrefixes"), "expected the VNet's "
                                       "IPv4 address prefixes, found none")])
    out.put(1, "vnet", None)
    out.put(2, "name", data.get("name") or "vnet", "vnet: name")
    out.put(2, "managed", False, "vnet: a VNet you manage (az network vnet show)")
    out.put(2, "addressSpace", prefixes, "vnet: addressSpace.addressPrefixes")
    out.put(2, "subnets", None)
    listed = set()
    for i, subnet in enumerate(_get(vdoc, ("subnets",)) or []):
        src = f"vnet: subnets[{i}]"
        prefix = subnet.get("addressPrefix") or next(
            (p for p in subnet.get("addressPrefixes") or [] if ":" not in p), None)
        if not prefix:
            out.warnings.append(vdoc.issue(("subnets", i), f"subnet {subnet.get('name')} has no "
                                           "IPv4 prefix: left out", severity="warning"))
            continue
        listed.add(subnet.get("name"))
        out.raw(f"      - name: {_scalar(subnet.get('name'))}  # from {src}.name")
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
    missing = names - listed
    if missing:
        raise ImportError_([vdoc.issue(("subnets",), f"expected the subnet(s) the pools use "
                                       f"({', '.join(sorted(missing))}), found "
                                       f"{', '.join(sorted(n for n in listed if n)) or 'none'}: is "
                                       f"this the cluster's VNet?")])


# --- Kubernetes objects ----------------------------------------------------------------------

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


def _k8s(path: str, out: Out) -> Workloads:
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


# --- the whole import ----------------------------------------------------------------------

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

    doc = _read(aks)
    root = _cluster_root(doc)
    out = Out()
    if not root:
        _unknown(doc, (), KNOWN_CLUSTER, out)
    name_path = (*root[:-1], "name") if root else ("name",)
    raw_name = str(_get(doc, name_path) or "imported")
    name = re.sub(r"[^a-z0-9-]+", "-", raw_name.lower()).strip("-")[:63] or "imported"
    out.raw(f"name: {_scalar(name)}  # from {'.'.join(str(p) for p in name_path)}")
    out.raw(f"description: {_scalar(f'The AKS cluster {raw_name}, imported by aks-sim import')}")
    out.raw("duration: 1h  # how long to simulate: change it to what you want to ask")
    out.raw("cluster:")
    out.put(1, "name", name, ".".join(str(p) for p in name_path))
    version = _version(doc, root)
    if version:
        out.put(1, "kubernetesVersion", version, "kubernetesVersion")
    _network(doc, root, out)
    zones = _zones_of(doc, (*root, "agentPoolProfiles"))
    out.put(1, "zones", zones or ["1"], "agentPoolProfiles[].availabilityZones" if zones else
            "no pool uses availability zones: one zone stands for the region")
    body = Out(warnings=out.warnings)
    subnets = _pools(doc, root, zones or ["1"], body)
    vdoc = _read(vnet) if vnet else None
    node_group = _get(doc, (*root, "nodeResourceGroup"))
    _vnet(vdoc, subnets, node_group, out)
    out.lines += body.lines
    _autoscaler(doc, root, out)
    manifests_text = None
    if k8s:
        found = _k8s(k8s, out)
        if found.objects:
            manifests_text = yaml.safe_dump_all(found.objects, sort_keys=False)
            out.raw("workloads:")
            out.raw(f"  - manifests: {_scalar(manifests_name)}  # from {os.path.basename(k8s)}: "
                    f"{len(found.objects)} objects")
    header = [f"# Imported by `aks-sim import` from {os.path.basename(aks)}"
              + (f", {os.path.basename(vnet)}" if vnet else "")
              + (f" and {os.path.basename(k8s)}" if k8s else "") + "."]
    header += [f"# warning: {w.path + ': ' if w.path else ''}{w.message}" for w in out.warnings]
    return Imported("\n".join(header + out.lines) + "\n", manifests_text, out.warnings)


def cmd_import(args: Any) -> int:
    """``aks-sim import``: write the scenario (and its manifests file), print the warnings, and
    check that the scenario loads."""
    import sys

    from sim.errors import ScenarioError
    from sim.scenario import load

    stem = os.path.splitext(os.path.basename(args.output))[0] if args.output else "imported"
    manifests_name = f"{stem}-manifests.yaml"
    if args.k8s and not args.output:
        print("aks-sim import: error: --k8s needs -o FILE (the manifests go beside it)",
              file=sys.stderr)
        return 2
    try:
        result = build(args.aks, args.vnet, args.k8s, manifests_name)
    except ImportError_ as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(warning.render(), file=sys.stderr)
    if not args.output:
        sys.stdout.write(result.scenario)
        return 0
    try:
        if result.manifests is not None:
            with open(os.path.join(os.path.dirname(args.output) or ".", manifests_name), "w",
                      encoding="utf-8") as fh:
                fh.write(result.manifests)
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(result.scenario)
    except OSError as exc:
        print(f"aks-sim import: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        load(args.output)
    except ScenarioError as exc:
        print(f"{args.output}: written, but it does not load yet:", file=sys.stderr)
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return 1
    n = len(result.warnings)
    print(f"{args.output}: written ({n} warning{'s' * (n != 1)}); run it with "
          f"aks-sim run {args.output}", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    """Register ``aks-sim import``."""
    p = sub.add_parser("import", help="write a scenario from az aks show, az network vnet show "
                                      "and kubectl get -o yaml output")
    p.add_argument("--aks", required=True, metavar="FILE",
                   help="az aks show -g RG -n NAME -o json (or an ARM template export)")
    p.add_argument("--vnet", default=None, metavar="FILE",
                   help="az network vnet show -g RG -n VNET -o json (bring-your-own VNet)")
    p.add_argument("--k8s", default=None, metavar="FILE",
                   help="kubectl get deploy,sts,ds,svc,ing,netpol,hpa,pdb -A -o yaml")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the scenario to write (its manifests go beside it); default: stdout")
    p.set_defaults(func=cmd_import)
