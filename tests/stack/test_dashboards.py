"""The Grafana dashboards and provisioning, structurally: what Grafana needs to load them and
what makes every panel a query of a metric that exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from stackfiles import DASHBOARDS, DATASOURCES, ROOT, compose, dashboard, mounted, panels

METRICS_DOC = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
RULES = (ROOT / "deploy" / "prometheus" / "rules.yml").read_text(encoding="utf-8")
CORE_PANELS = {"timeseries", "stat", "gauge", "bargauge", "state-timeline", "table", "row"}
"""Panels that ship with Grafana: no plugin to install."""
PROMQL_WORDS = {"sum", "by", "on", "group_left", "ignoring", "rate", "increase", "deriv", "stddev",
                "avg", "max", "min", "histogram_quantile", "le", "run", "clamp_min", "count"}


VARIABLE_DS = {"type": "prometheus", "uid": "${datasource}"}
"""Every query goes through the dashboard's datasource variable (imports into any Grafana)."""


def _datasource_uid() -> str:
    provisioned = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert len(provisioned) == 1 and provisioned[0]["type"] == "prometheus"
    return provisioned[0]["uid"]


def _exprs(board: dict) -> list[str]:
    return [t["expr"] for p in panels(board) for t in p.get("targets", [])]


def test_there_is_a_dashboard_for_each_topic() -> None:
    titles = {dashboard(p)["title"] for p in DASHBOARDS}
    assert titles == {"aks-sim / Cluster", "aks-sim / IP addresses",
                      "aks-sim / Traffic and load balancing", "aks-sim / Ingress and DNS"}


