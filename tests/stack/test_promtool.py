"""The Prometheus configuration and rules pass promtool."""

from __future__ import annotations

import subprocess

from servers import need
from stackfiles import mounted


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([need("promtool"), *args], capture_output=True, text=True, timeout=60)


def test_promtool_check_config_passes() -> None:
    done = _promtool("check", "config", str(mounted("prometheus", "/etc/prometheus/prometheus.yml")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr


def test_promtool_check_rules_passes() -> None:
    done = _promtool("check", "rules", str(mounted("prometheus", "/etc/prometheus/rules.yml")))
    assert done.returncode == 0, done.stdout + done.stderr
