"""collector_results on results.txt as written by waagent -collect-logs (reference/linux-formats.md §1.1).

The collector logs ``Output of command [ls -alF <dir>]:`` followed by the listing; recent agents put
UTC Python-logging time stamps on their own lines, 2.2.53-era agents wrote the same text without them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from parsers.linux_agent.collector_results import sniff
from tests.parsers.linux_helpers import one, run_as
from tests.parsers.windows_helpers import facts

RESULTS = b"""2024-01-05T12:00:00Z INFO ### Probing Directories ###
2024-01-05T12:00:00Z INFO Output of command [ls -alF /var/lib/waagent]:
total 120
drwxr-xr-x  9 root root  4096 Jan  5 11:58 ./
drwxr-xr-x 42 root root  4096 Dec  1  2023 ../
drwxr-xr-x  4 root root  4096 Jan  5 11:58 Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9225.0/
drwxr-xr-x  5 root root  4096 Jan  5 11:58 WALinuxAgent-2.9.1.1/
drwxr-xr-x  5 root root  4096 Dec  1  2023 WALinuxAgent-2.2.45/
-rw-r--r--  1 root root   123 Jan  5 11:58 WALinuxAgent-2.9.1.1.zip
-rw-------  1 root root  1704 Jan  5 11:58 TransportPrivate.pem
lrwxrwxrwx  1 root root     7 Jan  5 11:58 current -> WALinuxAgent-2.9.1.1/
-rwxr-xr-x  1 root root     7 Jan  5 11:58 run.sh*

2024-01-05T12:00:01Z INFO Adding file /var/log/waagent.log, size 123 b
2024-01-05T12:00:02Z ERROR Failed to collect logs: [Errno 28] No space left on device
"""


def test_listing_and_log_lines() -> None:
    events, ctx = run_as(RESULTS, "results.txt")
    assert not ctx.problems
    assert facts(ctx, "collector.file_listed") == [
        "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9225.0/",
        "/var/lib/waagent/WALinuxAgent-2.9.1.1/", "/var/lib/waagent/WALinuxAgent-2.2.45/",
        "/var/lib/waagent/WALinuxAgent-2.9.1.1.zip", "/var/lib/waagent/TransportPrivate.pem",
        "/var/lib/waagent/current", "/var/lib/waagent/run.sh"]
    assert facts(ctx, "agent.version_present") == ["2.9.1.1", "2.2.45"]
    assert one(ctx, "vmsnapshot.version") == "1.0.9225.0"
    assert [(e.ts, e.level, e.line) for e in events] == [
        (datetime(2024, 1, 5, 12, 0, tzinfo=UTC), "info", 1), (datetime(2024, 1, 5, 12, 0, tzinfo=UTC), "info", 2),
        (datetime(2024, 1, 5, 12, 0, 1, tzinfo=UTC), "info", 14),
        (datetime(2024, 1, 5, 12, 0, 2, tzinfo=UTC), "error", 15)]
    assert events[2].message == "Adding file /var/log/waagent.log, size 123 b"
    assert all(e.kind == "log" for e in events)


def test_untimestamped_collector_output() -> None:
    text = (b"Output of command [ls -alF /var/log]:\n"
            b"total 8\n"
            b"-rw-r--r-- 1 root root 5 2024-01-05 11:00 waagent.log\n"
            b"drwxr-xr-x 2 root root 4096 2024-01-05 11:00 azure/\n"
            b"/var/log/waagent.log\n"
            b"-rw-r--r-- 1 root root 5 Jan  5 11:00 not-a-listing-any-more\n")
    events, ctx = run_as(text, "logcollector/results.txt")
    assert events == [] and not ctx.problems
    assert facts(ctx, "collector.file_listed") == ["/var/log/waagent.log", "/var/log/azure/"]


def test_garbage_gives_nothing_and_never_raises() -> None:
    events, ctx = run_as(b"\x00\xff\xfe\x9c" * 100 + b"\nOutput of command [ls -alF /x]:\n\xff\xff\n", "results.txt")
    assert events == [] and ctx.facts == []


def test_sniff() -> None:
    assert sniff("x", RESULTS)
    assert not sniff("x", b"2024-01-05T12:00:00.123456Z INFO ExtHandler agent line")
