"""A Czech report (terminal, JSON, HTML) of every sample holds no English word of the tool's own.

What is left once the text quoted from the bundle is taken out (evidence lines, the values a composed
sentence quotes, paths, names, versions, templates of unexplained errors) and the allow-list (finding ids,
Azure error codes, collect commands, ``ext <code>``) must not contain a word of the tool's English: a word
of ``en.json`` that ``cs.json`` never uses, or an English function word. A missing Czech entry, a sentence
composed in code or a label left in a template shows up here.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from analyzer.api import analyze
from analyzer.evaluate import sample_dirs
from analyzer.locale import catalog
from analyzer.model import Message, RenderOptions, Report
from analyzer.report import render, to_dict, to_json
from analyzer.report import terminal as terminal_report
from analyzer.report.display import display
from analyzer.report.stored import load_report
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
        found += [s.path, s.parser or "", *(q for p in s.problems for q in _params(p)), *_params(s.error)]
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
    for s in doc["sources"]:  # why skipped or failed, what broke, the parser's problems
        yield from (s["error"] or "", *s["problems"])


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
    assert not _leaks(reports, fmt, "cs")


def _leaks(reports: dict[str, Report], fmt: str, lang: str) -> dict[str, list[str]]:
    """Per report, the English words of the tool's own left in its ``fmt`` rendering in ``lang``."""
    leaks = {}
    for name, report in reports.items():
        if fmt == "json":
            text = "\n".join(_json_worded(to_dict(report, lang)))
        else:
            text = render(report, RenderOptions(format=fmt, lang=lang))
            text = _html_text(text) if fmt == "html" else text
        left = english_left(text, report)
        if left:
            leaks[name] = sorted(left)
    return leaks


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


# --- parse and intake problems: worded in the report's language too -------------------------------------

#: damaged members added to a copy of a sample; each names the problem key it must raise (a parser's or intake's)
LINUX_DAMAGE: dict[str, tuple[bytes, str]] = {
    "var/lib/waagent/GoalState.1.xml": (b"<GoalState><Incarnation>1</Incarnation><Container>", "problem.xml_malformed"),
    "var/lib/waagent/error.json": (b'{"was_fatal": tru', "problem.json_unreadable"),
    "var/lib/waagent/Incarnation": (b"not a number\n", "problem.incarnation_not_number"),
    "etc/timezone": (b"Mars/Olympus_Mons\n", "problem.unknown_zone"),
    "etc/localtime": (b"TZif2" + bytes(20), "problem.tzif_damaged_header"),
    "etc/waagent.conf": (b"Logs.Verbose=n\n%%% garbage\n??? more\n", "problem.conf_bad_lines"),
    "etc/azure/vmbackup.conf": (b"fsfreeze: True\n[SnapshotThread]\nnot an option\n", "problem.ini_bad_lines"),
    "var/lib/dhcp/dhclient.eth0.leases": (b"lease {\n  interface \"eth0\";\n  option unknown-245 zz:zz;\n",
                                          "problem.dhclient_unreadable"),
    "journal.json": (b'{"MESSAGE": "x", "__REALTIME_TIMESTAMP": "1714564800000000"}\nnot json at all\n',
                     "problem.journal_not_json"),
    "var/log/waagent.log.1": (b"stray line one\nstray line two\n"
                              + b"".join(b"2024-13-45T99:99:%02d.000000Z INFO ExtHandler bad time\n" % (i % 60)
                                         for i in range(130)), "problem.problems_dropped_member"),
    "var/log/waagent.log.3": (b"2024-05-01T12:00:00.000000Z INFO ExtHandler " + b"x" * 70_000 + b"\n",
                              "problem.lines_truncated"),
    "nested.zip": (b"", "intake.too_deep"),  # built below: archives nested beyond max_depth
    "var/log/waagent.log.2.zst": (b"\x28\xb5\x2f\xfd" + bytes(64), "intake.unsupported_member"),
    "climb.zip": (b"", "intake.name_climbs"),  # built below: a member named ../x
}
WINDOWS_DAMAGE: dict[str, tuple[bytes, str]] = {
    "Broken-events.xml": (b"<Events><Event><System><Provider Name='x'/>", "problem.event_xml_error"),
    "VM1_evt_System.csv": (b"just,some,columns\n1,2,3\n", "problem.event_csv_no_header"),
    "VM1_evt_Setup.txt": (b"nothing that looks like an event block\n", "problem.text_before_first_block"),
    "System.evtx": (b"ElfFile\x00" + bytes(4088) + b"ElfChnk\x00" + bytes(600), "problem.evtx_truncated"),
    "sc_query_services.txt": (b"no services listed here\n", "problem.no_service_listing"),
    "broken.reg": (b"Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n"
                   b"\"A\"=dword:zz\n", "problem.registry_bad_line"),
    "WindowsAzure/Logs/WaAppAgent.log.1": (b"stray text before any record\n",
                                           "problem.lines_unrecognized_before_first"),
}


