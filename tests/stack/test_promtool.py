"""The Prometheus configuration and rules pass promtool."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from servers import need
from stackfiles import ROOT, mounted


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([need("promtool"), *args], capture_output=True, text=True, timeout=60)


def test_promtool_check_config_passes(tmp_path: Path) -> None:
    """The mounted file's syntax; then, in full (files it names included), deploy/native.sh's
    copy, where the token Compose mounts at /run/secrets is a file of the copy."""
    mounted_file = mounted("prometheus", "/etc/prometheus/prometheus.yml")
    done = _promtool("check", "config", "--syntax-only", str(mounted_file))
    assert done.returncode == 0, done.stdout + done.stderr
    env = {**os.environ, "AKSSIM_API_TOKEN": "promtool-token-0123456789"}
    native = subprocess.run(["bash", str(ROOT / "deploy" / "native.sh"), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert native.returncode == 0, native.stderr
    done = _promtool("check", "config", str(tmp_path / "prometheus" / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr


def test_promtool_check_rules_passes() -> None:
    done = _promtool("check", "rules", str(mounted("prometheus", "/etc/prometheus/rules.yml")))
    assert done.returncode == 0, done.stdout + done.stderr
