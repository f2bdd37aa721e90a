"""Terminal summary with rich: verdict and root cause first, then findings, missing evidence, sources."""

from __future__ import annotations

import io
import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analyzer.model import Report

_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


def render_terminal(report: Report, lang: str = "en", quiet: bool = False, plain: bool = False,
                    file: TextIO | None = sys.stdout) -> str | None:
    """Print to ``file``; with ``file=None`` return the plain text instead."""
    buf = io.StringIO() if file is None else None
    console = Console(file=buf or file, no_color=plain, highlight=False, soft_wrap=False,
                      force_terminal=False if plain or buf is not None else None, width=120 if buf else None)
    v = report.verdict
    console.print(f"[bold]Verdict:[/] {escape(v.status)}"
                  + (f"  [bold]root cause:[/] {escape(v.root_cause)}" if v.root_cause else ""))
    console.print(escape(v.summary))
    if not quiet:
        for f in sorted(report.findings, key=lambda f: ("critical", "error", "warning", "info").index(f.severity)):
            style = _STYLE.get(f.severity, "")
            mark = " (root cause)" if f.root_cause else ""
            console.print(f"\n[{style}]{f.severity.upper()}[/] [bold]{escape(f.id)}[/]{mark}: {escape(f.title)}")
            for ev in f.evidence[:5]:
                console.print(f"    {escape(ev.path)}:{ev.line or '-'} {escape(ev.ts or '')} {escape(ev.text)}")
        if report.missing_evidence:
            console.print("\n[bold]Missing evidence[/]")
            for m in report.missing_evidence:
                console.print(f"  {escape(m.source)}: {escape(m.why)}  collect: {escape(m.collect)}")
        table = Table(title="Sources", show_lines=False)
        for col in ("path", "parser", "status", "events", "note"):
            table.add_column(col)
        for s in report.sources:
            table.add_row(escape(s.path), escape(s.parser or "-"), s.status, str(s.events),
                          escape(s.error or "; ".join(s.problems[:1])))
        console.print(table)
    return buf.getvalue() if buf is not None else None
