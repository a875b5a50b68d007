"""The command-line contract of `aks-sim run` / `validate` / `schema`, through the real script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = str(Path(sys.executable).with_name("aks-sim"))
SCENARIO = str(ROOT / "scenarios" / "upgrade-surge-no-ips.yaml")


def aks_sim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the installed console script."""
    return subprocess.run([AKS_SIM, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "COLUMNS": "120"})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    proc = aks_sim("run", SCENARIO, "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    (out / "stdout.txt").write_text(proc.stdout)
    return out


def test_run_writes_cloudevents_lines_with_kubernetes_shaped_data(run_dir: Path) -> None:
    """events.jsonl: one CloudEvents 1.0 structured-mode object per line; data holds reason,
    type, involvedObject, message, sim_time, run_id and a gapless seq."""
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    assert lines
    events = [json.loads(line) for line in lines]
    for ev in events:
        assert ev["specversion"] == "1.0"
        for key in ("id", "source", "type", "time", "subject", "data"):
            assert ev[key], key
        data = ev["data"]
        assert {"reason", "type", "involvedObject", "message", "sim_time", "run_id", "seq"} <= set(data)
        assert data["type"] in ("Normal", "Warning")
        assert {"kind", "name"} <= set(data["involvedObject"])
    assert [e["data"]["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["id"] for e in events}) == len(events)
    full = [e for e in events if e["data"]["reason"] == "SubnetIsFull"]
    assert full and full[0]["type"] == "io.akssim.ipam.SubnetIsFull"
    assert full[0]["time"].startswith("2026-01-01T00:05:00")


def test_run_writes_report_json_with_every_expectation(run_dir: Path) -> None:
    """report.json: the summary and every expect result."""
    report = json.loads((run_dir / "report.json").read_text())
    assert report["passed"] is True
    assert len(report["expectations"]) == 5
    assert all(e["ok"] for e in report["expectations"])
    assert report["subnets"][0]["usable"] == 251
    assert any(w["reason"] == "SubnetIsFull" for w in report["warnings"])


def test_run_prints_a_report_that_says_what_failed_when_and_why(run_dir: Path) -> None:
    """The text report names the reason, the time and the Azure message."""
    text = (run_dir / "stdout.txt").read_text()
    assert "SubnetIsFull" in text and "5m" in text
    assert "InsufficientSubnetSize" in text or "does not have enough capacity" in text
    assert "peak    248/251" in text


def test_failed_expectation_exits_1(tmp_path: Path) -> None:
    """An unmet expect block makes the exit code 1."""
    text = Path(SCENARIO).read_text().replace("  - event: SubnetIsFull\n    equals: 1",
                                             "  - event: SubnetIsFull\n    equals: 0")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = aks_sim("run", str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert proc.returncode == 1
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["passed"] is False and not report["expectations"][0]["ok"]


def test_invalid_input_exits_2_without_traceback(tmp_path: Path) -> None:
    """A missing file, a directory, or an invalid scenario: exit 2, a located message."""
    for target in (str(tmp_path / "nope.yaml"), str(tmp_path)):
        proc = aks_sim("run", target, "--out", str(tmp_path / "o"))
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr and "cannot read" in proc.stderr
    bad = tmp_path / "s.yaml"
    bad.write_text("duration: 1h\ncluster:\n  nodePools:\n    - name: sys\n      mode: System\n"
                   "      maxPods: thirty\n")
    proc = aks_sim("run", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:6:16: cluster.nodePools[0].maxPods: expected an integer, got 'thirty'" in proc.stderr


def test_seed_flag_overrides_the_scenario_seed(tmp_path: Path) -> None:
    """--seed N changes the random draws (provisioning times of the zone failure's nodes)."""
    path = str(ROOT / "scenarios" / "zone-failure.yaml")
    logs = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"s{seed}-{len(logs)}"
        assert aks_sim("run", path, "--seed", seed, "--out", str(out), "--quiet").returncode == 0
        logs.append((out / "events.jsonl").read_bytes())
    assert logs[0] == logs[1] and logs[0] != logs[2]


def test_validate_clean_scenario_exits_0_and_prints_nothing() -> None:
    """`aks-sim validate` on a valid scenario without warnings."""
    proc = aks_sim("validate", str(ROOT / "scenarios" / "node-failure-timeline.yaml"))
    assert proc.returncode == 0 and proc.stdout == ""


def test_schema_is_json_schema_of_the_scenario() -> None:
    """`aks-sim schema` prints the JSON Schema editors use."""
    proc = aks_sim("schema")
    schema = json.loads(proc.stdout)
    assert {"cluster", "duration", "expect", "chaos", "workloads"} <= set(schema["properties"])
    assert "networkPlugin" in json.dumps(schema)


def test_progress_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, `aks-sim run` redraws a bar over simulated time on stderr."""
    import pty

    main, sub = pty.openpty()
    proc = subprocess.Popen([AKS_SIM, "run", SCENARIO, "--out", str(tmp_path)], stdin=sub,
                            stdout=subprocess.PIPE, stderr=sub, cwd=ROOT)
    os.close(sub)
    chunks = []
    while True:  # read while the child writes: a full pty would block it
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read() if proc.stdout else b""
    proc.wait(300)
    os.close(main)
    screen = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\r[" in screen and "100.0%" in screen and "30m of 30m" in screen
    assert "Scenario upgrade-surge-no-ips" in out.decode()
