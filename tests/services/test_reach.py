"""`aks-sim reach`: the NetworkPolicy truth table between workloads, through the real script."""

from __future__ import annotations

import json
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


def test_default_deny_with_allow_rules_gives_the_documented_table() -> None:
    """Default-deny ingress plus three allow rules (network-policies.md): web from anywhere on
    its named port, api only from web, db only from api; pods of one tier do not reach each
    other unless a rule says so."""
    t = table(reach(SCENARIO))
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
    text = SCENARIO.read_text().replace("networkPolicy: calico", "networkPolicy: none")
    text = text.replace("manifests/shop-netpol.yaml", str(ROOT / "scenarios/manifests/shop-netpol.yaml"))
    path = tmp_path / "none.yaml"
    path.write_text(text)
    out = reach(path)
    assert out["enforced"] is False and all(table(out).values())


def test_port_flag_checks_another_port() -> None:
    """--port 22: only web's rule names a port (http), so nothing reaches 22 but what no policy
    isolates (nothing here)."""
    t = table(reach(SCENARIO, "--port", "22"))
    assert not any(t.values())
