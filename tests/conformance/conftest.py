"""Conformance harness: report oracle families not implemented yet, one line each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The harness's helper modules sit beside this file; make them importable in any import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from conformance_loader import (  # noqa: E402
    family_warning,
    load_all,
    unimplemented_families,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One visible line per oracle family the harness does not run yet (no skip, no fail)."""
    pending = unimplemented_families(load_all())
    if not pending:
        return
    terminalreporter.section("conformance families not implemented yet", sep="-")
    for family, files in sorted(pending.items()):
        terminalreporter.write_line(family_warning(family, files))
