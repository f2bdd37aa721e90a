"""Batch progress on stderr: a rich bar (done, failed, rate, ETA) on a terminal, plain lines otherwise."""

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


def printable(s: str) -> str:
    """Ticket and file names are untrusted: escape control, bidi and zero-width characters."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in s)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s")


class BatchProgress:
    """``advance(status, label)`` once per attachment; ``status`` is analyzed, reused or failed."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._bar: Progress | None = None
        if self._stream.isatty():
            console = Console(file=self._stream, markup=False, emoji=False, highlight=False)
            self._bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failed]} failed"), _Rate(), TimeRemainingColumn(),
                                 console=console)
            self._task = self._bar.add_task("batch", total=total, failed=0)

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
            self._bar.update(self._task, advance=1, failed=self.failed)
            return
        elapsed = time.monotonic() - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        self._stream.write(f"[{self.done}/{self.total}] {status} {printable(label)}"
                           f" (failed {self.failed}, {rate:.1f}/s, eta {eta:.0f} s)\n")
        self._stream.flush()
