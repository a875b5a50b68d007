"""Every case of every azure sizing oracle file, one test each (``file::group::case-id``).

Files: ``$AKSSIM_ORACLES`` (default ``../shared/oracles`` from the repo root) and
``tests/conformance/cases``. Other families are reported by conftest.py, one line each.
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
    directory = oracles_dir()
    assert directory.is_dir(), f"oracle directory {directory} (AKSSIM_ORACLES) does not exist"
    assert any(f.path.parent == directory for f in FILES), f"no *.yaml oracle file in {directory}"


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
