"""The batch coordinator: discover, hash, skip what the catalog has, run the rest in isolated workers.

Every analysis runs in its own process (security.md 3.9) with a wall-clock limit (the coordinator
kills the process group), an address-space limit and a CPU-time backstop. Two executors:

- :class:`LocalPool`: ``workers`` slots, each an interpreter that preloaded the analyzer
  (:mod:`analyzer.batch.preload`) and forks one child per bundle; slots and children die with the
  coordinator.
- :class:`DaskPool`: the same jobs on a Dask distributed cluster; each task starts one fresh
  interpreter per bundle on its worker (``python -m analyzer.batch.worker``).

Only the coordinator writes the catalog, one transaction per result.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from analyzer.batch import fleet, worker
from analyzer.batch.catalog import Catalog, failure_message
from analyzer.batch.discovery import Attachment, content_sha256, discover, is_archive, size_of
from analyzer.batch.progress import BatchProgress
from analyzer.errors import MessageError, message_of
from analyzer.intake import IntakeError, Limits
from analyzer.version import __version__
from parsers.base import Message, say

_JOIN_GRACE_S = 5.0
_START_S = 120.0  # a slot imports the analyzer before it says it is ready


class BatchError(MessageError):
    """The batch cannot run at all (bad folder, missing extra, unreachable scheduler); a ``batch.*`` message."""


@dataclass
class BatchOptions:
    workers: int | None = None  # default: os.cpu_count()
    scheduler: str | None = None  # tcp://host:port of a Dask scheduler
    timeout_s: float = 600.0
    memory_mb: int = 4096
    html: bool = False  # render per-bundle HTML reports (for the fleet report)
    max_bytes: int = Limits().max_total_bytes  # attachments larger on disk are refused unhashed
    retry_failed: bool = False  # analyze again content whose stored analysis failed (a timeout, a limit)
    lang: str = "en"  # of the progress lines (the summary's is given to summary_lines)


@dataclass
class BatchSummary:
    attachments: int = 0
    analyzed: int = 0  # analyses run now
    reused: int = 0  # attachments whose content was analyzed before (this run or an earlier one)
    failed: int = 0  # attachments recorded as failed
    skipped: list[str] = field(default_factory=list)  # entries of the folder that are not bundles
    fleet_findings: int = 0
    failures: list[tuple[str, Message]] = field(default_factory=list)  # (attachment path, why it failed)
    verdicts: Counter[str] = field(default_factory=Counter)  # healthy, problems_found, inconclusive, failed


SHOWN_IN_SUMMARY = 20  # failed bundles and skipped entries named one by one; the rest counted


_VERDICT_COUNTS = {"problems_found": "batch.count_problems_found", "inconclusive": "batch.count_inconclusive",
                   "healthy": "batch.count_healthy", "failed": "batch.count_failed"}


def summary_lines(summary: BatchSummary, db: Path, lang: str = "en") -> list[str]:
    """What the batch did, for stderr in ``lang``: counts, verdicts, then every failed bundle with its reason and
    every skipped entry (the first ``SHOWN_IN_SUMMARY`` of each)."""
    from analyzer.batch.progress import printable
    from analyzer.locale import word

    def line(key: str, **params: Any) -> str:
        return word(say(key, **params), lang)

    lines = [line("batch.summary", n=summary.attachments, analyzed=summary.analyzed, reused=summary.reused,
                  failed=summary.failed, fleet=summary.fleet_findings, db=str(db))]
    if not summary.attachments:
        lines.append(line("batch.nothing_listed" if summary.skipped else "batch.nothing"))
    counts = [say(key, n=summary.verdicts[v]) for v, key in _VERDICT_COUNTS.items() if summary.verdicts[v]]
    if counts:
        lines.append(line("batch.verdicts", counts=counts))
    failures = [f"{path}: {word(why, lang)}" for path, why in summary.failures]
    for title, rows in (("batch.failed_heading", failures), ("batch.skipped_heading", summary.skipped)):
        if rows:
            lines.append(line(title))
            lines += [f"  {printable(r)[:500]}" for r in rows[:SHOWN_IN_SUMMARY]]
            if len(rows) > SHOWN_IN_SUMMARY:
                lines.append("  " + line("batch.more", n=len(rows) - SHOWN_IN_SUMMARY))
    return lines


class Executor(Protocol):
    slots: int

    def submit(self, key: str, location: str) -> None: ...

    def running(self) -> int: ...

    def wait(self) -> list[tuple[str, worker.Result]]: ...

    def close(self) -> None: ...


@dataclass
class _Slot:
    proc: subprocess.Popen[bytes]
    conn: Connection
    key: str | None = None  # the content being analyzed, None when idle
    deadline: float = 0.0


class LocalPool:
    """``workers`` slots, each a fresh interpreter that preloads the analyzer (:mod:`analyzer.batch.preload`) and
    forks one child per bundle, killing it past the time limit (:func:`worker.slot_main`). Submitting is one
    message to an idle slot: the coordinator never waits for a fork.

    The slots die with the coordinator (``PR_SET_PDEATHSIG``, checked against a parent that died first) and take
    their children with them, so a coordinator killed with ``kill -9`` leaves no process running; they need no
    server and no folder of their own (a forkserver survived such a kill, with a ``pymp-*`` folder in TMPDIR)."""

    def __init__(self, workers: int, timeout_s: float, memory_mb: int, html: bool) -> None:
        self.slots = workers
        self._timeout_s = timeout_s
        self._args = (memory_mb, timeout_s, html)
        self._slots: list[_Slot] = []

    def submit(self, key: str, location: str) -> None:
        slot = next((s for s in self._slots if s.key is None), None) or self._start_slot()
        slot.conn.send(location)
        slot.key, slot.deadline = key, time.monotonic() + self._timeout_s + _JOIN_GRACE_S

    def _start_slot(self) -> _Slot:
        ours, theirs = Pipe()
        memory_mb, timeout_s, html = self._args
        proc = subprocess.Popen(
            [sys.executable, "-m", "analyzer.batch.worker", "--slot", str(theirs.fileno()), str(memory_mb),
             str(timeout_s), "1" if html else "0", str(os.getpid())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=True)
        theirs.close()
        # the slot says it is ready once preloaded: its start-up is not charged to the first bundle's time
        try:
            ready = ours.poll(_START_S) and ours.recv() == worker.READY
        except (EOFError, OSError):  # it exited before it was ready (its interpreter could not start)
            ready = False
        if not ready:
            worker.kill_group(proc.pid)
            proc.wait()
            raise BatchError(say("batch.slot_start", seconds=_START_S, status=proc.returncode))
        slot = _Slot(proc, ours)
        self._slots.append(slot)
        return slot

    def running(self) -> int:
        return sum(s.key is not None for s in self._slots)

    def wait(self) -> list[tuple[str, worker.Result]]:
        busy = [s for s in self._slots if s.key is not None]
        first_deadline = min(s.deadline for s in busy)
        ready = set(wait([s.conn for s in busy], timeout=max(0.0, first_deadline - time.monotonic())))
        done = []
        for slot in busy:
            result: worker.Result
            if slot.conn in ready:
                try:
                    result = slot.conn.recv()
                except (EOFError, OSError):
                    result = worker.failed(say("batch.slot_ended"))
                    self._retire(slot)
            elif time.monotonic() >= slot.deadline:  # the slot's own time limit did not fire
                result = worker.failed(worker.timed_out_after(self._timeout_s), self._timeout_s)
                self._retire(slot)
            else:
                continue
            done.append((slot.key or "", result))
            slot.key = None
        return done

    def _retire(self, slot: _Slot) -> None:
        """Kill a slot (its child, if any, dies with it) and forget it; the next submit starts a new one."""
        worker.kill_group(slot.proc.pid)
        slot.proc.wait()
        slot.conn.close()
        self._slots.remove(slot)

    def close(self) -> None:
        for slot in list(self._slots):
            if slot.key is not None:
                self._retire(slot)
            else:  # an idle slot ends when its connection closes
                slot.conn.close()
                try:
                    slot.proc.wait(_JOIN_GRACE_S)
                except subprocess.TimeoutExpired:
                    self._retire(slot)
        self._slots.clear()


_SCHEDULER = re.compile(r"(?:(?:tcp|tls)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}")


def check_scheduler(address: str) -> None:
    """Raise :class:`BatchError` unless ``address`` reads as a scheduler address (``tcp://host:port``), before
    any work: the Dask client would fail deep inside and then hang on closing."""
    if not _SCHEDULER.fullmatch(address):
        raise BatchError(say("batch.scheduler_address", address=repr(address)))


class DaskPool:
    """Jobs on a Dask distributed cluster; each task isolates its bundle in a fresh subprocess."""

    def __init__(self, address: str, timeout_s: float, memory_mb: int, html: bool) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:
            raise BatchError(say("batch.dask_missing")) from exc
        try:
            self._client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(say("batch.scheduler_unreachable", address=address, error=str(exc))) from exc
        self.slots = max(1, 2 * sum(self._client.nthreads().values()))
        self._args = (memory_mb, timeout_s, html)
        self._futures: dict[Any, str] = {}
        self._completed = as_completed(loop=self._client.loop)

    def submit(self, key: str, location: str) -> None:
        future = self._client.submit(worker.run_in_subprocess, location, *self._args, key=f"bundle-{key}",
                                     pure=False)
        self._futures[future] = key
        self._completed.add(future)

    def running(self) -> int:
        return len(self._futures)

    def wait(self) -> list[tuple[str, worker.Result]]:
        finished = [next(self._completed), *self._completed.next_batch(block=False)]
        done = []
        for future in finished:
            key = self._futures.pop(future)
            try:
                result: worker.Result = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker costs this bundle, not the batch
                result = worker.failed(say("batch.dask_failed", error=f"{type(exc).__name__}: {exc}"))
            done.append((key, result))
        return done

    def close(self) -> None:
        self._client.cancel(list(self._futures))
        self._futures.clear()
        self._client.close()


def make_executor(options: BatchOptions) -> Executor:
    if options.scheduler:
        return DaskPool(options.scheduler, options.timeout_s, options.memory_mb, options.html)
    workers = options.workers or os.cpu_count() or 1
    return LocalPool(workers, options.timeout_s, options.memory_mb, options.html)


@dataclass
class _Pending:
    location: str
    attachments: list[tuple[Attachment, int]]


def run_batch(root: Path, db_path: Path, options: BatchOptions | None = None,
              progress: BatchProgress | None = None) -> BatchSummary:
    """Analyze every bundle under ``root`` that the catalog at ``db_path`` does not have yet."""
    options = options or BatchOptions()
    check_folder(root)
    attachments, skipped = discover(root)
    summary = BatchSummary(attachments=len(attachments), skipped=skipped)
    progress = progress or BatchProgress(len(attachments), lang=options.lang)
    catalog = Catalog(db_path)
    try:
        executor = make_executor(options)
        try:
            with progress:
                _coordinate(iter(attachments), catalog, executor, options, summary, progress)
        finally:
            executor.close()
        summary.fleet_findings = len(fleet.refresh(catalog))
    finally:
        catalog.close()
    return summary


# what the root of one unpacked bundle holds (waagent -collect-logs, the manual tarball, sosreport, a Windows
# collection, a flat folder of agent logs): a folder of tickets holds ticket folders and archives instead
_BUNDLE_ROOT = ("var/log", "var/lib/waagent", "etc/waagent.conf", "sos_commands", "WindowsAzure", "Packages/Plugins",
                "waagent.log", "WaAppAgent.log")


def check_folder(root: Path) -> None:
    """Raise :class:`BatchError` when ``root`` is no folder of tickets, saying what to do instead."""
    if root.is_dir():
        if not os.access(root, os.R_OK | os.X_OK):
            raise BatchError(say("batch.folder_unreadable", path=str(root)))
        marker = next((m for m in _BUNDLE_ROOT if (root / m).exists()), None)
        if marker is not None:
            raise BatchError(say("batch.one_unpacked_bundle", path=str(root), marker=marker))
        return
    if not root.exists():
        raise BatchError(say("batch.no_such_folder", path=str(root)))
    if root.is_file() and is_archive(root):
        raise BatchError(say("batch.one_bundle", path=str(root)))
    raise BatchError(say("batch.not_folder", path=str(root)))


def _coordinate(todo: Iterator[Attachment], catalog: Catalog, executor: Executor, options: BatchOptions,
                summary: BatchSummary, progress: BatchProgress) -> None:
    """Hash lazily and keep every executor slot busy; identical content is analyzed once."""
    pending: dict[str, _Pending] = {}  # sha256 -> the analysis in flight and every attachment waiting on it

    def fill() -> None:
        while executor.running() < executor.slots:
            att = next(todo, None)
            if att is None:
                return
            size: int | None = None
            try:
                if att.error is not None:
                    raise _Refused(att.error)
                size = size_of(att)
                if size > options.max_bytes:
                    raise _Refused(say("batch.too_large", size=size, limit=options.max_bytes))
                sha = content_sha256(att)
            except (OSError, IntakeError, _Refused) as exc:
                why = message_of(exc)
                catalog.record_refused(att, size, why, __version__)
                _count(summary, progress, att, "failed", False, why)
                continue
            if sha in pending:
                pending[sha].attachments.append((att, size))
            elif (stored := catalog.analysis(sha, __version__)) is not None and not (
                    options.retry_failed and stored["status"] == "failed"):
                catalog.link(att, size, sha, __version__)
                verdict = (stored["verdict"] or "inconclusive") if stored["status"] == "ok" else "failed"
                _count(summary, progress, att, verdict, True, failure_message(stored["error"]))
            else:
                pending[sha] = _Pending(str(att.location), [(att, size)])
                executor.submit(sha, str(att.location))

    fill()
    while executor.running():
        done = executor.wait()
        # the freed slots work while the results are written; an attachment with the content of a finished
        # job that turns up meanwhile joins that job's attachments and is recorded with its result
        fill()
        for sha, result in done:
            job = pending.pop(sha)
            catalog.record_analysis(sha, __version__, result, job.attachments)
            summary.analyzed += 1
            verdict = (result.get("verdict") or {}).get("status") if result["status"] == "ok" else "failed"
            for i, (att, _) in enumerate(job.attachments):
                _count(summary, progress, att, verdict or "inconclusive", i > 0, failure_message(result.get("error")))


class _Refused(MessageError):
    """An attachment refused before hashing."""


def _count(summary: BatchSummary, progress: BatchProgress, att: Attachment, verdict: str, reused: bool,
           error: Message | None = None) -> None:
    """One attachment done: ``verdict`` is its report's (healthy, problems_found, inconclusive) or ``failed``."""
    summary.reused += reused
    summary.verdicts[verdict] += 1
    if verdict == "failed":
        summary.failed += 1
        summary.failures.append((att.path, error or say("batch.unknown_error")))
    progress.advance("failed" if verdict == "failed" else "reused" if reused else "analyzed", att.path)