def test_the_committed_json_is_what_build_py_writes() -> None:
    spec = importlib.util.spec_from_file_location("grafana_build", ROOT / "grafana" / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rendered = build.render()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text(encoding="utf-8") == rendered[path.name], \
            f"{path.name} differs from grafana/build.py's output: run python grafana/build.py"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path) -> None:
    board = dashboard(path)
    assert board["schemaVersion"] >= 36 and board["uid"] and board["title"]
    ids = [p["id"] for p in panels(board)]
    assert ids and len(ids) == len(set(ids)), f"panel ids repeat: {ids}"
    for panel in panels(board):
        assert panel["type"] in CORE_PANELS, f"{panel['title']!r}: {panel['type']} is not a core panel"
        if panel["type"] == "row":
            continue
        targets = panel.get("targets", [])
        assert targets and all(t.get("expr", "").strip() for t in targets), \
            f"panel {panel['id']} {panel['title']!r} has no query"
        refs = [t["refId"] for t in targets]
        assert len(refs) == len(set(refs)), panel["title"]
        for ds in [panel.get("datasource")] + [t.get("datasource") for t in targets]:
            assert ds == VARIABLE_DS, f"{panel['title']!r}: datasource {ds}"
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_has_the_run_variable_and_the_chaos_annotation(path) -> None:
    board = dashboard(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    run = variables["run"]
    assert run["query"]["query"] == "label_values(akssim_sim_time_seconds, run)"
    assert run["datasource"] == VARIABLE_DS
    faults = [a for a in board["annotations"]["list"] if "akssim_fault_active" in a.get("expr", "")]
    assert len(faults) == 1 and faults[0]["enable"] and faults[0]["datasource"] == VARIABLE_DS
    for expr in _exprs(board) + [faults[0]["expr"]]:
        assert 'run="$run"' in expr, f"a query ignores the run variable: {expr}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_the_datasource_is_a_variable_and_an_import_input(path) -> None:
    """No hard-coded datasource uid: a `datasource` variable of Prometheus datasources (first
    in the list, so `run` can use it), declared as an import input as grafana.com dashboards
    do; on the stack it starts on the provisioned Prometheus, the default."""
    board = dashboard(path)
    first = board["templating"]["list"][0]
    assert (first["name"], first["type"], first["query"]) == ("datasource", "datasource", "prometheus")
    assert f'"uid": "{_datasource_uid()}"' not in path.read_text(encoding="utf-8")
    [ds_input] = board["__inputs"]
    assert ds_input["type"] == "datasource" and ds_input["pluginId"] == "prometheus"
    requires = {(r["type"], r["id"]) for r in board["__requires"]}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} <= requires
    kinds = {p["type"] for p in panels(board)} - {"row"}
    assert {k for t, k in requires if t == "panel"} == kinds
    grafana = next(r for r in board["__requires"] if r["id"] == "grafana")
    assert f"grafana/grafana:{grafana['version']}" in (ROOT / "docker-compose.yml").read_text()
    assert yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"][0]["isDefault"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_no_two_panels_overlap(path) -> None:
    """Grafana pushes an overlapping panel down and reorders the layout: the builder must
    place each line of panels below the tallest panel of the line before."""
    boxes = [(p["title"], p["gridPos"]) for p in panels(dashboard(path))]
    for i, (a, pa) in enumerate(boxes):
        for b, pb in boxes[i + 1:]:
            apart = (pa["x"] + pa["w"] <= pb["x"] or pb["x"] + pb["w"] <= pa["x"]
                     or pa["y"] + pa["h"] <= pb["y"] or pb["y"] + pb["h"] <= pa["y"])
            assert apart, f"{path.name}: {a!r} {pa} overlaps {b!r} {pb}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_stat_panels_have_thresholds_that_mean_something(path) -> None:
    """Grafana's default thresholds (green, red from 80) make no sense for a clock or a count
    that should be 0: every stat panel sets its own."""
    for panel in panels(dashboard(path)):
        if panel["type"] != "stat":
            continue
        thresholds = panel["fieldConfig"]["defaults"].get("thresholds")
        assert thresholds and thresholds["mode"] == "absolute", panel["title"]
        steps = thresholds["steps"]
        assert steps[0]["value"] is None and steps != [{"color": "green", "value": None},
                                                       {"color": "red", "value": 80}], panel["title"]
        assert [s["value"] for s in steps[1:]] == sorted(s["value"] for s in steps[1:])


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_metric_a_dashboard_uses_is_documented(path) -> None:
    """Names come from docs/metrics.md (a histogram's _bucket, a counter's _total)."""
    for expr in _exprs(dashboard(path)):
        for name in set(re.findall(r"\b([a-z_][a-z0-9_:]*)\s*(?:\{|\[)", expr)) - PROMQL_WORDS:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            documented = f"`{base}`" in METRICS_DOC or f"`{base.removesuffix('_total')}`" in METRICS_DOC
            assert documented or f"record: {name}" in RULES, f"{path.name}: {name} in {expr}"


def test_provisioning_points_at_the_mounted_dashboards() -> None:
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/dashboards.yaml").read_text())
    [files] = provider["providers"]
    assert files["type"] == "file"
    assert mounted("grafana", files["options"]["path"]) == ROOT / "grafana" / "dashboards"
    datasource = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in compose()["services"]


def test_native_grafana_provisioning_points_at_the_repository(tmp_path) -> None:
    """deploy/native.sh writes Grafana provisioning for a Grafana outside Docker."""
    import os
    import subprocess

    env = {**os.environ, "PROMETHEUS": "127.0.0.1:9999"}
    done = subprocess.run(["bash", str(ROOT / "deploy" / "native.sh"), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    provisioning = tmp_path / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())
    [datasource] = datasources["datasources"]
    assert datasource["url"] == "http://127.0.0.1:9999" and datasource["uid"] == _datasource_uid()
    [files] = yaml.safe_load((provisioning / "dashboards" / "dashboards.yaml").read_text())["providers"]
    assert Path(files["options"]["path"]) == ROOT / "grafana" / "dashboards"
    assert f"GF_PATHS_PROVISIONING={provisioning}" in done.stdout
