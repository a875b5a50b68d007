"""Every case of every azure sizing oracle file, one test each (``file::group::case-id``).

Files: ``tests/conformance/cases`` (with ``published/``, the oracle files the team was handed)
and, in addition, ``$AKSSIM_ORACLES`` when set (CI sets it). Other families are reported by
conftest.py, one line each.
"""

from __future__ import annotations

import pytest
from conformance_azure_sizing import evaluate_case
from conformance_loader import (
    AZURE_SIZING,
    OracleFile,
    SizingCase,
    load_all,
    oracles_dir,
    sizing_cases,
)

FILES: list[OracleFile] = load_all()
CASES: list[SizingCase] = sizing_cases(FILES)
# An empty parameter set would become a skip (CI forbids skips): a None stands in and fails.
FILE_PARAMS: list[OracleFile | None] = list(FILES) or [None]
CASE_PARAMS: list[SizingCase | None] = list(CASES) or [None]


def test_oracle_directory_has_files() -> None:
    """The project's own cases are there; a directory named by AKSSIM_ORACLES exists and holds
    oracle files (each either new, or identical to one of the project's)."""
    assert any(f.label.startswith("cases/published/") for f in FILES), "no published oracle file"
    directory = oracles_dir()
    if directory is not None:
        assert directory.is_dir(), f"oracle directory {directory} (AKSSIM_ORACLES) does not exist"
        assert any(directory.glob("*.yaml")), f"no *.yaml oracle file in {directory}"


def test_an_extra_directory_adds_only_new_files(tmp_path) -> None:  # noqa: ANN001
    """AKSSIM_ORACLES adds its files; a copy of a file the project has runs once."""
    published = next(f for f in FILES if f.label.startswith("cases/published/"))
    (tmp_path / "same.yaml").write_bytes(published.path.read_bytes())
    (tmp_path / "new_azure_sizing_cases.yaml").write_bytes(published.path.read_bytes() + b"\n")
    labels = [f.label for f in load_all(tmp_path)]
    assert "same.yaml" not in labels and "new_azure_sizing_cases.yaml" in labels


@pytest.mark.parametrize("oracle", FILE_PARAMS,
                         ids=[f.label if f else "no-files" for f in FILE_PARAMS])
def test_oracle_file_loads(oracle: OracleFile | None) -> None:
    assert oracle is not None, "no oracle file found at all"
    assert oracle.error is None, oracle.error
    assert isinstance(oracle.data, dict), f"{oracle.label}: top level is not a mapping"
    if oracle.family == AZURE_SIZING:
        assert sizing_cases([oracle]), f"{oracle.label}: an azure sizing file with no cases"


@pytest.mark.parametrize("case", CASE_PARAMS,
                         ids=[c.test_id if c else "no-cases" for c in CASE_PARAMS])
def test_azure_sizing_case(case: SizingCase | None) -> None:
    assert case is not None, "no azure sizing case found in any oracle file"
    outcome = evaluate_case(case.group, case.case)
    assert outcome.ok, f"{case.test_id}:\n{outcome.report()}"
