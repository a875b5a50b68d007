"""The Azure side: `az aks show` (or an ARM export) -> the scenario's `cluster:`; the VNet
(`az network vnet show`) is :mod:`services.importer.virtual_network`."""

from __future__ import annotations

import re
from typing import Any

from services.importer.common import ImportError_, Out, get, scalar
from services.importer.virtual_network import VNET_TYPE
from sim.scenario import Located, Path

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
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


def cluster_root(doc: Located) -> Path:
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


def unknown_fields(doc: Located, path: Path, known: set[str], out: Out) -> None:
    node = get(doc, path) if path else doc.data
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
    from sim import VM_SIZES

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
    value = get(doc, path)
    if value not in allowed:
        shown = ", ".join(a for a in allowed if a)
        raise ImportError_([doc.issue(path, f"expected {what} ({shown}), found {value!r}: not a "
                                            f"kind of cluster AKS has")])
    return value


def network(doc: Located, root: Path, out: Out) -> str:
    """``networkProfile`` -> the cluster's network keys; returns the plugin (kubenet, azure, none)."""
    np_ = (*root, "networkProfile")
    if not isinstance(get(doc, np_), dict):
        raise ImportError_([doc.issue(np_, "expected the cluster's networkProfile (an object), "
                                           "found none")])
    unknown_fields(doc, np_, KNOWN_NETWORK, out)
    src = "networkProfile"
    plugin = _choice(doc, (*np_, "networkPlugin"), ("azure", "kubenet", "none"), "a network plugin")
    mode = _choice(doc, (*np_, "networkPluginMode"), (None, "overlay"), "a plugin mode")
    policy = _choice(doc, (*np_, "networkPolicy"), (None, "none", "azure", "calico", "cilium"),
                     "a network policy engine")
    if get(doc, (*np_, "networkDataplane")) == "cilium" and policy in (None, "none"):
        policy = "cilium"
    out.put(1, "networkPlugin", plugin, f"{src}.networkPlugin")
    if mode:
        out.put(1, "networkPluginMode", mode, f"{src}.networkPluginMode")
    out.put(1, "networkPolicy", policy or "none", f"{src}.networkPolicy")
    if (plugin == "kubenet" or mode == "overlay") and get(doc, (*np_, "podCidr")):
        out.put(1, "podCidr", get(doc, (*np_, "podCidr")), f"{src}.podCidr")
    for key, name in (("serviceCidr", "serviceCidr"), ("dnsServiceIp", "dnsServiceIP"),
                      ("dnsServiceIP", "dnsServiceIP")):
        if get(doc, (*np_, key)):
            out.put(1, name, get(doc, (*np_, key)), f"{src}.{key}")
    outbound = get(doc, (*np_, "outboundType")) or "loadBalancer"
    if outbound != "loadBalancer":
        out.warnings.append(doc.issue((*np_, "outboundType"), f"outbound type {outbound} is not "
                                      "simulated: outbound SNAT follows the load balancer's port "
                                      "model", severity="warning"))
    if str(get(doc, (*np_, "loadBalancerSku")) or "standard").lower() != "standard":
        out.warnings.append(doc.issue((*np_, "loadBalancerSku"), "a Basic load balancer is "
                                      "simulated as Standard", severity="warning"))
    _load_balancer(doc, (*np_, "loadBalancerProfile"), out)
    proxy = get(doc, (*np_, "kubeProxyConfig"))
    if isinstance(proxy, dict) and proxy.get("enabled") is not False and proxy.get("mode"):
        out.put(1, "kubeProxyConfig", None)
        out.put(2, "mode", proxy["mode"], f"{src}.kubeProxyConfig.mode")
        scheduler = (proxy.get("ipvsConfig") or {}).get("scheduler")
        if scheduler:
            out.put(2, "ipvsConfig", None)
            out.put(3, "scheduler", scheduler, f"{src}.kubeProxyConfig.ipvsConfig.scheduler")
    return str(plugin)


def _load_balancer(doc: Located, path: Path, out: Out) -> None:
    lb = get(doc, path)
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


def autoscaler(doc: Located, root: Path, out: Out) -> None:
    path = (*root, "autoScalerProfile")
    profile = get(doc, path)
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


