"""``aks-sim plan`` through the real console script, in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BESIDE_PYTHON = Path(sys.executable).with_name("aks-sim")
SCRIPT = str(BESIDE_PYTHON) if BESIDE_PYTHON.exists() else shutil.which("aks-sim")


def aks_sim(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``aks-sim plan ARGS``."""
    assert SCRIPT, "console script aks-sim missing: pip install -e '.[test]'"
    return subprocess.run([SCRIPT, "plan", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_json_doc_example_50_nodes_scale_to_60() -> None:
    # concepts-network-ip-address-planning.md: (61) + (61 x 30) = 1,891, /21 or larger
    run = aks_sim("--network-plugin", "azure", "--nodes", "50", "--max-count", "60",
                  "--max-pods", "30", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert (out["required_ips"], out["min_prefix_len"]) == (1891, 21)
    assert out["binding_limits"] == []
    assert isinstance(out["warnings"], list) and out["warnings"]


def test_json_kubenet_route_limit() -> None:
    run = aks_sim("--network-plugin", "kubenet", "--nodes", "400", "--max-pods", "110",
                  "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["required_ips"] == 401
    routes = [b for b in out["binding_limits"] if "UDR routes" in b["name"]]
    assert routes and routes[0]["limit"] == 400 and routes[0]["status"] == "exceeded"
    assert set(routes[0]) >= {"name", "limit", "value", "source"}
    assert any("31 Mar 2028" in w for w in out["warnings"])


def test_json_static_block_pod_subnet() -> None:
    run = aks_sim("--network-plugin", "azure", "--pod-ip-allocation", "static-block",
                  "--nodes", "10", "--max-pods", "32", "--json")
    out = json.loads(run.stdout)
    assert (out["static_blocks_per_node"], out["static_wasted_ips_per_node"]) == (3, 15)
    assert out["pod_subnet_required_ips"] == 11 * 3 * 16


def test_human_report() -> None:
    run = aks_sim("--network-plugin", "azure", "--nodes", "50", "--max-count", "60",
                  "--max-pods", "30")
    assert run.returncode == 0, run.stderr
    assert "1,891 IPs -> /21 or larger" in run.stdout
    assert "binding limits: none reached" in run.stdout
    assert "warnings:" in run.stdout


def test_human_report_overlay_pod_cidr_and_limits() -> None:
    run = aks_sim("--network-plugin", "azure", "--network-plugin-mode", "overlay",
                  "--nodes", "10", "--max-pods", "250", "--max-surge", "33%")
    assert run.returncode == 0, run.stderr
    assert "14 = --nodes 10 + 4 surge" in run.stdout
    assert "pod CIDR:      /20 or larger" in run.stdout
    assert "max pods per node: 250 vs limit 250 (at limit" in run.stdout


@pytest.mark.parametrize(("args", "fragments"), [
    (["--network-plugin", "kubenet", "--network-plugin-mode", "overlay", "--nodes", "3",
      "--max-pods", "30"], ["--network-plugin-mode", "'overlay'", "kubenet", "expected"]),
    (["--network-plugin", "azure", "--nodes", "-5", "--max-pods", "30"],
     ["--nodes", "found -5", "expected a node count >= 0"]),
    (["--network-plugin", "azure", "--nodes", "3", "--max-pods", "300"],
     ["--max-pods", "found 300", "10 to 250"]),
    (["--network-plugin", "kubenet", "--nodes", "3", "--max-pods", "251"],
     ["--max-pods", "found 251", "10 to 250"]),
    (["--network-plugin", "azure", "--nodes", "2", "--max-pods", "10"],
     ["--max-pods", "found 10", "at least 3 nodes"]),
    (["--network-plugin", "calico", "--nodes", "3", "--max-pods", "30"],
     ["--network-plugin", "'calico'", "kubenet", "azure"]),
    (["--network-plugin", "azure", "--nodes", "many", "--max-pods", "30"],
     ["--nodes", "'many'", "expected a whole number"]),
    (["--network-plugin", "azure", "--nodes", "3", "--max-pods", "30", "--max-surge", "150%"],
     ["--max-surge", "'150%'", "expected"]),
    (["--network-plugin", "azure", "--nodes", "5", "--max-pods", "30", "--max-count", "4"],
     ["--max-count", "found 4", "at least --nodes (5)"]),
    (["--network-plugin", "azure", "--network-plugin-mode", "overlay", "--pod-ip-allocation",
      "dynamic", "--nodes", "3", "--max-pods", "30"], ["--pod-ip-allocation", "'dynamic'"]),
    (["--network-plugin", "kubenet", "--pod-ip-allocation", "static-block", "--nodes", "3",
      "--max-pods", "30"], ["--pod-ip-allocation", "kubenet"]),
    (["--network-plugin", "azure", "--nodes", "3"], ["--max-pods", "required"]),
])
def test_bad_input_exits_2_with_one_message(args: list[str], fragments: list[str]) -> None:
    run = aks_sim(*args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("aks-sim plan: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
