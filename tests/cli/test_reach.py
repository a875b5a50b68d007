"""`aks-sim reach`: the NetworkPolicy truth table between workloads, through the real script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = str(Path(sys.executable).with_name("aks-sim"))
SCENARIO = ROOT / "scenarios" / "shop-network-policies.yaml"


def reach(path: Path, *args: str) -> dict:
    proc = subprocess.run([AKS_SIM, "reach", str(path), "--json", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def table(out: dict) -> dict[tuple[str, str], bool]:
    return {(c["from"], c["to"]): c["allowed"] for c in out["matrix"]}


WEB_LB = """
  - apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
"""


def exposed_scenario(tmp_path: Path) -> Path:
    """The shop with a public LoadBalancer Service in front of web (the scenario has none)."""
    (tmp_path / "manifests").mkdir(exist_ok=True)
    shutil.copy(ROOT / "scenarios/manifests/shop-netpol.yaml", tmp_path / "manifests")
    text = SCENARIO.read_text().replace("\nexpect:", WEB_LB.rstrip() + "\nexpect:", 1)
    path = tmp_path / "exposed.yaml"
    path.write_text(text)
    return path


def test_default_deny_with_allow_rules_gives_the_documented_table(tmp_path: Path) -> None:
    """Default-deny ingress plus three allow rules (network-policies.md): web from anywhere on
    its named port, api only from web, db only from api; pods of one tier do not reach each
    other unless a rule says so. web is behind a public load balancer here."""
    out = reach(exposed_scenario(tmp_path))
    assert out["exposure"]["shop/web"] == "LoadBalancer Service shop/web"
    t = table(out)
    expected = {
        ("internet", "shop/web"): True, ("internet", "shop/api"): False,
        ("internet", "shop/db"): False,
        ("shop/web", "shop/api"): True, ("shop/web", "shop/db"): False,
        ("shop/api", "shop/db"): True, ("shop/api", "shop/api"): False,
        ("shop/db", "shop/api"): False, ("shop/db", "shop/web"): True,
    }
    assert {k: t[k] for k in expected} == expected


def test_without_an_enforcing_engine_policies_have_no_effect(tmp_path: Path) -> None:
    """networkPolicy: none: a policy with no enforcing plugin has no effect (AKS-NETWORKING 6)."""
    path = exposed_scenario(tmp_path)
    path.write_text(path.read_text().replace("networkPolicy: calico", "networkPolicy: none"))
    out = reach(path)
    assert out["enforced"] is False
    refused = {k for k, v in table(out).items() if not v}
    # only what no path exposes stays out (api and db have no Service for the internet)
    assert refused == {("internet", "shop/api"), ("internet", "shop/db")}


def test_port_flag_checks_another_port() -> None:
    """--port 22: only web's rule names a port (http), so nothing reaches 22 but what no policy
    isolates (nothing here)."""
    t = table(reach(SCENARIO, "--port", "22"))
    assert not any(t.values())


def test_a_workload_without_a_load_balancer_nodeport_or_ingress_is_not_exposed(
        tmp_path: Path) -> None:
    """Issue 14: the policies allow web from anywhere, but the scenario has no Service at all:
    no LoadBalancer, NodePort or Ingress path leads there, so the internet row says "not
    exposed" (a ClusterIP is a virtual address inside the cluster: virtual-ips.md; only a
    LoadBalancer or NodePort Service, or an Ingress, takes outside traffic in: service.md
    "Publishing Services"). Adding a public LoadBalancer Service exposes it."""
    out = reach(SCENARIO)
    cell = next(c for c in out["matrix"] if c["from"] == "internet" and c["to"] == "shop/web")
    assert cell["allowed"] is False and cell["exposed"] is False
    assert cell["reason"].startswith("not exposed")
    proc = subprocess.run([AKS_SIM, "reach", str(SCENARIO)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    row = next(line for line in proc.stdout.splitlines() if line.startswith("internet"))
    assert row.split()[1:] == ["not", "exposed"] * 3
    cell = next(c for c in reach(exposed_scenario(tmp_path))["matrix"]
                if c["from"] == "internet" and c["to"] == "shop/web")
    assert cell["allowed"] is True and cell["exposed"] is True
