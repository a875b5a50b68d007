"""The harness itself: it runs files it has never seen, fails wrong ones, names unknown keys.

Expected values below were worked out by hand from the documented formulas (5 reserved per
subnet; (n+s)+(n+s)*maxPods; the SNAT tier table; 64,000 ports per IP; one /24 per node).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance_azure_sizing import evaluate_case
from conformance_loader import (
    AZURE_SIZING,
    LOCAL_CASES_DIR,
    ORACLES_ENV,
    REPO_ROOT,
    family_from_shape,
    oracles_dir,
    recognise_family,
)

HARNESS = REPO_ROOT / "tests" / "conformance" / "test_conformance_oracles.py"
SRC = {"derived_from": "hand computation for the harness self-test"}


def _case(case_id: str, inputs: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {"id": case_id, "source": SRC, "derived": True, "inputs": inputs, "expected": expected}


def unseen_sizing_file() -> dict[str, Any]:
    """A sizing file with ids and inputs found in no shared or project file."""
    groups = {
        "azure_cni_min_subnet_ips": [
            _case("unseen-cni-7-nodes-50-pods", {"nodes": 7, "max_pods": 50,
                                                 "upgrade_surge_nodes": 1},
                  {"required_ips": 408, "min_prefix_len": 23}),
            _case("unseen-cni-200-nodes-surge-2", {"nodes": 200, "max_pods": 30,
                                                   "upgrade_surge_nodes": 2},
                  {"required_ips": 6262, "min_prefix_len": 19}),
        ],
        "subnet_capacity_kubenet_vs_cni": [
            _case("unseen-cni-slash22-50-pods",
                  {"plugin": "azure-cni", "subnet_prefix_len": 22, "max_pods": 50},
                  {"max_nodes": 19, "max_pods_total": 950}),
            _case("unseen-kubenet-slash26", {"plugin": "kubenet", "subnet_prefix_len": 26,
                                             "max_pods": 110},
                  {"max_nodes": 59, "max_pods_total": 6490}),
        ],
        "azure_subnet_reserved": [
            _case("unseen-usable-slash25", {"prefix_len": 25}, {"total": 128, "usable": 123}),
            _case("unseen-reserved-10-1-2-0-26", {"subnet": "10.1.2.0/26"}, {
                "reserved": {"10.1.2.0": "network address", "10.1.2.1": "default gateway",
                             "10.1.2.2": "Azure DNS mapping", "10.1.2.3": "Azure DNS mapping",
                             "10.1.2.63": "network broadcast address"},
                "first_assignable": "10.1.2.4", "last_assignable": "10.1.2.62",
                "usable_count": 59}),
        ],
        "kubenet_pod_cidr_and_routes": [
            _case("unseen-pod-cidr-slash18", {"pod_cidr": "10.200.0.0/18",
                                              "per_node_prefix_len": 24},
                  {"max_node_ranges": 64}),
            _case("unseen-udr-counts", {"node_counts": [1, 399, 402]},
                  {"1": "ok", "399": "ok", "402": "exceeds route table limit"}),
            _case("unseen-dns-172-16", {"service_cidr": "172.16.0.0/20"},
                  {"dns_service_ip": "172.16.0.10"}),
        ],
        "aks_max_pods": [
            _case("unseen-min-rule-12", {"max_pods": 12},
                  {"min_nodes_per_pool": 3, "min_pod_capacity_per_pool": 30}),
            _case("unseen-min-rule-15", {"max_pods": 15}, {"min_nodes_per_pool": 2}),
        ],
        "azure_lb_snat": [
            _case("unseen-snat-150", {"backend_pool_size": 150, "frontend_ips": 1},
                  {"snat_ports_per_instance": 256}),
            _case("unseen-snat-600", {"backend_pool_size": 600, "frontend_ips": 1},
                  {"snat_ports_per_instance": 64}),
            _case("unseen-explicit-20-2ips", {"backend_pool_size": 20, "frontend_ips": 2},
                  {"explicit_outbound_rule_max_ports_per_instance": 6400,
                   "automatic_ports_per_instance": 1024}),
            _case("unseen-aks-2-ips-1024-ports", {"managed_outbound_ips": 2,
                                                  "allocated_outbound_ports_per_node": 1024,
                                                  "nodes": 100},
                  {"total_ports_available": 128000, "total_ports_needed": 102400,
                   "fits": True}),
        ],
        "aks_network_constraints": [
            _case("unseen-service-192-168-100", {"service_cidr": "192.168.100.0/24"},
                  {"kubernetes_default_service_ip": "192.168.100.1",
                   "dns_service_ip_must_not_be": "192.168.100.1",
                   "doc_example_dns_service_ip": "192.168.100.10"}),
        ],
    }
    return {"schema_version": 1, "family": "azure-aks-sizing",
            "groups": [{"group": g, "description": "unseen", "cases": c}
                       for g, c in groups.items()]}


def _write(directory: Path, name: str, data: dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run_harness(oracles: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ORACLES_ENV: str(oracles)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(HARNESS), "-v", "-p", "no:cacheprovider",
         "--rootdir", str(REPO_ROOT), "-c", str(REPO_ROOT / "pyproject.toml")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def _results(output: str, file_name: str) -> dict[str, str]:
    pattern = re.compile(rf"\[{re.escape(file_name)}::([^\]]+)\] (PASSED|FAILED|ERROR|SKIPPED)")
    return {m.group(1): m.group(2) for m in pattern.finditer(output)}


def test_unseen_file_runs_and_passes(tmp_path: Path) -> None:
    data = unseen_sizing_file()
    _write(tmp_path, "unseen_sizing_cases.yaml", data)
    run = _run_harness(tmp_path, cwd=tmp_path)
    results = _results(run.stdout, "unseen_sizing_cases.yaml")
    n_cases = sum(len(g["cases"]) for g in data["groups"])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert len(results) == n_cases == 16
    assert set(results.values()) == {"PASSED"}
    assert "azure_lb_snat::unseen-snat-150" in results
    assert "skipped" not in run.stdout.splitlines()[-1]


def test_wrong_expected_value_and_unknown_key_fail(tmp_path: Path) -> None:
    data = unseen_sizing_file()
    cni = data["groups"][0]["cases"]
    cni[0]["expected"]["required_ips"] = 409  # the right answer is 408
    cni.append(_case("unseen-unknown-key", {"nodes": 1, "max_pods": 30},
                     {"frobnication_factor": 3}))
    _write(tmp_path, "broken_sizing_cases.yaml", data)
    run = _run_harness(tmp_path, cwd=tmp_path)
    results = _results(run.stdout, "broken_sizing_cases.yaml")
    assert run.returncode == 1, run.stdout[-4000:]
    failed = {k for k, v in results.items() if v == "FAILED"}
    assert failed == {"azure_cni_min_subnet_ips::unseen-cni-7-nodes-50-pods",
                      "azure_cni_min_subnet_ips::unseen-unknown-key"}
    assert "required_ips: expected 409, model gives 408" in run.stdout
    assert "'frobnication_factor'" in run.stdout


def test_other_families_give_one_warning_line_each(tmp_path: Path) -> None:
    _write(tmp_path, "unseen_sizing_cases.yaml", unseen_sizing_file())
    # a family the harness has no module for (every shared family has one by now)
    later = {"schema_version": 1, "family": "snat-ports", "cases": [
        {"id": "a", "inputs": {}}, {"id": "b", "inputs": {}}]}
    _write(tmp_path, "snat_cases.yaml", later)
    run = _run_harness(tmp_path, cwd=tmp_path)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("conformance: family")]
    assert run.returncode == 0, run.stdout[-4000:]
    assert lines == ["conformance: family 'snat-ports' (snat_cases.yaml, 2 cases) "
                     "not implemented yet"]
    assert "skipped" not in run.stdout.lower()


def test_unknown_key_fails_in_process() -> None:
    outcome = evaluate_case("aks_max_pods", {"id": "x", "inputs": {"max_pods": 30},
                                             "expected": {"no_such_quantity": 1}})
    assert not outcome.ok
    assert "no_such_quantity" in outcome.report()


def test_doubt_without_known_conflict_fails() -> None:
    case = {"id": "x", "inputs": {"prefix_len": 24}, "expected": {"total": 256},
            "doubt": "someone disagrees"}
    outcome = evaluate_case("azure_subnet_reserved", case)
    assert not outcome.ok
    assert "not modelled" in outcome.report()


def test_doubt_case_matching_no_revision_fails() -> None:
    case = {"id": "x", "inputs": {"plugin": "kubenet"}, "expected": {"max_configurable": 120},
            "doubt": "another revision"}
    assert not evaluate_case("aks_max_pods", case).ok


def test_relative_oracle_dir_resolves_from_repo_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ORACLES_ENV, "tests/conformance/cases")
    assert oracles_dir() == LOCAL_CASES_DIR
    monkeypatch.delenv(ORACLES_ENV)
    assert oracles_dir() is None  # unset: the project's own cases only


@pytest.mark.parametrize(("name", "data", "family"), [
    ("x.yaml", {"family": "azure-aks-sizing"}, AZURE_SIZING),
    ("x.yaml", {"family": "kubernetes-networkpolicy"}, "netpol"),
    ("x.yaml", {"family": "kube-proxy"}, "kubeproxy"),
    ("x.yaml", {"family": "kubernetes-dns"}, "dns"),
    ("ingress_cases.yaml", {"cases": []}, "ingress"),
    ("queueing_cases.yml", {}, "queueing"),
    ("mystery.yaml", {"groups": []}, AZURE_SIZING),
    ("mystery.yaml", {"record_cases": []}, "dns"),
    ("mystery.yaml", {"cases": [{"ingresses": [], "requests": []}]}, "ingress"),
    ("mystery.yaml", {"cases": [{"model": "M/M/1", "inputs": {}}]}, "queueing"),
    ("mystery.yaml", {"cases": [{"kind": "chain"}]}, "kubeproxy"),
    ("mystery.yaml", {"other": 1}, "unknown"),
])
def test_family_recognition(name: str, data: dict[str, Any], family: str) -> None:
    assert recognise_family(Path(name), data) == family


def test_shape_of_flat_sizing_cases() -> None:
    assert family_from_shape({"cases": [{"group": "g", "inputs": {}}]}) == AZURE_SIZING
