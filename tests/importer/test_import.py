"""`aks-sim import` (issue 17): a scenario from `az aks show`, `az network vnet show` and
`kubectl get ... -o yaml`, that runs as is and uses addresses as the published formulas say.

The inputs under inputs/ follow the shapes Microsoft documents for `az aks show -o json` (API
2025, e.g. the output printed in the AKS quickstarts) and `az network vnet show -o json`, one per
network plugin mode, plus an ARM template export and a `kubectl get -A -o yaml` List.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.importer import ImportError_, build
from sim.scenario import load

ROOT = Path(__file__).resolve().parents[2]
INPUTS = Path(__file__).resolve().parent / "inputs"


def _import(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "import", *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120, check=False)


def _run(tmp_path: Path, scenario: Path, duration: str = "2m") -> dict:
    text = scenario.read_text().replace("duration: 1h ", f"duration: {duration} ")
    scenario.write_text(text)
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "services.cli", "run", str(scenario), "--out",
                             str(out), "--quiet"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "report.json").read_text())


def _used(report: dict, subnet: str) -> int:
    return next(s["final_used"] for s in report["subnets"] if s["name"] == subnet)


def test_azure_cni_node_subnet_uses_one_plus_max_pods_per_node(tmp_path: Path) -> None:
    """Azure CNI (flat): each node takes 1 + maxPods addresses of the node subnet
    (concepts-network-ip-address-planning.md); addresses other resources hold stay held."""
    result = _import(tmp_path, "--aks", str(INPUTS / "aks-azure-cni.json"), "--vnet",
                     str(INPUTS / "vnet-azure-cni.json"), "-o", "cni.yaml")
    assert result.returncode == 0, result.stderr
    assert "nodeTaints" in result.stderr and "not simulated" in result.stderr
    report = _run(tmp_path, tmp_path / "cni.yaml")
    aks = json.loads((INPUTS / "aks-azure-cni.json").read_text())
    vnet = json.loads((INPUTS / "vnet-azure-cni.json").read_text())
    formula = sum(p["count"] * (1 + p["maxPods"]) for p in aks["agentPoolProfiles"])
    nrg = aks["nodeResourceGroup"].lower()
    others = sum(1 for c in vnet["subnets"][0]["ipConfigurations"] if nrg not in c["id"].lower())
    assert others == 12
    assert _used(report, "aks") == formula + others


def test_kubenet_nodes_take_one_address_and_one_route_each(tmp_path: Path) -> None:
    """kubenet: one node-subnet address per node, pods from podCidr, one UDR route per node."""
    result = _import(tmp_path, "--aks", str(INPUTS / "aks-kubenet.json"), "--vnet",
                     str(INPUTS / "vnet-kubenet.json"), "-o", "kubenet.yaml")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "kubenet.yaml").read_text()
    assert 'routeTable: "kubenet-rt"' in text and 'networkPolicy: "calico"' in text
    report = _run(tmp_path, tmp_path / "kubenet.yaml")
    assert _used(report, "nodes") == 3 + 7  # 3 nodes; 7 addresses held by other VMs
    assert _used(report, "vms") == 2
    assert report["figures"]["kubenet.routesPeak"] == 3


def test_overlay_and_pod_subnet(tmp_path: Path) -> None:
    """Overlay: a node-subnet address per node only (pods from podCidr); pod subnet: the node
    subnet holds the nodes, the pod subnet the pods' addresses."""
    assert _import(tmp_path, "--aks", str(INPUTS / "aks-overlay.json"), "-o", "ov.yaml").returncode == 0
    report = _run(tmp_path, tmp_path / "ov.yaml")
    assert _used(report, "aks-subnet") == 2 + 3  # nodepool1 (2) + user (3)
    result = _import(tmp_path, "--aks", str(INPUTS / "aks-pod-subnet.json"), "--vnet",
                     str(INPUTS / "vnet-pod-subnet.json"), "-o", "ps.yaml")
    assert result.returncode == 0, result.stderr
    spec = load(str(tmp_path / "ps.yaml")).spec
    assert spec.cluster.node_pools[0].pod_subnet == "pods"
    assert spec.cluster.load_balancer_profile.allocated_outbound_ports == 1024
    assert spec.cluster.load_balancer_profile.managed_outbound_ips == 2
    report = _run(tmp_path, tmp_path / "ps.yaml")
    assert _used(report, "nodes") == 3 + 4


def test_every_value_says_where_it_came_from(tmp_path: Path) -> None:
    out = build(str(INPUTS / "aks-overlay.json"))
    lines = [line for line in out.scenario.splitlines()
             if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":")
             and not line.startswith(("name:", "description:", "duration:"))]
    assert lines and all("  # from " in line for line in lines), [
        line for line in lines if "  # from " not in line]


def test_an_arm_export_imports_like_az_aks_show() -> None:
    """The managedClusters resource of an ARM template gives the same cluster."""
    import yaml

    shown = yaml.safe_load(build(str(INPUTS / "aks-overlay.json")).scenario)
    exported = yaml.safe_load(build(str(INPUTS / "arm-export.json")).scenario)
    assert shown["cluster"] == exported["cluster"]


