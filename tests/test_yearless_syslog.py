"""Syslog header times without a year (``Jan  6 13:02:17 host kernel: ...``) in files that show no year at all.

The year comes from the bundle: the latest year that does not put the record after the bundle's collection time
(its newest dated record), so a ``Dec 30`` line in a bundle collected on January 3 is the previous year. Every
yearless syslog-format source gets it (kern.log, syslog, messages, their rotations, compressed or not), and a record
that nothing dates stays undated and is never evidence about the failing backup when the bundle dates anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.locale import word
from parsers.base import date_yearless, yearless_stamp
from tests.linux_bundle import LinuxBundle, java_oom, kernel_line

NAMES = ("var/log/kern.log", "var/log/syslog", "var/log/messages", "var/log/kern.log.1", "var/log/syslog.2.gz",
         "var/log/messages-20250105")


def _oom_times(root: Path) -> list[datetime | None]:
    analysis, _ = parse_bundle(root)
    try:
        return [e.ts for e in analysis.timeline.notable if e.kind == "system.oom"]
    finally:
        analysis.timeline.close()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("run", "oom"), [
    (datetime(2025, 1, 11, 2, 0), datetime(2025, 1, 9, 13, 2, 17)),  # the same year
    (datetime(2025, 1, 3, 2, 0), datetime(2024, 12, 30, 13, 2, 17)),  # across new year: the previous year
    (datetime(2024, 3, 2, 2, 0), datetime(2024, 2, 29, 23, 59, 59)),  # a leap day
    (datetime(2023, 7, 1, 2, 0), datetime(2022, 7, 3, 8, 0, 0)),  # after the collection day: a year earlier
])
def test_a_yearless_file_gets_the_year_of_the_bundles_collection(tmp_path: Path, name: str, run: datetime,
                                                                 oom: datetime) -> None:
    LinuxBundle(run, files={name: java_oom(oom)}).write(tmp_path)
    assert _oom_times(tmp_path) == [oom.replace(tzinfo=UTC)]


def test_each_record_of_a_file_across_new_year_gets_its_own_year(tmp_path: Path) -> None:
    times = [datetime(2024, 12, 30, 23, 0), datetime(2024, 12, 31, 23, 59, 59), datetime(2025, 1, 2, 4, 0)]
    LinuxBundle(datetime(2025, 1, 3, 2, 0), files={"var/log/kern.log": [ln for t in times for ln in java_oom(t)]}
                ).write(tmp_path)
    assert _oom_times(tmp_path) == [t.replace(tzinfo=UTC) for t in times]


def test_a_year_inside_the_file_still_wins(tmp_path: Path) -> None:
    """The file's own dated line (an embedded ISO date) dates it; the bundle's collection is the fallback."""
    lines = [kernel_line(datetime(2021, 3, 4, 10, 0), "Cloud-init v. 21.4 finished at 2021-03-04 10:00:00 +0000",
                         proc="cloud-init[1]"), *java_oom(datetime(2021, 3, 4, 10, 5))]
    LinuxBundle(datetime(2025, 1, 11, 2, 0), files={"var/log/syslog": lines}).write(tmp_path)
    assert _oom_times(tmp_path) == [datetime(2021, 3, 4, 10, 5, tzinfo=UTC)]


def test_a_year_taken_from_the_bundle_is_said(tmp_path: Path) -> None:
    LinuxBundle(datetime(2025, 1, 11, 2, 0), files={"var/log/kern.log": java_oom(datetime(2025, 1, 9, 13, 2))}
                ).write(tmp_path)
    analysis, _ = parse_bundle(tmp_path)
    analysis.timeline.close()
    said = [word(p.message) for p in analysis.problems if p.path == "var/log/kern.log"]
    assert said == ["3 syslog times without a year dated by the bundle's collection time (2025-01-11 04:00)"]


def test_nothing_dated_in_the_bundle_leaves_the_lines_undated_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "var/log/kern.log"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(java_oom(datetime(2025, 1, 9, 13, 2))) + "\n")
    analysis, _ = parse_bundle(tmp_path)
    analysis.timeline.close()
    assert [e.ts for e in analysis.timeline.notable if e.kind == "system.oom"] == [None]
    assert any("left undated: nothing in the bundle shows the year" in word(p.message) for p in analysis.problems)


def test_an_undated_record_is_never_live_when_the_bundle_dates_anything(tmp_path: Path) -> None:
    """A dmesg line carries only the uptime: it cannot be placed near the failing backup."""
    bundle = LinuxBundle(datetime(2025, 1, 11, 2, 0), files={"var/log/dmesg": [
        "[108137.010000] Out of memory: Killed process 2361 (java) total-vm:9834120kB, anon-rss:7312004kB"]})
    report = analyze(bundle.write(tmp_path))
    hru = [f for f in report.findings if f.id == "HIGH_RESOURCE_USAGE"]
    assert [(f.severity, f.live_records) for f in hru] == [("info", 0)]
    assert report.verdict.root_cause == "SNAPSHOT_LIMIT_REACHED"


@pytest.mark.parametrize(("stamp", "newest", "expected"), [
    ("--01-06T13:02:17.000000", datetime(2025, 1, 11, 16, 1), datetime(2025, 1, 6, 13, 2, 17)),
    ("--01-12T10:00:00.000000", datetime(2025, 1, 11, 16, 1), datetime(2025, 1, 12, 10, 0)),  # a zone ahead of UTC
    ("--01-13T10:00:00.000000", datetime(2025, 1, 11, 16, 1), datetime(2024, 1, 13, 10, 0)),
    ("--12-31T23:59:59.999999", datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 23, 59, 59, 999999)),
    ("--02-29T12:00:00.000000", datetime(2027, 3, 1), datetime(2024, 2, 29, 12, 0)),
    ("--02-30T12:00:00.000000", datetime(2027, 3, 1), None),
    ("--1-6T13:02", datetime(2027, 3, 1), None),
])
def test_date_yearless(stamp: str, newest: datetime, expected: datetime | None) -> None:
    assert date_yearless(stamp, newest) == expected


def test_yearless_stamps_read_back() -> None:
    for month in range(1, 13):
        t = datetime(2024, month, 28 if month == 2 else 30 if month != 12 else 31, 7, 8, 9, 123456)
        assert date_yearless(yearless_stamp(t.month, t.day, 7, 8, 9, 123456), t + timedelta(days=40)) == t


@pytest.mark.parametrize("name", ["paste.txt", "ticket.log", "waagent.log"])
@pytest.mark.parametrize(("run", "oom"), [(datetime(2025, 1, 11, 2, 0), datetime(2025, 1, 11, 2, 0, 35)),
                                          (datetime(2025, 1, 1, 0, 0, 5), datetime(2024, 12, 31, 23, 59, 58))])
def test_syslog_lines_pasted_among_agent_records_are_dated_too(tmp_path: Path, name: str, run: datetime,
                                                               oom: datetime) -> None:
    vms = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0]"
    text = "\n".join([
        "$ sudo tail -n 3 /var/log/waagent.log",
        f"{run:%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler {vms} Update settings file: 42.settings",
        f"{run:%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler {vms} Enable extension: [main/handle.sh enable]",
        f"{run + timedelta(hours=1):%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent "
        "WALinuxAgent-2.9.1.1 is running as the goal state agent [DEBUG HeartbeatCounter: 4]",
        "$ grep -i 'out of memory' /var/log/kern.log", java_oom(oom)[-1], ""])
    path = tmp_path / name
    path.write_text(text)
    report = analyze(path)
    hru = next(f for f in report.findings if f.id == "HIGH_RESOURCE_USAGE")
    assert hru.first_seen == oom.strftime("%Y-%m-%dT%H:%M:%S.%fZ") and hru.severity == "error"


@pytest.mark.parametrize("name", NAMES[:3])
def test_ordinary_yearless_records_are_counted_into_the_range_once_dated(tmp_path: Path, name: str) -> None:
    """Records only counted (no finding reads them) are dated with the others: they open the bundle's time range
    and never move its collection time."""
    early = datetime(2025, 1, 2, 6, 0)
    lines = [kernel_line(early + timedelta(minutes=i), f"eth0: link up, 1000 Mbps, full duplex {i}") for i in range(5)]
    LinuxBundle(datetime(2025, 1, 11, 2, 0), files={name: lines}).write(tmp_path)
    analysis, _ = parse_bundle(tmp_path)
    try:
        assert analysis.timeline.first == early.replace(tzinfo=UTC)
        assert analysis.timeline.last is not None and analysis.timeline.last > early.replace(tzinfo=UTC)
    finally:
        analysis.timeline.close()


@pytest.mark.parametrize("stamp", ["2031-01-01T00:00:00Z", "2026-02-01T10:00:00Z"])
def test_a_state_file_stamped_long_after_the_logs_does_not_date_yearless_lines(tmp_path: Path, stamp: str) -> None:
    """A status file whose stamp is years or months past every log (a wrong clock, a placeholder) moves neither the
    collection time nor the year of yearless lines."""
    oom = datetime(2024, 12, 30, 13, 2, 17)
    LinuxBundle(datetime(2025, 1, 3, 2, 0), files={"var/log/syslog": java_oom(oom)}).write(tmp_path)
    status = tmp_path / "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0/status/42.status"
    status.parent.mkdir(parents=True)
    status.write_text(f'[{{"version": 1.0, "timestampUTC": "{stamp}", "status": {{"name": "VMSnapshotLinux", '
                      '"operation": "Enable", "status": "success", "code": 0, "formattedMessage": {"lang": "en-US", '
                      '"message": "[Operation]Enable"}}}]')
    assert _oom_times(tmp_path) == [oom.replace(tzinfo=UTC)]
