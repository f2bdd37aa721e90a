"""Terminal summary: order of sections, quiet and plain modes, and no markup or escape sequence from the bundle."""

from __future__ import annotations

import io
import re

from analyzer.model import Evidence, say
from analyzer.report.terminal import render_terminal
from tests.report.builders import finding, sample_report, validated

HOSTILE = ("\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x9b31m"
           "[link=https://evil.example]fake[/link] [bold green]ALL CHECKS PASSED[/] :skull: \u202egnp.exe\u200b")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_verdict_first_then_findings_by_severity_then_the_rest() -> None:
    out = render_terminal(sample_report(), file=None)
    assert out is not None
    first = out.splitlines()[0]
    assert first.startswith("Verdict: Problems found") and "Root cause: WIRESERVER_UNREACHABLE" in first
    order = [out.index(s) for s in ("CRITICAL WIRESERVER_UNREACHABLE", "ERROR SNAPSHOT_TIMEOUT",
                                    "INFO VERBOSE_LOGGING_DISABLED", "Missing evidence", "collect with: sudo tar",
                                    "Sources (4): 2 parsed, 0 without records, 1 skipped, 1 failed",
                                    "EvtxError: bad chunk", "Timing", "analyzed in 0.42 s")]
    assert order == sorted(order)
    assert "No route to host" in out and "third line" in out
    assert "fourth line" not in out and "1 more evidence line\n" in out  # only the strongest three
    assert "\x1b" not in out


def test_quiet_prints_only_the_verdict_line() -> None:
    out = render_terminal(sample_report(), quiet=True, file=None)
    assert out is not None
    assert out.strip().splitlines() == ["Verdict: Problems found  Root cause: WIRESERVER_UNREACHABLE, "
                                        "The VM cannot reach the Azure WireServer (168.63.129.16)"]


def test_czech_labels() -> None:
    out = render_terminal(sample_report(), lang="cs", file=None)
    assert out is not None
    assert out.startswith("Závěr: Nalezeny problémy  Hlavní příčina: WIRESERVER_UNREACHABLE")
    assert "Chybějící důkazy" in out and "Zdroje (4)" in out


def test_colours_on_a_terminal_and_none_when_piped() -> None:
    tty, pipe = _Tty(), io.StringIO()
    render_terminal(sample_report(), file=tty)
    render_terminal(sample_report(), file=pipe)
    assert "\x1b[" in tty.getvalue()
    assert "\x1b" not in pipe.getvalue()
    plain = _Tty()
    render_terminal(sample_report(), plain=True, file=plain)
    assert "\x1b" not in plain.getvalue()


def test_bundle_text_cannot_inject_markup_or_escape_sequences() -> None:
    f = finding("THIRD_PARTY_CHECK", "error", "title " + HOSTILE, root=True, texts=(HOSTILE, "line2\nline3"),
                path="var/log/" + HOSTILE)
    f.evidence.insert(0, Evidence("x.log", 1, None, "", say("evidence.heartbeat_gap", minutes=70, record=HOSTILE)))
    f.texts = {"title": "title " + HOSTILE, "meaning": HOSTILE, "remediation": [HOSTILE]}
    report = sample_report([f])
    report.sources[0].path = "var/log/\n" + HOSTILE
    report.missing_evidence[0].why = say("verbatim", text=HOSTILE)
    report.verdict.summary = [say("verbatim", text=HOSTILE)]
    validated(report)
    tty = _Tty()
    render_terminal(report, file=tty)
    out = tty.getvalue()
    own_styles = re.sub(r"\x1b\[[0-9;]*m", "", out)  # the only escapes allowed are our own SGR colours
    assert "\x1b" not in own_styles and "\x9b" not in own_styles and "\u202e" not in own_styles
    assert "[link=https://evil.example]fake[/link]" in own_styles
    assert "[bold green]ALL CHECKS PASSED[/]" in own_styles
    assert ":skull:" in own_styles
    assert "\\x1b[2J" in own_styles and "\\u202e" in own_styles
    assert "var/log/\\x0a" in own_styles
