"""Every example scenario, three seeds: the event log, metrics and report are byte-identical to
the committed golden hashes (see golden.py: a change that moves them updates hashes.json in
the same commit and says why)."""

from __future__ import annotations

import json

import pytest
from goldenkit import HASHES, SEEDS, run_one, scenarios

GOLDEN = json.loads(HASHES.read_text())


def test_the_golden_set_covers_every_example_and_seed() -> None:
    assert set(GOLDEN) == {f"{p.stem}@{s}" for p in scenarios() for s in SEEDS}


@pytest.mark.parametrize("path", scenarios(), ids=lambda p: p.stem)
def test_outputs_match_the_golden_hashes(path) -> None:  # noqa: ANN001
    for seed in SEEDS:
        got = run_one(path, seed)
        want = GOLDEN[f"{path.stem}@{seed}"]
        changed = [name for name in want if got[name] != want[name]]
        assert not changed, (f"{path.stem} seed {seed}: {', '.join(changed)} changed; if that is "
                             f"intended, run `python tests/golden/goldenkit.py --update` and say why")
