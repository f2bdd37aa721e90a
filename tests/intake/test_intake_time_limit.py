"""The per-bundle time limit (Limits.max_seconds, CLI --timeout) stops reading with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analyzer.api import parse_bundle
from analyzer.intake import Limits
from analyzer.model import Options

LINE = b"2024-06-10T02:03:40.420117Z INFO ExtHandler ExtHandler Wire server endpoint:168.63.129.16\n"


def _bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle" / "var" / "log"
    root.mkdir(parents=True)
    (root / "waagent.log").write_bytes(LINE * 10)
    return tmp_path / "bundle"


def test_expired_budget_names_the_limit_and_what_was_not_read(tmp_path: Path) -> None:
    analysis, _ = parse_bundle(_bundle(tmp_path), Options(limits=Limits(max_seconds=0.0)))
    assert analysis.stopped == "time" and "max_seconds=0" in analysis.stopped_detail
    assert analysis.unread == ["var/log/waagent.log"]
    assert [s.status for s in analysis.sources] == ["failed"]


def test_generous_budget_changes_nothing(tmp_path: Path) -> None:
    analysis, _ = parse_bundle(_bundle(tmp_path), Options(limits=Limits(max_seconds=600.0)))
    assert [s.status for s in analysis.sources] == ["parsed"]
    assert analysis.fact("wireserver.endpoint") is not None


def test_cli_rejects_a_nonpositive_timeout(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", str(_bundle(tmp_path)), "--timeout", "0"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "timeout" in proc.stderr.lower()
