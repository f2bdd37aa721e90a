"""Missing evidence names a collection command for the bundle's own OS."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.api import analyze
from tests.conftest import ROOT

SAMPLES = sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir())


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_collection_commands_fit_the_os(sample: Path) -> None:
    report = analyze(sample)
    for m in report.missing_evidence:
        if report.bundle.os == "windows":
            assert "/var/" not in m.collect and "sudo" not in m.collect, m
        elif report.bundle.os == "linux":
            assert "C:\\" not in m.collect and "wevtutil" not in m.collect, m