def version(doc: Located, root: Path) -> str | None:
    for key in ("kubernetesVersion", "currentKubernetesVersion"):
        value = get(doc, (*root, key))
        match = re.match(r"^(\d+\.\d+)", str(value or ""))
        if match:
            return match.group(1)
    return None


def zones_of(doc: Located, pools: Path) -> list[str]:
    zones: set[str] = set()
    for pool in get(doc, pools) or []:
        zones.update(str(z) for z in (pool.get("availabilityZones") or []))
    return sorted(zones)


def pools(doc: Located, root: Path, zones: list[str], out: Out) -> set[str]:
    """``agentPoolProfiles`` -> ``nodePools``; returns the subnets the pools name."""
    path = (*root, "agentPoolProfiles")
    pools = get(doc, path)
    if not isinstance(pools, list) or not pools:
        raise ImportError_([doc.issue(path, "expected agentPoolProfiles (a list of node pools), "
                                            "found none")])
    subnets: set[str] = set()
    out.put(1, "nodePools", None)
    for i, pool in enumerate(pools):
        subnets |= _pool(doc, (*path, i), f"agentPoolProfiles[{i}]", pool, zones, out)
    return subnets


def _pool(doc: Located, at: Path, src: str, pool: Any, zones: list[str], out: Out) -> set[str]:
    """One agent pool profile -> one ``nodePools`` entry; returns the subnets it names."""
    if not isinstance(pool, dict) or not re.fullmatch(r"[a-z][a-z0-9]{0,11}", str(pool.get("name"))):
        raise ImportError_([doc.issue((*at, "name"), f"expected a pool name (lowercase letters "
                                      f"and digits, at most 12), found "
                                      f"{pool.get('name') if isinstance(pool, dict) else pool!r}")])
    unknown_fields(doc, at, KNOWN_POOL, out)
    out.raw(f"    - name: {scalar(pool['name'])}  # from {src}.name")
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
    subnets = _pool_network(pool, src, out)
    _pool_scaling(pool, src, out)
    _pool_labels_and_os(doc, at, src, pool, out)
    return subnets


def _pool_network(pool: dict[str, Any], src: str, out: Out) -> set[str]:
    """The pool's node and pod subnets (returned) and its pod IP allocation mode."""
    subnets: set[str] = set()
    for key, name in (("vnetSubnetId", "vnetSubnet"), ("vnetSubnetID", "vnetSubnet"),
                      ("podSubnetId", "podSubnet"), ("podSubnetID", "podSubnet")):
        subnet = _subnet_name(pool.get(key))
        if subnet:
            subnets.add(subnet)
            out.put(3, name, subnet, f"{src}.{key}")
    if pool.get("podIpAllocationMode") in ("DynamicIndividual", "StaticBlock"):
        out.put(3, "podIPAllocationMode", pool["podIpAllocationMode"],
                f"{src}.podIpAllocationMode")
    return subnets


def _pool_scaling(pool: dict[str, Any], src: str, out: Out) -> None:
    """The cluster autoscaler's bounds and the upgrade settings (surge, drain timeout)."""
    if pool.get("enableAutoScaling"):
        out.put(3, "enableAutoScaling", True, f"{src}.enableAutoScaling")
        out.put(3, "minCount", int(pool.get("minCount") or 0), f"{src}.minCount")
        out.put(3, "maxCount", int(pool.get("maxCount") or pool.get("count") or 0),
                f"{src}.maxCount")
    surge = (pool.get("upgradeSettings") or {}).get("maxSurge")
    if surge:
        out.put(3, "maxSurge", str(surge), f"{src}.upgradeSettings.maxSurge")
    drain = (pool.get("upgradeSettings") or {}).get("drainTimeoutInMinutes")
    if isinstance(drain, int) and not isinstance(drain, bool) and drain > 0:
        out.put(3, "drainTimeoutInMinutes", drain,
                f"{src}.upgradeSettings.drainTimeoutInMinutes")


def _pool_labels_and_os(doc: Located, at: Path, src: str, pool: dict[str, Any], out: Out) -> None:
    """The node labels; warnings for what is not simulated (taints, nodes that are not Linux)."""
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
