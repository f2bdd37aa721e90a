"""VMSnapshotLinux extension.log and shell.log: forms, clocks, status codes, snapshot kinds, invocations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analyzer.sources import recognize_path
from parsers.base import Event, ParseContext
from tests.parsers.linux_helpers import run_as

DIR = "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
PY3 = "2024-01-14 22:16:48.792020 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"


def parse(text: str | bytes, name: str = "extension.log") -> tuple[list[Event], ParseContext]:
    return run_as(text.encode() if isinstance(text, str) else text, f"{DIR}/{name}")


def test_python3_record_is_utc() -> None:
    (e,), _ = parse(PY3 + "PreSnapshot: Status Code: 200\n")
    assert e.ts == datetime(2024, 1, 14, 22, 16, 48, 792020, tzinfo=UTC) and not e.local
    assert e.kind == "log" and e.attrs["status_code"] == "200"
    assert e.component == "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


def test_presnapshot_failure_is_a_host_path_error() -> None:
    (e,), _ = parse(PY3 + "PreSnapshot: Status Code: 500\n")
    assert e.kind == "wireserver.error" and e.attrs["endpoint"] == "hostsnapshot"


def test_python2_lines_fold_and_are_local() -> None:
    text = ("2019/03/01 17:58:35 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]GetBlobProperties: Failed to "
            "get blob properties with error: timed out\n"
            "2019/03/01 17:58:35   File \"/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9147.0"
            "/main/blobwriter.py\", line 207, in GetBlobProperties\n")
    (e,), _ = parse(text)
    assert e.ts == datetime(2019, 3, 1, 17, 58, 35) and e.local
    assert e.kind == "storage.error" and "blobwriter.py" in e.message


def test_freeze_buffer_and_safefreeze_output() -> None:
    text = (PY3 + "T:S freeze, timeout value 60\n"
            "================== Logs during Freeze Start ==============\n"
            "2021/02/26 09:41:45.748364  Info  Failed to open file or aquire lock:  [Errno 11] Resource temporarily "
            "unavailable \n"
            "================== Logs during Freeze End ==============\n"
            "============== Binary output traces start =================\n"
            "2017-11-14 03:06:52 Thawing: /mnt\n"
            "2017-11-02 11:22:56 Failed to FITHAW: /boot\n"
            "============== Binary output traces end =================\n")
    events, _ = parse(text)
    kinds = [(e.kind, e.attrs.get("mount")) for e in events if e.kind != "log"]
    assert kinds == [("snapshot.freeze.start", None), ("snapshot.lock.contention", None), ("snapshot.thaw", "/mnt"),
                     ("snapshot.thaw.failed", "/boot")]
    assert events[0].attrs["timeout"] == "60"
    lock = next(e for e in events if e.kind == "snapshot.lock.contention")
    assert lock.attrs["during_freeze"] and lock.attrs["buffered"]
    thaw = next(e for e in events if e.kind == "snapshot.thaw")
    assert thaw.ts == datetime(2017, 11, 14, 3, 6, 52) and thaw.local and thaw.component == "safefreeze"


def test_python2_buffered_line_inside_a_prefixed_line() -> None:
    (e,), _ = parse("2016/12/10 01:11:00 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]2016-12-10 "
                    "01:11:00.532512  Info  Failed to FIFREEZE: /data/dblog\n")
    assert (e.kind, e.attrs["mount"], e.ts, e.local) == (
        "snapshot.freeze.failed", "/data/dblog", datetime(2016, 12, 10, 1, 11, 0, 532512), True)


@pytest.mark.parametrize(("msg", "status_code", "ext_code"), [
    ("T:S ###### Enable failed with error: freeze took longer than timeout StatusCode.FailedRetryableFsFreezeTimeout,",
     "FailedRetryableFsFreezeTimeout", 122),
    ("T:S Enable failed with FailedRetryableSnapshotFailedRestrictedNetwork errror "
     "StatusCode.FailedRetryableSnapshotFailedRestrictedNetwork,",
     "FailedRetryableSnapshotFailedRestrictedNetwork", 761),
    ("T:S Enable failed with FailedSnapshotLimitReached errror StatusCode.FailedSnapshotLimitReached,",
     "FailedSnapshotLimitReached", 85),
    ("T:S Enable failed with error: x StatusCode.FailedRetryableFsFreezeFailed,", "FailedRetryableFsFreezeFailed", 121),
    ("status StatusCode.FailedSomethingNew,", "FailedSomethingNew", None),
])
def test_status_codes_map_to_extension_codes(msg: str, status_code: str, ext_code: int | None) -> None:
    (e,), _ = parse(PY3 + msg + "\n")
    assert e.kind == "snapshot.status"
    assert (e.attrs["status_code"], e.attrs.get("ext_code")) == (status_code, ext_code)


@pytest.mark.parametrize(("msg", "kind"), [
    ("CRP timeout limit has reached, will not take snapshot.", "snapshot.timeout"),
    ("T:S takeSnapshotFromGuest : Thawing as failing due to CRP timeout", "snapshot.timeout"),
    ("Retrying when snapshot failed with SnapshotRateExceeded", "snapshot.limit"),
    ("The snapshot count against this blob has been exceeded", "snapshot.limit"),
    ("T:S snapshotall ends...", "snapshot.done"),
    ("****** 2. Binary Freeze Started", "snapshot.freeze.start"),
    ("****** 8. Binary Thaw Signal Received", "snapshot.thaw"),
    ("snapshot result inconsistent", "snapshot.inconsistent"),
    ("the sequence number are same, so skip, current:12== last:12", "snapshot.skipped"),
    ("PreScript failed for the plugin oracle", "snapshot.script.failed"),
    ("Failed to call http with error: timed out, stack trace: x", "storage.error"),
    ("unable to load certificate", "extension.load.failed"),
    ("freeze timed-out", "snapshot.freeze.timeout"),
    ("starting enable", "snapshot.start"),
])
def test_snapshot_kinds(msg: str, kind: str) -> None:
    (e,), _ = parse(PY3 + msg + "\n")
    assert e.kind == kind


def test_task_id_and_seq_give_an_invocation() -> None:
    text = (PY3 + "ConfigSequenceNumber from environment variable seqNo:7\n"
            + PY3 + "taskId: 0c4a3f2e-1b2c-4d5e-8f90-123456789abc\n")
    events, ctx = parse(text)
    assert events[1].kind == "snapshot.start" and events[1].attrs["task_id"] == "0c4a3f2e-1b2c-4d5e-8f90-123456789abc"
    (inv,) = [f.value for f in ctx.facts if f.name == "vmsnapshot.invocation"]
    assert inv == {"ts": "2024-01-14T22:16:48.792020+00:00", "seq": "7",
                   "task_id": "0c4a3f2e-1b2c-4d5e-8f90-123456789abc", "source": "vmsnapshot_log", "local": False}


def test_shell_log() -> None:
    events, _ = parse("Mon Nov 18 00:05:10 UTC 2019- python version unknown\n"
                      "Mon Nov 18 00:05:10 UTC 2019- 3 returned from handle.py\n", "shell.log")
    assert [e.ts for e in events] == [datetime(2019, 11, 18, 0, 5, 10, tzinfo=UTC)] * 2
    assert events[0].kind == "extension.load.failed" and events[0].component == "shell"


@pytest.mark.parametrize("name", ["extension.log", "extension.log.1", "shell.log", "1.0.9120.0/extension.log"])
def test_names_are_recognized(name: str) -> None:
    rec = recognize_path(f"{DIR}/{name}")
    assert rec is not None and rec.parser == "vmsnapshot_log"


@pytest.mark.parametrize("data", [bytes(range(256)) * 16, b"2019/13/01 17:58:35 [x]y\n\x00\xff\n",
                                  b"Mon Foo 99 00:05:10 UTC 2019- x\n", b"============== Binary output traces start\n"
                                  b"2017-11-14 03:06:52 \xff\n"])
def test_bad_bytes_never_raise(data: bytes) -> None:
    parse(data)
