"""`aks-sim validate` on a scenario that declares ``expectError``: exit 0 when it is rejected
exactly as it says, 1 (with what differs) when not. The invalid catalogue can be scenarios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REJECTED = sorted((Path(__file__).resolve().parent / "rejected").glob("*.yaml"))


@pytest.mark.parametrize("path", REJECTED, ids=lambda p: p.stem)
def test_validate_accepts_a_rejection_that_happens_as_declared(path: Path, tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "services.cli", "validate", str(path)],
                        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert ok.returncode == 0 and "rejected as its expectError says" in ok.stderr, ok.stdout
    text = path.read_text()
    assert "message:" in text
    wrong = tmp_path / path.name
    wrong.write_text(text.replace("message:", "message: no such words,", 1))
    bad = subprocess.run([sys.executable, "-m", "services.cli", "validate", str(wrong)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert bad.returncode == 1 and "expected an error at" in bad.stdout
