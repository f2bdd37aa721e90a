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
    assert by_line[1].ts is None and by_line[1].kind == "log"
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
