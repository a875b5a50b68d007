"""A newcomer's first hour (issue 11): the files a user names, the examples that ship, and what
the commands say back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sim.scenario import Bundle, load_bundle, read_bundle, read_file

ROOT = Path(__file__).resolve().parents[2]

SMALL = textwrap.dedent("""\
    name: newcomer
    duration: 10m
    cluster:
      networkPlugin: azure
      networkPluginMode: overlay
      nodePools:
        - {name: system, mode: System, count: 2}
    workloads:
      - manifests: app.yaml
""")
APP = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: web, image: nginx}]
""")


def _aks_sim(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, check=False)


def test_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    """The CLI reads regular files only: a FIFO would hang it, /dev/zero would fill memory."""
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = _aks_sim("validate", str(fifo), timeout=30)
    assert result.returncode == 2 and "not a regular file" in result.stdout
    assert time.monotonic() - started < 30
    text, problem = read_file("/dev/zero")
    assert text is None and problem is not None and "not a regular file" in problem.message
    (tmp_path / "s.yaml").write_text(SMALL.replace("app.yaml", "/dev/zero"))
    result = _aks_sim("validate", str(tmp_path / "s.yaml"))
    assert result.returncode == 2
    assert result.stdout.startswith(f"{tmp_path / 's.yaml'}:9:16: workloads[0].manifests: ")


def test_a_missing_manifest_file_is_one_error_not_a_cascade(tmp_path: Path) -> None:
    """The objects it would have held are not reported missing one by one."""
    text = SMALL + textwrap.dedent("""\
        traffic:
          flows:
            - {name: f, from: internet, to: {service: default/web, port: 80}, rate: 10}
    """)
    (tmp_path / "s.yaml").write_text(text)
    result = _aks_sim("validate", str(tmp_path / "s.yaml"))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{tmp_path / 's.yaml'}:9:16: workloads[0].manifests: cannot read "
        f"{tmp_path / 'app.yaml'}: no such file"]


def test_a_bundle_reads_nothing_but_itself(tmp_path: Path) -> None:
    """read_bundle takes every referenced file; load_bundle then needs no disk at all."""
    (tmp_path / "s.yaml").write_text(SMALL)
    (tmp_path / "app.yaml").write_text(APP)
    bundle = read_bundle(str(tmp_path / "s.yaml"))
    assert bundle.files == {"app.yaml": APP}
    (tmp_path / "app.yaml").unlink()
    loaded = load_bundle(Bundle(bundle.text, "s.yaml", bundle.files))
    assert [d.obj.metadata.name for d in loaded.workloads.deployments] == ["web"]


def test_shipped_examples_run_by_name_from_anywhere(tmp_path: Path) -> None:
    """`aks-sim validate zone-failure` and `scenarios/zone-failure.yaml` outside the tree."""
    by_name = _aks_sim("validate", "zone-failure", cwd=tmp_path)
    assert by_name.returncode == 0 and by_name.stderr.endswith("zone-failure.yaml: valid\n")
    by_path = _aks_sim("validate", "scenarios/zone-failure.yaml", cwd=tmp_path)
    assert by_path.returncode == 0 and "using the shipped example" in by_path.stderr
    listed = _aks_sim("examples", cwd=tmp_path)
    shipped = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    assert [line.split()[0] for line in listed.stdout.splitlines() if line.startswith("  ")][
        :len(shipped)] == shipped
    unknown = _aks_sim("validate", "no-such-example", cwd=tmp_path)
    assert unknown.returncode == 2 and "no such file" in unknown.stdout


def test_version_and_completion() -> None:
    """--version is the installed version; the bash completion script parses and knows the
    subcommands and their flags."""
    from importlib.metadata import version

    assert _aks_sim("--version").stdout.strip() == f"aks-sim {version('aks-sim')}"
    script = _aks_sim("completion", "bash").stdout
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stderr
    completed = subprocess.run(
        ["bash", "-c", script + "\nCOMP_WORDS=(aks-sim run --log-); COMP_CWORD=2; _aks_sim; "
                                "echo ${COMPREPLY[@]}"],
        capture_output=True, text=True, check=False)
    assert completed.stdout.split() == ["--log-level", "--log-format"]


def test_replay_check_answers_whether_the_replay_matches(tmp_path: Path) -> None:
    """A run whose expectation fails exits 1; its replay matches, so `replay --check` exits 0."""
    text = SMALL.replace("  - manifests: app.yaml\n", "  - " + APP.replace("\n", "\n    ")
                         .rstrip() + "\n") + "expect:\n  - figure: nodes.final\n    equals: 99\n"
    (tmp_path / "s.yaml").write_text(text)
    run = _aks_sim("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run"), "--quiet")
    assert run.returncode == 1, run.stderr
    check = _aks_sim("replay", str(tmp_path / "run"), "--check", "--quiet")
    assert check.returncode == 0, check.stderr
    assert "matches" in check.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["passed"] is False


