"""Terminal summary with rich: verdict and root cause first, then findings by severity with their strongest
evidence, missing evidence, the sources table and timing.

Every string from the bundle goes through :func:`display` (no escape sequences or control characters
reach the terminal) and is printed as :class:`rich.text.Text` on a console with markup, emoji and
highlighting off, so ``[link=...]`` or ``:emoji:`` in a log line prints as itself. Output is plain
(no colours, ASCII table borders) when the file is not a terminal or ``plain`` is set.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from typing import TextIO, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analyzer.model import Report
from analyzer.report.display import display
from analyzer.report.order import ordered_findings, ordered_sources
from analyzer.report.wording import Wording

_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}
_STATUS_STYLE = {"problems_found": "bold red", "healthy": "bold green", "inconclusive": "bold yellow"}
EVIDENCE_LINES = 3  # strongest evidence lines shown per finding
UNEXPLAINED_ROWS = 10  # unexplained error templates shown (all are in the JSON report)
SOURCE_ROWS = 60
PLAIN_WIDTH = 160
#: default ``file``: resolved at each call, so a redirected ``sys.stdout`` (tests, wrappers) is honoured
STDOUT = cast(TextIO, object())


def verdict_line(report: Report, lang: str = "en") -> Text:
    """``Verdict: Problems found  Root cause: DHCP_FAILURE, <its title>``."""
    w = Wording(lang, report)
    v = report.verdict
    status = w.label(f"status.{v.status}") if v.status in _STATUS_STYLE else display(v.status)
    line = Text.assemble((f"{w.label('verdict')}: ", "bold"), (status, _STATUS_STYLE.get(v.status, "bold")))
    if v.root_cause:
        line.append(f"  {w.label('root_cause')}: ", "bold")
        line.append(display(v.root_cause, 100), "bold")
        line.append(f", {display(w.title(v.root_cause), 300)}")
    return line


def render_terminal(report: Report, lang: str = "en", quiet: bool = False, plain: bool = False,
                    file: TextIO | None = STDOUT) -> str | None:
    """Print to ``file`` (by default the ``sys.stdout`` of the moment); with ``file=None`` return the plain text."""
    buf = io.StringIO() if file is None else None
    out = buf if buf is not None else sys.stdout if file is STDOUT else file
    # no_color=None: the NO_COLOR environment variable decides (https://no-color.org)
    console = Console(file=out, no_color=True if plain else None, markup=False, emoji=False, highlight=False,
                      force_terminal=False if plain or buf is not None else None)
    if not console.is_terminal:
        console.width = PLAIN_WIDTH
    w = Wording(lang, report)
    console.print(verdict_line(report, lang), soft_wrap=True)
    _coverage(console, report, w)
    if not quiet:
        console.print(Text(display(w.summary(report.verdict, headline=True), newlines=True)), soft_wrap=True)
        _findings(console, report, w)
        _unexplained(console, report, w)
        _missing(console, report, w)
        _sources(console, report, w, console.is_terminal)
        _timing(console, report, w)
    return buf.getvalue() if buf is not None else None


def _coverage(console: Console, report: Report, w: Wording) -> None:
    """The partial-result banner and the analysis window: what the verdict is about."""
    banner = w.partial(report.extras.get("partial"))
    if banner:
        console.print(Text(f"{w.label('partial.title').upper()}: ", "bold yellow") + Text(display(banner[0], 500)),
                      soft_wrap=True)
        for line in banner[1:]:
            console.print(Text("  " + display(line, 3000), "yellow"), soft_wrap=True)
    window = w.window(report.extras.get("window"))
    if window:
        console.print(Text(f"{w.label('window.title')}: ", "bold") + Text(display(window, 300)), soft_wrap=True)


def _findings(console: Console, report: Report, w: Wording) -> None:
    console.print(Text(f"\n{w.label('findings')} ({len(report.findings)})", "bold underline"))
    if not report.findings:
        console.print(w.label("no_findings"))
    for f in ordered_findings(report):
        head = Text.assemble(("\n" + display(w.severity(f.severity), 40).upper(), _STYLE.get(f.severity, "")),
                             " ", (display(f.id, 100), "bold"))
        if f.root_cause:
            head.append(f" [{w.label('is_root_cause')}]", "bold magenta")
        head.append(f": {display(w.title(f), 300)}  ({w.label('confidence_value', percent=round(f.confidence * 100))})")
        console.print(head, soft_wrap=True)
        meta = []
        if f.first_seen:
            meta.append(f"{w.label('first_seen')} {display(f.first_seen, 40)}")
        if f.last_seen and f.last_seen != f.first_seen:
            meta.append(f"{w.label('last_seen')} {display(f.last_seen, 40)}")
        if f.error_codes:
            meta.append(f"{w.label('error_codes')}: {display(', '.join(f.error_codes), 300)}")
        if f.caused_by:
            meta.append(f"{w.label('caused_by')}: {display(', '.join(f.caused_by), 300)}")
        if meta:
            console.print(Text("  " + "; ".join(meta), "dim"), soft_wrap=True)
        for ev in f.evidence[:EVIDENCE_LINES]:
            where = f"{display(ev.path, 200)}:{ev.line if ev.line is not None else '-'}"
            line = Text.assemble("    ", (where, "blue"), " ", (display(ev.ts or "", 40), "dim"), " ",
                                 display(w.evidence(ev), 500))
            console.print(line, soft_wrap=True)
        if len(f.evidence) > EVIDENCE_LINES:
            console.print(Text("    " + w.label("more_evidence", n=len(f.evidence) - EVIDENCE_LINES), "dim"))
        for step in w.remediation(f)[:3]:
            console.print(Text("  -> " + display(step, 500)), soft_wrap=True)


def _unexplained(console: Console, report: Report, w: Wording) -> None:
    if not report.unexplained:
        return
    console.print(Text(f"\n{w.label('unexplained_errors')} ({len(report.unexplained)})", "bold underline"))
    console.print(Text(w.label("unexplained_intro"), "dim"), soft_wrap=True)
    for u in report.unexplained[:UNEXPLAINED_ROWS]:
        head = Text.assemble(("\n" + display(w.severity(u.level), 40).upper(), _STYLE.get(u.level, "")), " ",
                             (w.label("records_count", n=u.count), "bold"))
        meta = [f"{w.label('first_seen')} {display(u.first or '-', 40)}"]
        if u.last and u.last != u.first:
            meta.append(f"{w.label('last_seen')} {display(u.last, 40)}")
        if u.minutes_to_backup is not None:
            meta.append(backup_distance(w, u.minutes_to_backup))
        if not u.live:
            meta.append(w.label("unexplained_recovered"))
        head.append("  " + "; ".join(meta), "dim")
        console.print(head, soft_wrap=True)
        console.print(Text.assemble(f"  {w.label('template')}: ", (display(u.template, 500), "bold")), soft_wrap=True)
        ex = u.example
        where = f"{display(ex.path, 200)}:{ex.line if ex.line is not None else '-'}"
        console.print(Text.assemble(f"  {w.label('example')}: ", (where, "blue"), " ",
                                    (display(ex.ts or "", 40), "dim"), " ", display(w.evidence(ex), 500)),
                      soft_wrap=True)
    if len(report.unexplained) > UNEXPLAINED_ROWS:
        console.print(Text("  " + w.label("more_unexplained", n=len(report.unexplained) - UNEXPLAINED_ROWS), "dim"))


def backup_distance(w: Wording, minutes: int) -> str:
    """``12 min before the backup``, ``during the backup``, ``3 min after the backup``."""
    if minutes < 0:
        return w.label("backup_before", minutes=-minutes)
    if minutes > 0:
        return w.label("backup_after", minutes=minutes)
    return w.label("backup_during")


def _missing(console: Console, report: Report, w: Wording) -> None:
    if not report.missing_evidence:
        return
    console.print(Text(f"\n{w.label('missing_evidence')} ({len(report.missing_evidence)})", "bold underline"))
    for m in report.missing_evidence:
        console.print(Text.assemble("  ", (display(m.source, 100), "bold"), ": ", display(w.why(m), 500)),
                      soft_wrap=True)
        if m.collect:
            console.print(Text(f"    {w.label('collect')}: {display(m.collect, 1000)}", "dim"), soft_wrap=True)
        if m.then is not None:
            console.print(Text(f"    {display(w.then(m), 1000)}", "dim"), soft_wrap=True)


def _sources(console: Console, report: Report, w: Wording, terminal: bool) -> None:
    counts = Counter(s.status for s in report.sources)
    console.print(Text(f"\n{w.label('sources')} ({len(report.sources)}): ", "bold underline")
                  + Text(w.label("sources_counts", parsed=counts["parsed"], empty=counts["empty"],
                                 skipped=counts["skipped"], failed=counts["failed"])))
    if not report.sources:
        return
    table = Table(box=box.SIMPLE if terminal else box.ASCII, show_edge=False, pad_edge=False)
    for col in ("path", "parser", "status", "events", "note"):
        table.add_column(w.label(col), justify="right" if col == "events" else "left", overflow="fold")
    order = ("failed", "empty", "skipped", "parsed")
    rows = ordered_sources(report)
    for s in rows[:SOURCE_ROWS]:
        note = w.source_note(s) or (w.say(s.problems[0]) if s.problems else "")
        status = w.label(f"source.{s.status}") if s.status in order else display(s.status, 20)
        table.add_row(Text(display(s.path, 300)), Text(display(s.parser or "-", 60)),
                      Text(status, "red" if s.status == "failed" else "yellow" if s.status == "empty" else ""),
                      str(s.events), Text(display(note, 300)))
    console.print(table)
    if len(rows) > SOURCE_ROWS:
        console.print(Text(f"  ... {len(rows) - SOURCE_ROWS}", "dim"))


def _timing(console: Console, report: Report, w: Wording) -> None:
    tl = report.timeline
    console.print(Text(f"\n{w.label('timing')}", "bold underline"))
    if tl.get("first"):
        line = w.label("timeline_events", events=tl.get("events", 0), first=display(tl["first"], 40),
                       last=display(tl.get("last") or "", 40))
        console.print(Text("  " + line))
    else:
        console.print(Text("  " + w.label("timeline_empty")))
    extras = []
    if "tz" in report.extras:
        zone = w.tz(report.extras["tz"], report.extras.get("tz_source"))
        extras.append(f"{w.label('time_zone')}: {display(zone, 400)}")
    if isinstance(report.extras.get("seconds"), int | float):
        extras.append(w.label("analyzed_in", seconds=report.extras["seconds"]))
    if extras:
        console.print(Text("  " + "; ".join(extras)))