def _nested_zip(depth: int) -> bytes:
    data = b"2024-05-01T12:00:00.000000Z INFO ExtHandler deep\n"
    name = "waagent.log"
    for level in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    return data


def _climbing_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../outside.log", b"2024-05-01T12:00:00.000000Z INFO ExtHandler out\n")
        zf.writestr("inside.log", b"2024-05-01T12:00:00.000000Z INFO ExtHandler in\n")
    return buf.getvalue()


def _damaged(sample: str, damage: dict[str, tuple[bytes, str]], into: Path) -> Path:
    folder = into / sample
    shutil.copytree(ROOT / "samples" / sample, folder)
    built = {"nested.zip": _nested_zip(6), "climb.zip": _climbing_zip()}
    for path, (data, _) in damage.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(built.get(path, data))
    if sample.startswith("linux"):
        (folder / "var/log/link.log").symlink_to("/etc/hostname")  # a link is refused, never followed
    return folder


def _keys(m: Message | None) -> Iterator[str]:
    if m is not None:
        yield m.key
        for v in m.params.values():
            yield from _keys(v) if isinstance(v, Message) else ()


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Report, set[str]]]:
    base = tmp_path_factory.mktemp("damaged")
    return {sample: (analyze(_damaged(sample, damage, base)), {key for _, key in damage.values()})
            for sample, damage in (("linux-dhcp-failure", LINUX_DAMAGE), ("windows-healthy-noisy", WINDOWS_DAMAGE))}


def test_the_damaged_bundles_raise_their_problems(damaged: dict[str, tuple[Report, set[str]]]) -> None:
    for name, (report, expected) in damaged.items():
        keys = {k for s in report.sources for m in (*s.problems, s.error) for k in _keys(m)}
        assert expected <= keys, (name, expected - keys)
    linux = damaged["linux-dhcp-failure"][0]
    said = {k for s in linux.sources for m in (*s.problems, s.error) for k in _keys(m)}
    assert {"problem.at_line", "problem.lines_before_first_record", "intake.folder_symlink"} <= said


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_czech_problems_have_no_english_of_the_tools_own(damaged: dict[str, tuple[Report, set[str]]],
                                                          fmt: str) -> None:
    reports = {name: report for name, (report, _) in damaged.items()}
    assert not _leaks(reports, fmt, "cs")
    assert _leaks(reports, fmt, "en")  # the same check finds the English report English


def test_stored_problems_render_as_analyzed_directly(damaged: dict[str, tuple[Report, set[str]]]) -> None:
    for name, (report, _) in damaged.items():
        for stored_in in ("en", "cs"):
            stored = load_report(to_json(report, stored_in))
            for lang in ("en", "cs"):
                for fmt in ("text", "json", "html"):
                    options = RenderOptions(format=fmt, lang=lang)
                    assert render(stored, options) == render(report, options), (name, stored_in, lang, fmt)
