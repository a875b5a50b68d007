"""Text no scenario should contain: control characters, tags that cannot construct, a name
too long for a directory. Each is a located issue (CLI exit 2), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.kernel.errors import ScenarioError
from sim.scenario import load_text

ROOT = Path(__file__).resolve().parents[2]
GOOD = "duration: 30m\nseed: 1\ncluster:\n  nodePools:\n    - {name: system, mode: System}\n"


@pytest.mark.parametrize(("char", "code"), [("\x00", "U+0000"), ("\x1b", "U+001B"),
                                            ("\x0c", "U+000C"), ("\x7f", "U+007F")])
def test_a_control_character_is_located(char: str, code: str) -> None:
    text = GOOD.replace("seed: 1", f"seed: 1{char}")
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "<ctl>")
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.column) == ("<ctl>", 2, 8)
    assert code in issue.message and "not allowed" in issue.message


@pytest.mark.parametrize("tag", ["!!bool maybe", "!!int 1.5", "!!float abc", "!!binary '@@@'",
                                 "!!timestamp yesterday"])
def test_a_tag_that_cannot_construct_is_located(tag: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_text(GOOD.replace("seed: 1", f"seed: {tag}"), "<tag>")
    assert any(i.line == 2 and i.column == 7 for i in caught.value.issues), caught.value.issues


def test_the_cli_exits_2_without_a_traceback_on_a_nul(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_bytes(GOOD.replace("seed: 1", "seed: 1\x00").encode())
    done = subprocess.run([sys.executable, "-m", "services.cli", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{path}:2:8: invalid YAML: the control character U+0000" in done.stdout
