"""A detector that crashes is reported as a failed row; the other detectors' findings stay."""

from __future__ import annotations

from analyzer.api import parse_bundle
from analyzer.detectors import run_detectors
from analyzer.detectors.base import Detector, Hit
from analyzer.detectors.network import DhcpFailure
from analyzer.detectors.scope import Scope
from analyzer.locale import word
from analyzer.model import Analysis
from tests.conftest import ROOT


class Broken(Detector):
    id = "BROKEN_PLUGIN"
    sources = ("waagent_log",)

    def collect(self, analysis: Analysis, scope: Scope) -> list[Hit]:
        raise KeyError("no such attr")


def test_crash_is_a_failed_row_and_others_still_run() -> None:
    analysis, _ = parse_bundle(ROOT / "samples" / "linux-dhcp-failure")
    findings, _ = run_detectors(analysis, [Broken(), DhcpFailure()])
    assert [f.id for f in findings] == ["DHCP_FAILURE"]
    rows = [s for s in analysis.sources if s.path == "detector BROKEN_PLUGIN"]
    assert len(rows) == 1 and rows[0].status == "failed"
    assert rows[0].error is not None and "KeyError" in word(rows[0].error)