def test_nothing_secret_survives_an_import(tmp_path: Path) -> None:
    """Secrets, ConfigMaps, env values, image pull secrets, volumes and non-networking
    annotations (last-applied-configuration) are dropped, and the output says so."""
    result = _import(tmp_path, "--aks", str(INPUTS / "aks-overlay.json"), "--k8s",
                     str(INPUTS / "k8s-dump.yaml"), "-o", "shop.yaml")
    assert result.returncode == 0, result.stderr
    dump = (INPUTS / "k8s-dump.yaml").read_text()
    assert dump.count("PLANTED") >= 4 and "UExBTlRFRC1odW50ZXIy" in dump
    written = (tmp_path / "shop.yaml").read_text() + (tmp_path / "shop-manifests.yaml").read_text()
    for secret in ("PLANTED", "UExBTlRFRC1odW50ZXIy", "hunter2", "api-credentials",
                   "last-applied-configuration", "DB_PASSWORD"):
        assert secret not in written, secret
    assert "2 Secret/ConfigMap object(s) dropped" in result.stderr
    # StatefulSets, DaemonSets and PodDisruptionBudgets are simulated (issue 17): carried over
    for kind in ("StatefulSet", "DaemonSet", "PodDisruptionBudget"):
        assert f"{kind} object(s) left out" not in result.stderr
    loaded = load(str(tmp_path / "shop.yaml"))
    assert [d.obj.metadata.name for d in loaded.workloads.deployments] == ["frontend"]
    assert [d.obj.key for d in loaded.workloads.statefulsets] == ["shop/redis"]
    assert [d.obj.key for d in loaded.workloads.daemonsets] == ["monitoring/log-shipper"]
    assert [d.obj.key for d in loaded.workloads.pdbs] == ["shop/frontend"]
    (svc,) = [s.obj for s in loaded.workloads.services]
    assert svc.metadata.name == "frontend-external" and svc.spec.type == "LoadBalancer"


@pytest.mark.parametrize(("name", "text", "where", "says"), [
    ("not-json.json", '{"name": "x",\n  "networkProfile": }', ":2:", "not JSON"),
    ("vnet-as-aks.json", None, "type", "pass it with --vnet"),
    ("flannel.json", "flannel", "networkProfile.networkPlugin", "not a kind of cluster AKS has"),
])
def test_bad_inputs_get_a_located_error(tmp_path: Path, name: str, text: str | None, where: str,
                                        says: str) -> None:
    path = tmp_path / name
    if text is None:
        path.write_text((INPUTS / "vnet-kubenet.json").read_text())
    elif text == "flannel":
        data = json.loads((INPUTS / "aks-overlay.json").read_text())
        data["networkProfile"]["networkPlugin"] = "flannel"
        path.write_text(json.dumps(data, indent=2))
    else:
        path.write_text(text)
    result = _import(tmp_path, "--aks", str(path), "-o", "x.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(str(path) + ":") and where in result.stderr and says in result.stderr
    with pytest.raises(ImportError_):
        build(str(path))


def test_a_newer_az_still_imports_with_a_warning_per_unknown_field(tmp_path: Path) -> None:
    data = json.loads((INPUTS / "aks-overlay.json").read_text())
    data["quantumProfile"] = {"enabled": True}
    data["agentPoolProfiles"][0]["warpDrive"] = "on"
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(data, indent=2))
    out = build(str(path))
    unknown = [w for w in out.warnings if "unknown field" in w.message]
    assert {w.path for w in unknown} == {"quantumProfile", "agentPoolProfiles[0].warpDrive"}
    assert all(w.line > 0 for w in unknown)


def test_plan_answers_against_the_imported_cluster(tmp_path: Path) -> None:
    """`aks-sim plan --scenario my-cluster.yaml --scale system=40 --upgrade --max-surge 33%`:
    surge rounds up (ceil(40 x 33%) = 14), each kubenet node takes one address and one route, the
    addresses other resources hold are taken first; a /24 has 256 - 5 usable."""
    import math

    assert _import(tmp_path, "--aks", str(INPUTS / "aks-kubenet.json"), "--vnet",
                   str(INPUTS / "vnet-kubenet.json"), "-o", "k.yaml").returncode == 0
    result = subprocess.run([sys.executable, "-m", "services.cli", "plan", "--scenario", "k.yaml",
                             "--scale", "system=40", "--upgrade", "--max-surge", "33%", "--json"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    surge = math.ceil(40 * 0.33)
    nodes = next(s for s in plan["subnets"] if s["name"] == "nodes")
    assert (nodes["usable"], nodes["held"], nodes["need"]) == (256 - 5, 7, 40 + surge + 7)
    assert nodes["left"] == 251 - (40 + surge + 7)
    routes = next(x for x in plan["limits"] if x["name"].startswith("kubenet routes"))
    assert (routes["used"], routes["limit"]) == (40 + surge, 400)
    assert plan["fits"] is True and plan["binding"].startswith("subnet nodes")
    assert plan["moreNodes"] == nodes["left"]
    bad = subprocess.run([sys.executable, "-m", "services.cli", "plan", "--scenario", "k.yaml",
                          "--scale", "nosuchpool=3"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "expected POOL=N with POOL one of system" in bad.stderr


def test_drain_timeout_is_carried_over(tmp_path: Path) -> None:
    """agentPoolProfiles[].upgradeSettings.drainTimeoutInMinutes (null in az's output when
    unset: AKS's 30 minutes) becomes the pool's drainTimeoutInMinutes."""
    import yaml

    data = json.loads((INPUTS / "aks-overlay.json").read_text())
    data["agentPoolProfiles"][0]["upgradeSettings"]["drainTimeoutInMinutes"] = 45
    path = tmp_path / "aks.json"
    path.write_text(json.dumps(data))
    pools = yaml.safe_load(build(str(path)).scenario)["cluster"]["nodePools"]
    assert pools[0]["drainTimeoutInMinutes"] == 45
    default = yaml.safe_load(build(str(INPUTS / "aks-overlay.json")).scenario)["cluster"]
    assert all("drainTimeoutInMinutes" not in p for p in default["nodePools"])
