"""What runs inside the per-bundle subprocess: limits, ``analyze()``, and a picklable/JSON result.

Two ways in: ``python -m analyzer.batch.worker --slot ...`` (:func:`slot_main`: a slot of the local pool,
which forks one child per bundle, result through a pipe) and ``python -m analyzer.batch.worker`` (job JSON
on stdin, result JSON on stdout), which :func:`run_in_subprocess` starts for jobs that run on a Dask worker.
Either way one process analyzes one bundle and exits, so nothing of one tenant's bundle survives into the
next (security.md 3.9); every process dies with the one that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import resource
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from parsers.base import Message, say

_PR_SET_PDEATHSIG = 1
READY = "ready"  # a slot's first message: preloaded, waiting for bundles
_CPU_GRACE_S = 10  # the CPU-time backstop fires only if the coordinator's wall-clock kill did not

Result = dict[str, Any]


def failed(error: Message, seconds: float = 0.0) -> Result:
    """A failed analysis: ``error`` is a ``batch.*``/``intake.*`` message, kept as its key and parameters (JSON, for
    the pipe and the Dask worker's stdout) and worded when the catalog is shown (:func:`~analyzer.batch.catalog.
    failure_message`)."""
    from analyzer.redact import Redactor
    from analyzer.report import message_dict

    stored = message_dict(error) or {}
    return {"status": "failed", "error": {**stored, "params": Redactor().value(stored.get("params") or {})},
            "seconds": round(seconds, 3)}


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL this process when its parent dies; exit at once if ``parent`` (the pid it was started by) is gone
    already (it died before the request was made, and this process was handed to another parent)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def apply_limits(memory_mb: int, timeout_s: float, parent: int | None = None) -> None:
    """Own process group, address-space and CPU limits, no core dumps, die with the parent."""
    with contextlib.suppress(OSError):
        os.setsid()
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(timeout_s) + _CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    die_with_parent(parent)


def kill_group(pid: int) -> None:
    """SIGKILL the process group of a child that called setsid, or the child alone if it had not yet."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _utc(value: str) -> str | None:
    """An ISO-8601 time as UTC with ``Z``; naive times are UTC already (facts are UTC by contract)."""
    try:
        t = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return (t.astimezone(UTC) if t.tzinfo else t).isoformat().replace("+00:00", "") + "Z"


def _to_html(report: Any) -> str | None:
    try:
        from analyzer.report.html import to_html
    except ImportError:  # the HTML report is not there yet: the fleet report links the JSON
        return None
    html: str = to_html(report, lang="en")
    return html


def execute(location: str, memory_mb: int, want_html: bool) -> Result:
    """Analyze one bundle; never raises. The result carries what the catalog stores."""
    started = time.monotonic()
    try:
        from analyzer.api import analyze
        from analyzer.intake import IntakeError
        from analyzer.report import to_dict

        try:
            report = analyze(location)
        except IntakeError as exc:
            return failed(exc.message, time.monotonic() - started)
        d = to_dict(report)  # English texts beside the neutral form: renders again in any language
        return {
            "status": "ok",
            "error": None,
            "seconds": round(time.monotonic() - started, 3),
            "bundle": d["bundle"],
            "verdict": d["verdict"],
            "timeline": d["timeline"],
            "findings": [
                {"id": f["id"], "severity": f["severity"], "root_cause": bool(f["root_cause"]),
                 "first_seen": f["first_seen"], "last_seen": f["last_seen"], "fingerprint": f.get("fingerprint") or ""}
                for f in d["findings"]
            ],
            "unexplained": d["unexplained_errors"],
            "facts": dict(report.extras.get("facts", {})),
            "attempts": sorted({t for t in map(_utc, report.extras.get("backup_attempts", [])) if t}),
            "report": d,
            "html": _to_html(report) if want_html else None,
        }
    except MemoryError:
        return failed(say("batch.memory", mb=memory_mb), time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - one broken bundle is one failed row, never a stopped batch
        return failed(say("batch.analysis_error", error=f"{type(exc).__name__}: {exc}"),
                      time.monotonic() - started)


def slot_main(conn: Connection, memory_mb: int, timeout_s: float, want_html: bool) -> None:
    """A slot of the local pool (a preloaded interpreter): for each bundle location received on ``conn``, one
    forked child analyzes it; the result goes back on ``conn``. The slot itself reads no bundle. It ends when
    the coordinator closes ``conn`` or dies."""
    while True:
        try:
            location = conn.recv()
        except (EOFError, OSError):
            return
        result, pid = _forked(conn, location, memory_mb, timeout_s, want_html)
        conn.send(result)
        if pid is not None:  # reaped once the result is out: nobody waits while the child exits
            os.waitpid(pid, 0)


def _forked(conn: Connection, location: str, memory_mb: int, timeout_s: float,
            want_html: bool) -> tuple[Result, int | None]:
    """One bundle in a forked child with limits; past ``timeout_s`` its process group is killed.
    Returns the result, and the child's pid if it still has to be reaped."""
    started = time.monotonic()
    reader, writer = os.pipe()
    slot = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the slot's loop
        try:
            os.close(reader)
            conn.close()
            apply_limits(memory_mb, timeout_s, parent=slot)
            data = pickle.dumps(execute(location, memory_mb, want_html), pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    os.close(writer)
    chunks: list[bytes] = []
    timed_out = False
    with os.fdopen(reader, "rb", buffering=0) as pipe:
        while True:
            left = started + timeout_s - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                timed_out = True
                kill_group(pid)
                break
            chunk = pipe.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    if not timed_out:
        try:
            result: Result = pickle.loads(b"".join(chunks))
            return result, pid
        except (pickle.UnpicklingError, EOFError, ValueError):
            pass
    returncode = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if timed_out:
        return failed(timed_out_after(timeout_s), timeout_s), None
    return failed(exit_reason(returncode, memory_mb), time.monotonic() - started), None


def timed_out_after(timeout_s: float) -> Message:
    return say("batch.timed_out", seconds=timeout_s)


def exit_reason(returncode: int, memory_mb: int) -> Message:
    """Why a child ended without a result (a crash, or an allocation refused under the memory limit)."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return say("batch.crashed", signal=-returncode, name=name, mb=memory_mb)
    return say("batch.exited", code=returncode, mb=memory_mb)


def run_in_subprocess(location: str, memory_mb: int, timeout_s: float, want_html: bool) -> Result:
    """One bundle in a fresh interpreter with limits and a wall-clock kill of its process group.

    Used on Dask workers, whose daemonic processes may not start multiprocessing children.
    """
    job = json.dumps({"location": location, "memory_mb": memory_mb, "timeout_s": timeout_s, "html": want_html})
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.batch.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(job.encode(), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return failed(timed_out_after(timeout_s), time.monotonic() - started)
    if proc.returncode != 0 or not out:
        return failed(exit_reason(proc.returncode, memory_mb), time.monotonic() - started)
    result: Result = json.loads(out)
    return result


def _slot(fd: int, memory_mb: int, timeout_s: float, want_html: bool, coordinator: int) -> None:
    """``python -m analyzer.batch.worker --slot FD ...``: a slot of the local pool, started by the coordinator."""
    die_with_parent(coordinator)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle: it closes the pool
    import analyzer.batch.preload  # imports and compiles once, before the first fork

    if want_html:
        import analyzer.report.html  # noqa: F401
    conn = Connection(fd)
    conn.send(READY)
    slot_main(conn, memory_mb, timeout_s, want_html)


def _main() -> None:
    if sys.argv[1:2] == ["--slot"]:
        fd, memory_mb, timeout_s, html, coordinator = sys.argv[2:7]
        _slot(int(fd), int(memory_mb), float(timeout_s), html == "1", int(coordinator))
        return
    job = json.loads(sys.stdin.read())
    stdout = sys.stdout
    sys.stdout = sys.stderr  # only the result goes to the real stdout
    apply_limits(int(job["memory_mb"]), float(job["timeout_s"]))
    result = execute(job["location"], int(job["memory_mb"]), bool(job["html"]))
    stdout.write(json.dumps(result, default=str))
    stdout.flush()


if __name__ == "__main__":
    _main()
