"""Batch progress on stderr, in the batch's language: a rich bar (done, failed, rate, ETA) on a terminal, plain
lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from analyzer.locale import word
from parsers.base import say


def printable(s: str) -> str:
    """Ticket and file names are untrusted: escape control, bidi and zero-width characters."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in s)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s")


class BatchProgress:
    """``advance(status, label)`` once per attachment; ``status`` is analyzed, reused or failed."""

    def __init__(self, total: int, stream: TextIO | None = None, lang: str = "en") -> None:
        self.total = total
        self.lang = lang
        self.done = 0
        self.failed = 0
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._bar: Progress | None = None
        if self._stream.isatty():
            console = Console(file=self._stream, markup=False, emoji=False, highlight=False)
            self._bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failed]}"), _Rate(), TimeRemainingColumn(),
                                 console=console)
            self._task = self._bar.add_task("batch", total=total, failed=self._failed_text())

    def __enter__(self) -> BatchProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, status: str, label: str) -> None:
        self.done += 1
        self.failed += status == "failed"
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self._failed_text())
            return
        elapsed = time.monotonic() - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        line = say("batch.progress", done=self.done, total=self.total, status=say(f"batch.status_{status}"),
                   label=printable(label), failed=self.failed, rate=round(rate, 1), eta=round(eta))
        self._stream.write(word(line, self.lang) + "\n")
        self._stream.flush()

    def _failed_text(self) -> str:
        return word(say("batch.count_failed", n=self.failed), self.lang)
