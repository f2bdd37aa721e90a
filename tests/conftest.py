"""Shared test locations (the repo root, the reference material beside it) and what a bare clone lacks.

Two things live outside the repository: the reference files of public projects in ``../shared`` (never
copied in) and Debian's Chromium for the HTML report. On a bare clone the tests that need them skip with a
one-line reason; when ``CI`` is set (``.ci/run`` sets it; CI always has both) they fail instead, so a
broken CI machine never passes by skipping; in CI any other skip fails too. A test needs ``../shared`` when
it reads a file under it (a ``FileNotFoundError`` there becomes the skip) or asks for the ``refdata``
fixture; it needs Chromium when it asks for :func:`require_chromium`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFDATA = SHARED / "reference-data"
CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason`` on a bare clone; fail in CI, which always has what the test needs."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, and CI must have it)", pytrace=False)
    pytest.skip(reason)


SHARED_REASON = f"needs the reference files beside the project ({SHARED} is absent)"


@pytest.fixture(scope="session")
def refdata() -> Path:
    if not REFDATA.is_dir():
        unavailable(SHARED_REASON)
    return REFDATA


def reference_files(keep: Callable[[Path], bool] = lambda p: True) -> list[Path]:
    """The reference files to parametrize over; on a bare clone the absent folder itself, so that the
    test reads it and skips (or fails in CI) with the reason instead of silently running no case."""
    if not REFDATA.is_dir():
        return [REFDATA]
    return sorted(p for p in REFDATA.rglob("*") if p.is_file() and keep(p))


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"needs Debian's Chromium at {CHROMIUM} for the HTML report tests")
    return CHROMIUM


def _reads_absent_shared(exc: BaseException) -> bool:
    name = getattr(exc, "filename", None)
    return isinstance(exc, FileNotFoundError) and not REFDATA.is_dir() and \
        name is not None and Path(os.fsdecode(name)).is_relative_to(SHARED)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    """A test module that reads ``../shared`` when imported is skipped as a whole on a bare clone."""
    report: pytest.CollectReport = yield
    text = str(report.longrepr) if report.failed else ""
    if "FileNotFoundError" in text and str(SHARED) in text and not REFDATA.is_dir() and not in_ci():
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), None, f"Skipped: {SHARED_REASON}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except FileNotFoundError as exc:
        if _reads_absent_shared(exc):
            unavailable(SHARED_REASON)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except FileNotFoundError as exc:
        if _reads_absent_shared(exc):
            unavailable(SHARED_REASON)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """In CI nothing is skipped: a skip there (a missing module, tool or file CI must have) is a failure."""
    report: pytest.TestReport = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"in CI nothing may skip, and this test did: {reason}"
    return report


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scenarios", default="cover", choices=("cover", "pairwise", "full"),
                     help="generated corpus (tests/scenarios): cover = every axis value with every story family "
                          "(CI); pairwise = every pair of axis values; full = the whole cross product (huge: "
                          "combine with -k STORY and --scenario-max)")
    parser.addoption("--scenario-max", type=int, default=0,
                     help="at most this many generated cases per story (0: no limit; 300 with --scenarios=full)")
