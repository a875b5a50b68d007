"""Study files: checked before anything runs, every issue located in the study.

``invalid/<what-is-wrong>.yaml`` is a catalogue like the scenario one: each file is one
mistake, and its adjacent ``.expected`` holds exactly what ``aks-sim sweep`` prints on stderr
(exit 2, nothing written).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.kernel.errors import ScenarioError
from sim.scenario.study import load_study, parse_path, resolve_path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INVALID = sorted((HERE / "invalid").glob("*.yaml"))
STUDIES = sorted((ROOT / "studies").glob("*.yaml"))


def _aks_sim(*args: str) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).with_name("aks-sim")
    script = str(beside) if beside.exists() else shutil.which("aks-sim")
    assert script, "the aks-sim console script is not installed (pip install -e .)"
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def test_catalogue_is_complete() -> None:
    """At least 20 invalid studies, each with its .expected."""
    assert len(INVALID) >= 20
    assert {p.stem for p in INVALID} == {p.stem for p in (HERE / "invalid").glob("*.expected")}


@pytest.mark.parametrize("study", INVALID, ids=[p.stem for p in INVALID])
def test_sweep_refuses_invalid_study(study: Path, tmp_path: Path) -> None:
    """`aks-sim sweep` prints exactly the expected located issues, exits 2, writes nothing."""
    out = tmp_path / "out"
    result = _aks_sim("sweep", study.relative_to(ROOT).as_posix(), "--out", str(out))
    assert "Traceback" not in result.stderr
    assert result.stderr == study.with_suffix(".expected").read_text(encoding="utf-8")
    assert result.returncode == 2
    assert not out.exists()


@pytest.mark.parametrize("study", STUDIES, ids=[p.stem for p in STUDIES])
def test_example_studies_are_valid(study: Path) -> None:
    """Every study in studies/ loads, and its --check plan names its runs and columns."""
    loaded = load_study(str(study))
    assert loaded.points and loaded.seeds
    result = _aks_sim("sweep", str(study.relative_to(ROOT)), "--check")
    assert result.returncode == 0, result.stderr
    runs = len(loaded.points) * len(loaded.seeds)
    assert f"= {runs} runs" in result.stdout


def _write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "study.yaml"
    path.write_text(f"scenario: {ROOT / 'scenarios' / 'azure-cni-ip-exhaustion.yaml'}\n{body}")
    return str(path)


def test_grid_is_the_product_with_the_last_parameter_fastest(tmp_path: Path) -> None:
    """Two parameters of 2 and 3 values make 6 points; seeds: N means 1..N."""
    study = load_study(_write(tmp_path, """
parameters:
  - {path: "cluster.nodePools[user].maxPods", name: pods, values: [30, 40]}
  - {path: "cluster.nodePools[user].maxCount", name: max, range: {from: 10, to: 20, step: 5}}
seeds: 2
"""))
    assert study.points == [{"pods": p, "max": m} for p in (30, 40) for m in (10, 15, 20)]
    assert study.seeds == [1, 2]
    assert study.parameters[0].path == ("cluster", "nodePools", 1, "maxPods")


def test_sample_draws_the_same_points_for_the_same_seed(tmp_path: Path) -> None:
    """A sample is a subset of the grid, in grid order, fixed by its seed."""
    body = """
parameters:
  - {path: "cluster.nodePools[user].maxPods", values: [30, 40, 50, 60]}
  - {path: "cluster.nodePools[user].maxCount", values: [10, 12, 14, 16]}
sample: {count: 5, seed: %d}
"""
    a = load_study(_write(tmp_path, body % 1)).points
    b = load_study(_write(tmp_path, body % 1)).points
    c = load_study(_write(tmp_path, body % 2)).points
    assert a == b and len(a) == 5 and a != c
    full = load_study(_write(tmp_path, body.split("sample")[0])).points
    assert [full.index(p) for p in a] == sorted(full.index(p) for p in a)


def test_a_path_may_name_a_field_the_scenario_leaves_out(tmp_path: Path) -> None:
    """A schema field not written in the scenario (autoscalerProfile) can still be varied."""
    study = load_study(_write(tmp_path, """
parameters:
  - {path: cluster.autoscalerProfile.scanInterval, values: [10s, 30s]}
"""))
    variant = study.variant(study.points[1])
    assert variant.spec.cluster.autoscaler_profile.scan_interval == 30.0


def test_paths_parse_indexes_and_names() -> None:
    """Digits in brackets are indexes, anything else the name of an entry."""
    assert parse_path("cluster.nodePools[user].maxPods") == ["cluster", "nodePools", "user",
                                                             "maxPods"]
    assert parse_path("chaos[0].at") == ["chaos", 0, "at"]
    assert parse_path("cluster.[0]") is None
    assert resolve_path("cluster.nodePools[x]", {"cluster": {"nodePools": []}})[0] is None


def test_invalid_study_raises_with_every_issue(tmp_path: Path) -> None:
    """All problems at once, not the first one only."""
    with pytest.raises(ScenarioError) as err:
        load_study(_write(tmp_path, """
parameters:
  - {path: "cluster.nodePools[user].maxPod", values: [30]}
  - {path: "cluster.nodePools[user].maxPods", values: [300]}
figures: [nodes.peek]
"""))
    paths = [i.path for i in err.value.issues]
    assert paths == ["parameters[0].path", "parameters[1].values[0]", "figures[0]"]


def test_a_path_may_name_an_inline_kubernetes_object(tmp_path: Path) -> None:
    """workloads[web] is the inline object whose metadata.name is web."""
    path = tmp_path / "s.yaml"
    path.write_text(f"scenario: {ROOT / 'scenarios' / 'coredns-losing-its-pods.yaml'}\n"
                    "parameters:\n  - {path: 'workloads[web].spec.replicas', values: [2, 5]}\n"
                    "figures: [deployment.web.desiredFinal]\n")
    study = load_study(str(path))
    assert study.parameters[0].path == ("workloads", 0, "spec", "replicas")
    assert study.variant(study.points[1]).workloads.deployment("web").spec.replicas == 5
