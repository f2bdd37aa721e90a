# ruff: noqa: E501 - verbatim log lines are kept whole
"""IaaSBcdrExtension logs: no public sample, so the inputs mix the shapes the parser must tolerate."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.parsers.windows_helpers import facts, run, utf16

PATH = "C/WindowsAzure/Logs/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.92.0/IaaSBcdrExtension.log"
LOG = """Starting IaaSBcdrExtension
2024-03-01 10:00:00,123 INFO Snapshot task started
2024-03-01T10:02:00Z [ERROR] VSS snapshot failed with hr = 0x80042314
   The shadow copy provider timed out while holding writes to the volume being shadow copied.
3/1/2024 10:03:00 AM Error: ExtensionFailedVssWriterInBadState StatusCode.FailedRetryableSnapshotFailedVss
[00000010] 2024-03-01T10:04:00Z [WARN] The snapshot count against this blob has been exceeded
03/01/2024 10:05:00 COM+ error -2147164145 while talking to the transaction coordinator
2024-03-01T10:06:00Z CRP timeout limit has reached, will not take snapshot.
"""


def test_records_kinds_and_evidence() -> None:
    events, ctx = run("vmsnapshot_windows_log", utf16(LOG), PATH)
    assert facts(ctx, "vmsnapshot.version") == ["1.0.92.0"]
    by_line = {e.line: e for e in events}
    assert sorted(by_line) == [1, 2, 3, 5, 6, 7, 8]
    assert by_line[1].ts is None and by_line[1].kind == "snapshot.start"
    assert by_line[2].ts == datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert by_line[2].attrs["tz"] == "assumed-utc" and by_line[2].attrs["keywords"] == ["snapshot"]
    hold = by_line[3]
    assert hold.level == "error" and hold.attrs["hresult"] == "0x80042314"
    assert hold.kind == "snapshot.timeout" and "holding writes" in hold.message
    assert by_line[5].attrs["error_code"] == "ExtensionFailedVssWriterInBadState"
    assert by_line[5].attrs["status_code"] == "FailedRetryableSnapshotFailedVss"
    assert by_line[5].ts == datetime(2024, 3, 1, 10, 3, tzinfo=UTC) and by_line[5].level == "error"
    assert by_line[6].kind == "snapshot.limit" and by_line[6].level == "warning"
    assert by_line[7].kind == "vss.error" and by_line[7].attrs["hresult"] == "0x8004E00F"
    assert by_line[8].kind == "snapshot.timeout"


def test_binary_garbage_never_fails() -> None:
    events, ctx = run("vmsnapshot_windows_log", bytes(range(256)) * 8, PATH)
    assert all(e.kind == "log" for e in events)
    assert facts(ctx, "vmsnapshot.version") == ["1.0.92.0"]


RUNS = """[00000001] 2024-06-10T02:00:45.000Z [INFO] IaaSBcdrExtension started. SequenceNumber: 12
[00000001] 2024-06-10T02:00:45.100Z [INFO] TaskId: 6F1C2A3B-4D5E-4F60-8A7B-9C0D1E2F3A4B
[00000001] 2024-06-10T02:01:10.000Z [ERROR] VSS writer failed, hr = 0x80042314
[00000001] 2024-06-10T02:03:09.000Z [INFO] Snapshot completed successfully
2024-06-11 02:00:40,000 INFO IaaSBcdrExtension is starting, Sequence Number = 13, taskId=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
2024-06-11 02:02:00,000 INFO Enable succeeded
"""


def test_runs_carry_their_sequence_number_and_task_id() -> None:
    events, _ = run("vmsnapshot_windows_log", utf16(RUNS), PATH)
    starts = [e for e in events if e.kind == "snapshot.start"]
    assert [(e.line, e.attrs.get("seq"), e.attrs.get("task_id")) for e in starts] == [
        (1, 12, None), (2, 12, "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"), (5, 13, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")]
    vss = next(e for e in events if e.line == 3)
    assert vss.kind == "vss.error" and (vss.attrs["seq"], vss.attrs["task_id"]) == (12, starts[1].attrs["task_id"])
    done = [e for e in events if e.kind == "snapshot.done"]
    assert [(e.line, e.attrs.get("seq")) for e in done] == [(4, 12), (6, 13)]
