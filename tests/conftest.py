"""Shared test locations: the repo root and the shared reference material beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFDATA = SHARED / "reference-data"


@pytest.fixture(scope="session")
def refdata() -> Path:
    if not REFDATA.is_dir():
        pytest.fail(f"reference data not found beside the repo: {REFDATA}")
    return REFDATA