def test_the_report_says_when_there_is_nothing_to_check_and_when_errors_go_on(tmp_path: Path) -> None:
    """No expect: block is not "every expectation holds"; a flow failing until the end is
    said to be still failing (its ongoing error run is the whole run)."""
    text = SMALL.replace("  - manifests: app.yaml\n", textwrap.dedent("""\
          - apiVersion: v1
            kind: Service
            metadata: {name: nobody-home}
            spec:
              type: LoadBalancer
              selector: {app: nothing-matches-this}
              ports: [{port: 80}]
        traffic:
          flows:
            - name: lost
              from: internet
              to: {service: default/nobody-home, port: 80}
              rate: {profile: constant, rps: 100}
        """))
    (tmp_path / "s.yaml").write_text(text)
    run = _aks_sim("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert "Result: no expectations" in run.stdout
    assert "still failing when the run ended" in run.stdout
    figures = json.loads((tmp_path / "run" / "report.json").read_text())["figures"]
    assert figures["flow.lost.errorRate"] == 1.0
    assert figures["flow.lost.ongoingErrorSeconds"] == figures["flow.lost.errorSeconds"] > 0


def test_a_progress_bar_with_an_eta() -> None:
    """The one bar: percentage, elapsed and ETA; silent when not a terminal."""
    import io

    from services.progress import Bar

    stream = io.StringIO()
    bar = Bar(100.0, stream, enabled=True)
    bar.started -= 10  # ten seconds ago
    bar.draw(25.0, "25s of 100s,", force=True)
    assert " 25.0% 25s of 100s, 0:10 elapsed, ETA 0:30" in stream.getvalue()
    quiet = io.StringIO()
    Bar(100.0, quiet, enabled=False).draw(50.0, "x")
    assert quiet.getvalue() == ""


def test_export_prints_the_grafana_link_for_the_runs_own_time_range(tmp_path: Path) -> None:
    """A backfilled run sits at its scenario's startTime, so the link opens the Cluster
    dashboard from there to the last sample; a file another version wrote is a located error."""
    from datetime import datetime

    text = SMALL.replace("  - manifests: app.yaml\n", "  - " + APP.replace("\n", "\n    ").rstrip()
                         + "\n")
    (tmp_path / "s.yaml").write_text(text)
    assert _aks_sim("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run"),
                    "--quiet").returncode == 0
    result = _aks_sim("export", "openmetrics", str(tmp_path / "run"), "-o", str(tmp_path / "om"),
                      "--grafana", "http://grafana.example:3000/")
    assert result.returncode == 0, result.stderr
    begin = int(datetime.fromisoformat("2026-01-01T00:00:00+00:00").timestamp() * 1000)
    assert ("http://grafana.example:3000/d/akssim-cluster/aks-sim-cluster?orgId=1&from="
            f"{begin}&to={begin + 600_000}&var-run=local") in result.stderr
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    sample = json.loads(lines[1])
    name = next(iter(sample["f"]))
    sample["f"][name][0][0] = sample["f"][name][0][0] + ["extra"]
    (tmp_path / "run" / "metrics.jsonl").write_text("\n".join([lines[0], json.dumps(sample)]) + "\n")
    stale = _aks_sim("export", "openmetrics", str(tmp_path / "run"), "-o", str(tmp_path / "om2"))
    assert stale.returncode == 2 and "Traceback" not in stale.stderr
    assert f"metrics.jsonl:2:1: {name}: expected " in stale.stderr


def test_a_compressed_event_log_is_the_same_log_and_every_reader_takes_it(tmp_path: Path) -> None:
    """`run --compress` writes events.jsonl.gz: decompressed, byte for byte the plain log of the
    same run; replay --check and report read it; it is a fraction of the size."""
    import gzip

    scenario = str(ROOT / "scenarios" / "ingress-shop.yaml")
    plain = _aks_sim("run", scenario, "--out", str(tmp_path / "plain"), "--quiet", "--seed", "4")
    packed = _aks_sim("run", scenario, "--out", str(tmp_path / "gz"), "--quiet", "--seed", "4",
                      "--compress")
    assert plain.returncode == packed.returncode == 0, packed.stderr
    assert not (tmp_path / "gz" / "events.jsonl").exists()
    raw = (tmp_path / "plain" / "events.jsonl").read_bytes()
    gz = (tmp_path / "gz" / "events.jsonl.gz").read_bytes()
    assert gzip.decompress(gz) == raw and len(gz) * 5 < len(raw)
    check = _aks_sim("replay", str(tmp_path / "gz"), "--check", "--quiet")
    assert check.returncode == 0 and "matches" in check.stderr, check.stderr
    report = _aks_sim("report", str(tmp_path / "gz"))
    assert report.returncode == 0, report.stderr
    assert "<svg" in (tmp_path / "gz" / "report.html").read_text()
