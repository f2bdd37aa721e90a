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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scenarios", default="cover", choices=("cover", "pairwise", "full"),
                     help="generated corpus (tests/scenarios): cover = every axis value with every story family "
                          "(CI); pairwise = every pair of axis values; full = the whole cross product (huge: "
                          "combine with -k STORY and --scenario-max)")
    parser.addoption("--scenario-max", type=int, default=0,
                     help="at most this many generated cases per story (0: no limit; 300 with --scenarios=full)")
