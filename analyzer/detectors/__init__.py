"""Detectors: one module per cause family. (Catalog and runner land with the diagnosis work.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.api import Analysis
    from analyzer.model import Finding, MissingEvidence


def run_detectors(analysis: Analysis) -> tuple[list[Finding], list[MissingEvidence]]:
    """Run every detector over one analysis; findings plus the evidence that was missing."""
    return [], []
