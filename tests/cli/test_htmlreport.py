"""`aks-sim report` and the sweep's report.html: one self-contained file, opened in headless
Chromium (Debian's `chromium`), with every plot drawn and no console error. Screenshots are
kept in tests/artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import chromium, open_page

from services.reports.html import interval95
from services.sweeps import sweep as sw
from sim.scenario.study import load_study

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
AKS_SIM = str(Path(sys.executable).with_name("aks-sim"))


@pytest.fixture(scope="module", autouse=True)
def _browser() -> None:
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)


def _run(scenario: str, out: Path) -> Path:
    subprocess.run([AKS_SIM, "run", f"scenarios/{scenario}.yaml", "--out", str(out), "--quiet"],
                   cwd=ROOT, capture_output=True, check=False, timeout=300)
    result = subprocess.run([AKS_SIM, "report", str(out)], cwd=ROOT, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "report.html")
    return out / "report.html"


def _self_contained(html: str) -> None:
    """Nothing to fetch: no script, no src or href, a CSP that forbids loading anything."""
    assert "<script" not in html
    assert not re.search(r"\s(src|href)=", html)
    assert "default-src 'none'" in html
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)


def test_run_report_plots_ip_use_with_the_exhaustion_point(tmp_path: Path) -> None:
    """IP use per subnet with SubnetIsFull marked, nodes and pods: drawn, no console error."""
    html = _run("azure-cni-ip-exhaustion", tmp_path / "run")
    text = html.read_text()
    _self_contained(text)
    assert "SubnetIsFull 50m" in text  # the first exhaustion, marked on the subnet's plot
    page = open_page(html)
    (ARTIFACTS / "run-report-ip-exhaustion.png").write_bytes(page.screenshot)
    assert page.console == []
    titles = [p["title"] for p in page.plots]
    assert titles == ["Subnet aks-subnet (10.10.1.0/24): addresses in use",
                      "Nodes Ready and pods Pending"]
    assert all(p["width"] > 300 and p["height"] > 100 and p["drawn"] >= 2 for p in page.plots)
    assert page.screenshot.startswith(b"\x89PNG") and len(page.screenshot) > 20_000


def test_run_report_plots_traffic_and_shades_faults(tmp_path: Path) -> None:
    """Requests and errors by cause, latency percentiles, load per backend, the node
    failure shaded until the node is Ready again."""
    html = _run("node-failure-through-lb", tmp_path / "run")
    text = html.read_text()
    _self_contained(text)
    assert re.search(r'class="window"[^>]*><title>node_failure aks-user-\S+ \(10m-', text)
    page = open_page(html)
    (ARTIFACTS / "run-report-node-failure-through-lb.png").write_bytes(page.screenshot)
    assert page.console == []
    drawn = {p["title"]: p["drawn"] for p in page.plots}
    assert drawn["Flow shoppers: requests and errors by cause"] >= 2  # requests + dead_node
    assert drawn["Flow shoppers: latency percentiles"] == 3
    spread = next(t for t in drawn if t.startswith("Flow shoppers: load spread across"))
    backends = int(re.search(r"across (\d+) backends", spread).group(1))
    assert backends >= 2 and drawn[spread] == backends


def test_sweep_report_has_the_heat_map(tmp_path: Path) -> None:
    """A sweep's report.html: a cell per grid point with mean ± 95% half-width and n."""
    study = tmp_path / "study.yaml"
    study.write_text(f"""scenario: {ROOT / 'scenarios' / 'azure-cni-ip-exhaustion.yaml'}
parameters:
  - {{path: "cluster.vnet.subnets[0].addressPrefix", name: subnet, values: [10.10.1.0/24, 10.10.2.0/23]}}
  - {{path: "cluster.nodePools[user].maxPods", name: maxPods, values: [30, 50, 70]}}
seeds: 2
figures: [nodes.peak, pods.pendingFinal]
outcome: pods.pendingFinal
""")
    out = tmp_path / "sweep"
    result = subprocess.run([AKS_SIM, "sweep", str(study), "--out", str(out), "--workers", "2"],
                            cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    html = out / "report.html"
    text = html.read_text()
    _self_contained(text)
    assert "43 ±0 (n=2)" in text  # /24 and maxPods 70: 43 pods pending with every seed
    page = open_page(html)
    (ARTIFACTS / "sweep-report.png").write_bytes(page.screenshot)
    assert page.console == []
    assert [p["title"] for p in page.plots] == [
        "mean pods.pendingFinal by subnet and maxPods"]
    assert page.plots[0]["drawn"] == 6
    again = subprocess.run([AKS_SIM, "report", str(out), "--out", str(tmp_path / "r.html")],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and (tmp_path / "r.html").read_text() == text


def test_the_browser_check_can_fail(tmp_path: Path) -> None:
    """A page with a console error, a missing image and an empty plot is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("boom")</script>'
                   '<img src="missing.png"><svg class="plot"><title>empty</title></svg>'
                   "</body></html>")
    page = open_page(bad)
    assert "console.error: boom" in page.console
    assert any("ERR_FILE_NOT_FOUND" in line for line in page.console)
    assert page.plots == [{"title": "empty", "width": 300, "height": 150, "drawn": 0}]


@pytest.mark.parametrize("make,message", [
    (lambda d: None, "no such directory"),
    (lambda d: d.mkdir(), "has neither report.json"),
    (lambda d: (d.mkdir(), (d / "report.json").write_text("{")), "report.json:1:2: not JSON"),
])
def test_report_of_something_else_is_a_clear_error(tmp_path: Path, make, message: str) -> None:
    """Not a run or sweep directory: exit 2 and one line saying what was expected."""
    target = tmp_path / "dir"
    make(target)
    result = subprocess.run([AKS_SIM, "report", str(target)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_confidence_intervals() -> None:
    """Wilson for shares (3 of 3 passed: from 0.44), Student t for figures."""
    mean, half = interval95([1.0, 1.0, 1.0], proportion=True)
    assert mean == 1.0 and round(1 - half, 3) == 0.438
    mean, half = interval95([1.0, 2.0, 3.0], proportion=False)
    assert mean == 2.0 and round(half, 3) == round(4.303 / 3 ** 0.5, 3)
    assert interval95([5.0], proportion=False) == (5.0, 0.0)


def test_sweep_json_describes_the_study(tmp_path: Path) -> None:
    """sweep.json (what `aks-sim report` needs to redraw a sweep) names columns and outcome."""
    study = load_study(str(ROOT / "studies" / "subnet-vs-maxpods.yaml"))
    meta = sw.study_meta(study)
    assert meta["parameters"] == ["subnet", "maxPods"]
    assert meta["paths"] == ["cluster.vnet.subnets[0].addressPrefix",
                             "cluster.nodePools[1].maxPods"]
    assert meta["outcome"] == "pods.pendingFinal" and meta["seeds"] == [1, 2, 3]


def test_a_run_without_timeline_still_reports(tmp_path: Path) -> None:
    """A run directory from before timeline.json: the traffic plots and tables, and a note
    that says how to get the IP plots."""
    from services.reports.html import render_run

    out = tmp_path / "run"
    subprocess.run([AKS_SIM, "run", "scenarios/node-failure-through-lb.yaml", "--out", str(out),
                    "--quiet"], cwd=ROOT, capture_output=True, check=False, timeout=300)
    (out / "timeline.json").unlink()
    html = render_run(str(out))
    assert "No timeline.json in this directory" in html
    assert "Flow shoppers: latency percentiles" in html and "load spread" not in html


def test_a_broken_event_log_is_located(tmp_path: Path) -> None:
    """A line of events.jsonl the report needs that is cut short: exit 2 with file:line."""
    out = tmp_path / "run"
    subprocess.run([AKS_SIM, "run", "scenarios/azure-cni-ip-exhaustion.yaml", "--out", str(out),
                    "--quiet"], cwd=ROOT, capture_output=True, check=False, timeout=300)
    lines = (out / "events.jsonl").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if '"reason":"SubnetIsFull"' in line)
    lines[at] = lines[at][:-20]  # cut short: the reason is still there, the JSON is not
    (out / "events.jsonl").write_text("\n".join(lines) + "\n")
    result = subprocess.run([AKS_SIM, "report", str(out)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    assert f"events.jsonl:{at + 1}: expected a CloudEvents line" in result.stderr


def test_sweep_report_of_one_parameter_with_failures() -> None:
    """One parameter: a single row of cells; a point whose runs all failed says so, and the
    failed runs are listed with their errors."""
    from services.reports.html import render_sweep

    meta = {"name": "s", "description": "", "scenario": "x.yaml", "parameters": ["maxPods"],
            "seeds": [1, 2], "figures": ["nodes.peak"], "outcome": "passed"}
    rows = [{"run": f"p{i}-s{s}", "maxPods": m, "seed": str(s), "status": st, "passed": p,
             "nodes.peak": n, "error": e}
            for i, (m, st, p, n, e) in enumerate([("30", "ok", "true", "8", ""),
                                                  ("50", "failed", "", "", "ModelError: x")],
                                                 start=1) for s in (1, 2)]
    html = render_sweep(meta, rows)
    assert "1 ±0.66 (n=2)" in html and "no value (0/2)" in html
    assert html.count("ModelError: x") >= 2 and "share of runs whose expect: holds" in html
