"""A Czech report (terminal, JSON, HTML) of every sample holds no English word of the tool's own.

What is left once the text quoted from the bundle is taken out (evidence lines, the values a composed
sentence quotes, paths, names, versions, templates of unexplained errors) and the allow-list (finding ids,
Azure error codes, collect commands, ``ext <code>``) must not contain a word of the tool's English: a word
of ``en.json`` that ``cs.json`` never uses, or an English function word. A missing Czech entry, a sentence
composed in code or a label left in a template shows up here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from lxml import html as lxml_html

from analyzer.api import analyze
from analyzer.evaluate import sample_dirs
from analyzer.locale import catalog
from analyzer.model import Message, RenderOptions, Report
from analyzer.report import render, to_dict
from analyzer.report import terminal as terminal_report
from analyzer.report.display import display
from tests.conftest import ROOT

SAMPLES = sample_dirs(ROOT / "samples")
FUNCTION_WORDS = {"the", "of", "and", "in", "is", "are", "was", "not", "no", "for", "with", "from", "by",
                  "at", "on", "or", "be", "been", "this", "that", "it", "has", "have", "any", "all", "none", "never",
                  "unknown", "found", "failed", "error", "warning", "seq", "task", "then", "attach", "needed",
                  "missing", "more", "lines", "records", "record", "events", "parsed", "skipped", "later"}
ALLOWED = (re.compile(r"\bext \d+\b"),  # extension status codes, as the Azure documentation writes them
           re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b"),  # finding ids, constants
           re.compile(r"`[^`]*`"))  # commands and settings quoted in remediation steps


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text) if w.isascii() and w.isalpha()}


def _locale_words(lang: str) -> set[str]:
    def texts(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield re.sub(r"\{\w+(?:, plural,)?|[#{}]", " ", node)
        elif isinstance(node, dict):
            for v in node.values():
                yield from texts(v)
        elif isinstance(node, list):
            for v in node:
                yield from texts(v)

    return set().union(*(_words(t) for t in texts(catalog(lang))))


ENGLISH = (_locale_words("en") - _locale_words("cs")) | FUNCTION_WORDS


def _params(m: Message | None) -> Iterator[str]:
    if m is None:
        return
    for v in m.params.values():
        if isinstance(v, Message):
            yield from _params(v)
        elif isinstance(v, list | tuple):
            yield from (str(x) for x in v)
        elif isinstance(v, str):
            yield v


def quoted(report: Report) -> list[str]:
    """Every string the report quotes from the bundle or names as an id, longest first."""
    found: list[str] = [report.bundle.name, report.bundle.layout, report.bundle.os, report.bundle.host or "",
                        report.bundle.sha256, str(report.extras.get("tz", ""))]
    for f in report.findings:
        found += [f.id, *f.error_codes, *f.caused_by, f.first_seen or "", f.last_seen or ""]
        for e in f.evidence:
            found += [e.path, e.ts or "", e.text, *_params(e.message)]
        for n in f.notes:
            found += list(_params(n))
    for m in report.missing_evidence:
        found += [m.source, m.collect, *_params(m.why), *_params(m.then)]
    for s in report.sources:
        found += [s.path, s.parser or "", *s.problems, s.error or ""]
    for u in report.unexplained:
        found += [u.template, u.source, u.example.text, u.example.path]
    for msg in report.verdict.summary:
        found += list(_params(msg))
    facts = report.extras.get("facts", {})
    found += [*facts, *map(str, facts.values()), *report.extras.get("histogram", {})]
    for lane, bins in (report.extras.get("zoom") or {}).get("lanes", {}).items():  # the records behind the picture
        found += [lane, *(b.get("text", "") for b in bins), *(b.get("ts", "") for b in bins)]
    for run in report.extras.get("backup_runs") or []:
        found += [str(run.get("seq") or ""), str(run.get("task_id") or ""), run.get("start", ""), run.get("end", "")]
    partial = report.extras.get("partial") or {}
    found += [*partial.get("unread", []), partial.get("detail", "")]
    found += [report.verdict.root_cause or "", report.tool["name"], report.tool["version"]]
    return sorted({q for q in found if q}, key=len, reverse=True)


def english_left(text: str, report: Report) -> set[str]:
    for q in quoted(report):
        # as quoted, and as a terminal line shows it (escaped, cut: a multi-line record is one line)
        for form in (display(q, 500).removesuffix("…"), display(q, 300).removesuffix("…"), q):
            text = text.replace(form, " ")
    for rx in ALLOWED:
        text = rx.sub(" ", text)
    return _words(text) & ENGLISH


def _json_worded(doc: dict[str, Any]) -> Iterable[str]:
    """The worded fields of a JSON report (its keys and message keys are the schema's, not prose)."""
    yield doc["verdict"]["summary"]
    for f in doc["findings"]:
        yield from (f["title"], f["explanation"], *f["remediation"])
        yield from (e["text"] for e in f["evidence"] if e.get("message"))
    for m in doc["missing_evidence"]:
        yield from (m["why"], m.get("then") or "")
    yield from (s["error"] or "" for s in doc["sources"] if s.get("note"))


def _html_text(page: str) -> str:
    root = lxml_html.fromstring(page)
    for el in root.xpath("//script|//style"):
        el.drop_tree()
    attributes = " ".join(root.xpath("//@title|//@aria-label|//@alt"))
    return root.text_content() + " " + attributes


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return {p.name: analyze(p) for p in SAMPLES}


@pytest.fixture(autouse=True)
def _no_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain terminal report folds long table cells; the test reads it unfolded."""
    monkeypatch.setattr(terminal_report, "PLAIN_WIDTH", 100_000)


def test_the_vocabulary_catches_english() -> None:
    assert {"the", "matching", "backup", "requested", "invoked"} <= ENGLISH
    assert not ENGLISH & {"azure", "dhcp", "vss", "linux"}  # technical names both languages use


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_czech_report_of_every_sample_has_no_english_of_the_tools_own(reports: dict[str, Report], fmt: str) -> None:
    leaks = {}
    for name, report in reports.items():
        if fmt == "json":
            text = "\n".join(_json_worded(to_dict(report, "cs")))
        else:
            text = render(report, RenderOptions(format=fmt, lang="cs"))
            text = _html_text(text) if fmt == "html" else text
        left = english_left(text, report)
        if left:
            leaks[name] = sorted(left)
    assert not leaks, leaks


def test_the_check_sees_an_english_leak(reports: dict[str, Report]) -> None:
    report = reports["linux-dhcp-failure"]
    text = render(report, RenderOptions(format="text", lang="cs"))
    assert not english_left(text, report)
    assert english_left(text + " no heartbeat for 119 min after the backup", report) >= {"after", "the"}
    english = render(report, RenderOptions(format="text", lang="en"))
    assert len(english_left(english, report)) > 20


def test_json_in_czech_is_the_czech_wording(reports: dict[str, Report]) -> None:
    doc = json.loads(json.dumps(to_dict(reports["linux-dhcp-failure"], "cs")))
    assert doc["lang"] == "cs" and doc["verdict"]["summary"].startswith("Hlavní příčina:")
