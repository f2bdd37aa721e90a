"""The VM's UTC offset proved by records the bundle shows on both clocks, with no zone file in the bundle.

Bundles are generated in the real formats (linux-formats.md §2.2, §2.7): a 2.2.45 daemon writing G2 lines in
local time beside a current handler writing G4 lines in UTC into one waagent.log, and VMSnapshot Python 2
extension.log runs (local prefix, ``utcNow`` in UTC), in zones east and west of UTC, with half and
three-quarter hours, and across daylight-saving switches in both directions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.clock import infer_zone
from analyzer.model import Options, RenderOptions
from analyzer.report import render
from analyzer.report.stored import load_report
from parsers.base import Event, Fact
from tests.report.builders import validated

EXT = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"
ZONES = ["Asia/Tokyo", "America/Chicago", "Asia/Kolkata", "Australia/Eucla", "Asia/Kathmandu", "America/St_Johns",
         "Pacific/Kiritimati", "Pacific/Pago_Pago", "Pacific/Chatham", "Europe/Prague", "America/Los_Angeles",
         "Australia/Adelaide", "Etc/UTC"]


def _local(u: datetime, zone: str) -> datetime:
    return u.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def waagent_log(zone: str, launches: list[datetime]) -> str:
    """A 2.2.45 daemon (G2, local) launching a 2.9.1.1 handler (G4, UTC) at each of ``launches`` (UTC)."""
    out = []
    for n, u in enumerate(launches):
        loc = _local(u, zone)
        out += [f"{loc:%Y/%m/%d %H:%M:%S.%f} INFO Daemon Azure Linux Agent Version:2.2.45",
                f"{loc + timedelta(milliseconds=4):%Y/%m/%d %H:%M:%S.%f} INFO Daemon Python: 3.6.9",
                f"{loc + timedelta(seconds=1):%Y/%m/%d %H:%M:%S.%f} INFO Daemon Agent WALinuxAgent-2.9.1.1 launched "
                "with command 'python3 -u bin/WALinuxAgent-2.9.1.1-py3.8.egg -run-exthandlers'"]
        for k in range(4):  # heartbeats every 30 minutes, drifting as real ones do
            t = u + timedelta(seconds=1.6 + 7 * k * k + 3 * k) + timedelta(minutes=30 * k)
            out.append(f"{t:%Y-%m-%dT%H:%M:%S.%f}Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 "
                       f"is running as the goal state agent [DEBUG HeartbeatCounter: {k};HeartbeatId: "
                       f"5F6B3B4E-0C4B-4B7E-9D2B-00000000{n:04d};DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]")
    return "\n".join(out) + "\n"


def extension_log(zone: str, runs: list[datetime]) -> str:
    """VMSnapshot Python 2 runs: local prefix on every line, ``utcNow`` in UTC."""
    out = []
    for u in runs:
        def line(dt: float, msg: str, u: datetime = u) -> str:
            return f"{_local(u + timedelta(seconds=dt), zone):%Y/%m/%d %H:%M:%S} {EXT}{msg}"
        out += [line(0, "starting enable"), line(0, "taskId: 7dbfc8b0-1a4e-4147-b6b0-af5663b51f16"),
                line(1.2, f"command start time is {u - timedelta(minutes=3):%Y-%m-%d %H:%M:%S.%f} and utcNow is "
                          f"{u + timedelta(seconds=1):%Y-%m-%d %H:%M:%S.%f}"),
                line(1.3, "timespan: 0:03:01.000000, total_span_in_seconds: 181.0, MAX_TIMESPAN: 8400"),
                line(6, "T:S snapshotall ends..."), line(6, "Enable Succeeded")]
    return "\n".join(out) + "\n"


def bundle(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "bundle"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


WAAGENT = "var/log/waagent.log"
EXTLOG = "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log"


def local_events(root: Path, source: str) -> list[Event]:
    analysis, _ = parse_bundle(root, Options(keep_all_events=True))
    return [e for e in analysis.timeline.events() if e.source == source and e.attrs.get("tz")]


def days(start: datetime, n: int, hour: int = 6) -> list[datetime]:
    return [(start + timedelta(days=k)).replace(hour=hour, minute=17, second=3, microsecond=250000) for k in range(n)]


@pytest.mark.parametrize("zone", ZONES)
def test_g2_daemon_beside_g4_handler_gives_the_offset(tmp_path: Path, zone: str) -> None:
    launches = days(datetime(2024, 7, 2, tzinfo=UTC), 4)
    root = bundle(tmp_path, {WAAGENT: waagent_log(zone, launches)})
    daemon = [e for e in local_events(root, "waagent_log") if e.component == "Daemon"]
    assert len(daemon) == 12 and all(e.attrs["tz"] == "converted" for e in daemon)
    assert [e.ts for e in daemon[2::3]] == [u + timedelta(seconds=1) for u in launches]
    report = analyze(root)
    minutes = ZoneInfo(zone).utcoffset(datetime(2024, 7, 3)).total_seconds() / 60  # type: ignore[union-attr]
    assert report.extras["tz"] == f"UTC{minutes / 60:+g}h"
    assert report.extras["tz_source"]["key"] == "tz.inferred"
    assert report.extras["tz_source"]["params"]["pairs"] == 4


@pytest.mark.parametrize("zone", ZONES)
def test_py2_extension_log_runs_give_the_offset(tmp_path: Path, zone: str) -> None:
    runs = days(datetime(2024, 1, 10, tzinfo=UTC), 3, hour=17)
    root = bundle(tmp_path, {EXTLOG: extension_log(zone, runs)})
    starts = [e for e in local_events(root, "vmsnapshot_log") if e.message == "starting enable"]
    assert [e.ts for e in starts] == [u.replace(microsecond=0) for u in runs]
    analysis, _ = parse_bundle(root)
    invoked = sorted(f.ts for f in analysis.facts_named("vmsnapshot.invocation") if f.ts)
    assert invoked == [u.replace(microsecond=0) for u in runs]


@pytest.mark.parametrize(("zone", "first"), [
    ("Europe/Prague", datetime(2024, 3, 26, tzinfo=UTC)),  # spring forward on March 31
    ("Europe/Prague", datetime(2024, 10, 22, tzinfo=UTC)),  # fall back on October 27
    ("America/New_York", datetime(2024, 3, 5, tzinfo=UTC)),  # March 10
    ("America/New_York", datetime(2024, 10, 29, tzinfo=UTC)),  # November 3
    ("Australia/Sydney", datetime(2024, 4, 1, tzinfo=UTC)),  # fall back on April 7 (southern autumn)
    ("Australia/Sydney", datetime(2024, 9, 30, tzinfo=UTC)),  # spring forward on October 6
    ("Australia/Lord_Howe", datetime(2024, 9, 30, tzinfo=UTC)),  # half an hour forward on October 6
])
def test_a_daylight_saving_switch_inside_the_bundle_gives_offsets_per_period(tmp_path: Path, zone: str,
                                                                              first: datetime) -> None:
    launches = days(first, 10, hour=12)
    runs = days(first, 10, hour=20)
    root = bundle(tmp_path, {WAAGENT: waagent_log(zone, launches), EXTLOG: extension_log(zone, runs)})
    daemon = [e for e in local_events(root, "waagent_log") if e.component == "Daemon"]
    assert [e.ts for e in daemon[2::3]] == [u + timedelta(seconds=1) for u in launches]
    starts = [e for e in local_events(root, "vmsnapshot_log") if e.message == "starting enable"]
    assert [e.ts for e in starts] == [u.replace(microsecond=0) for u in runs]
    report = analyze(root)
    assert report.extras["tz_source"]["key"] == "tz.inferred_periods"
    assert len(report.extras["tz_source"]["params"]["offsets"]) == 2


def test_a_record_on_the_switch_day_between_two_pairs_takes_the_rule_of_the_zone(tmp_path: Path) -> None:
    zone = "Europe/Berlin"
    launches = days(datetime(2024, 3, 27, tzinfo=UTC), 8, hour=12)
    log = waagent_log(zone, launches)
    # the daemon logs again on March 31 at 01:30 (still +1) and 03:30 local (already +2), no handler line near
    extra = ("2024/03/31 01:30:00.000000 WARNING Daemon Daemon exited\n"
             "2024/03/31 03:30:00.000000 WARNING Daemon Daemon exited\n")
    root = bundle(tmp_path, {WAAGENT: log + extra})
    exited = [e for e in local_events(root, "waagent_log") if "exited" in e.message]
    assert [e.ts for e in exited] == [datetime(2024, 3, 31, 0, 30, tzinfo=UTC),
                                      datetime(2024, 3, 31, 1, 30, tzinfo=UTC)]


def test_pairs_in_several_files_add_up(tmp_path: Path) -> None:
    zone = "Asia/Tokyo"  # one handler launch in waagent.log, two extension runs: three pairs together
    root = bundle(tmp_path, {WAAGENT: waagent_log(zone, days(datetime(2021, 7, 6, tzinfo=UTC), 1)),
                             EXTLOG: extension_log(zone, days(datetime(2021, 7, 6, tzinfo=UTC), 2, hour=17))})
    report = analyze(root)
    assert report.extras["tz"] == "UTC+9h"
    assert report.extras["tz_source"]["params"] == {"pairs": 3, "files": 2, "offsets": ["UTC+9"]}


def test_a_bundle_without_a_pair_stays_assumed_utc(tmp_path: Path) -> None:
    daemon_only = "".join(line + "\n" for line in waagent_log("Asia/Tokyo", days(datetime(2021, 7, 6, tzinfo=UTC), 3))
                          .splitlines() if "Daemon" in line)
    root = bundle(tmp_path, {WAAGENT: daemon_only})
    assert all(e.attrs["tz"] == "assumed-utc" for e in local_events(root, "waagent_log"))
    report = analyze(root)
    assert report.extras["tz"] == "assumed-utc" and "tz_source" not in report.extras


def test_one_pair_is_too_few(tmp_path: Path) -> None:
    root = bundle(tmp_path, {WAAGENT: waagent_log("Asia/Tokyo", days(datetime(2021, 7, 6, tzinfo=UTC), 1))})
    report = analyze(root)
    assert report.extras["tz"] == "assumed-utc"
    assert report.extras["tz_source"] == {"key": "tz.too_few_pairs", "params": {"pairs": 1}}


def test_two_pairs_decide_only_on_two_different_days(tmp_path: Path) -> None:
    first = datetime(2021, 11, 1, 12, 0, 3, tzinfo=UTC)
    same_day = bundle(tmp_path / "a", {WAAGENT: waagent_log("America/New_York", [first, first + timedelta(hours=3)])})
    assert analyze(same_day).extras["tz_source"] == {"key": "tz.too_few_pairs", "params": {"pairs": 2}}
    two_days = bundle(tmp_path / "b", {WAAGENT: waagent_log("America/New_York", [first, first + timedelta(days=3)])})
    report = analyze(two_days)
    assert report.extras["tz"] == "UTC-4h" and report.extras["tz_source"]["params"]["pairs"] == 2


def test_pairs_that_disagree_otherwise_than_daylight_saving_decide_nothing(tmp_path: Path) -> None:
    launches = days(datetime(2021, 7, 1, tzinfo=UTC), 6)
    log = "".join(waagent_log("Asia/Tokyo" if k % 2 else "Europe/Moscow", [u]) for k, u in enumerate(launches))
    root = bundle(tmp_path, {WAAGENT: log})
    report = analyze(root)
    assert report.extras["tz"] == "assumed-utc"
    assert report.extras["tz_source"]["key"] == "tz.pairs_disagree"


def test_a_stated_zone_that_the_pairs_confirm_is_kept(tmp_path: Path) -> None:
    launches = days(datetime(2024, 3, 28, tzinfo=UTC), 6)  # across the switch of March 31
    root = bundle(tmp_path, {WAAGENT: waagent_log("Europe/Prague", launches), "etc/timezone": "Europe/Prague\n"})
    report = analyze(root)
    assert report.extras["tz"] == "UTC+2h" and "tz_source" not in report.extras


def test_pairs_overrule_a_zone_file_they_contradict_and_the_report_says_so(tmp_path: Path) -> None:
    launches = days(datetime(2021, 7, 6, tzinfo=UTC), 4)
    root = bundle(tmp_path, {WAAGENT: waagent_log("Asia/Tokyo", launches), "etc/timezone": "Europe/Prague\n"})
    daemon = [e for e in local_events(root, "waagent_log") if e.component == "Daemon"]
    assert [e.ts for e in daemon[2::3]] == [u + timedelta(seconds=1) for u in launches]
    report = analyze(root)
    assert report.extras["tz"] == "UTC+9h"
    assert report.extras["tz_source"] == {"key": "tz.contradiction",
                                          "params": {"zone": "Europe/Prague", "pairs": 4, "offsets": ["UTC+9"]}}
    text = render(report, RenderOptions(format="text"))
    assert "names the zone Europe/Prague, but 4 paired records show UTC+9" in text
    cs = render(report, RenderOptions(format="text", lang="cs"))
    assert "uvádí pásmo Europe/Prague, ale 4 spárované záznamy ukazují UTC+9" in cs


@pytest.mark.parametrize("lang", ["en", "cs"])
def test_the_report_says_how_the_offset_was_found(tmp_path: Path, lang: str) -> None:
    root = bundle(tmp_path, {EXTLOG: extension_log("Asia/Kolkata", days(datetime(2024, 1, 10, tzinfo=UTC), 3))})
    report = analyze(root)
    assert report.extras["tz"] == "UTC+5.5h"
    words = {"en": "inferred from 3 paired records", "cs": "odvozeno ze spárovaných záznamů (počet: 3"}[lang]
    for fmt in ("text", "html"):
        assert words in render(report, RenderOptions(format=fmt, lang=lang))
    stored = validated(report)
    assert stored["extras"]["tz_source"] == {"key": "tz.inferred", "params": {"pairs": 3, "files": 1,
                                                                              "offsets": ["UTC+5:30"]}}
    again = load_report(render(report, RenderOptions(format="json", lang="en" if lang == "cs" else "cs")))
    assert words in render(again, RenderOptions(format="text", lang=lang))  # a stored report, in any language


def _votes(*cells: tuple[str, int, int]) -> list[Fact]:
    return [Fact("tz.pairs", {"what": "test", "votes": [[d, m, n, 1] for d, m, n in cells], "rejected": 0},
                 "var/log/waagent.log")]


@pytest.mark.parametrize(("cells", "decided"), [
    ((("2024-03-28", 60, 3), ("2024-04-02", 120, 3)), True),  # one switch, an hour
    ((("2024-03-28", 60, 3), ("2024-04-02", 120, 3), ("2024-11-02", 60, 3)), True),  # both switches of a year
    ((("2024-07-01", 540, 3), ("2024-07-05", 180, 3)), False),  # six hours apart: no daylight saving does that
    ((("2024-07-01", 60, 3), ("2024-07-02", 120, 3), ("2024-07-03", 180, 3)), False),  # three offsets
    ((("2024-07-01", 540, 3), ("2024-07-02", 540, 1), ("2024-07-02", 180, 1), ("2024-07-03", 540, 2)), True),
    ((("2024-07-01", 540, 2), ("2024-07-01", 180, 2)), False),  # a tie on one date, nothing else
])
def test_infer_zone_accepts_one_offset_or_a_daylight_saving_step_only(cells: tuple[tuple[str, int, int], ...],
                                                                      decided: bool) -> None:
    found = infer_zone(_votes(*cells))
    assert found is not None and (found.zone is not None) == decided


AGENT_EXT = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9175.0]"
TASKS = ["7dbfc8b0-1a4e-4147-b6b0-af5663b51f16", "22bd9c06-fc82-4125-b908-ef3d9fe253d1",
         "e391eeb7-8818-458a-9991-4b8e945bc9a9"]


def g2_handler_runs(zone: str, runs: list[datetime], first_seq: int) -> str:
    """A 2.2.45 handler (G2, local time) enabling the backup extension for ``<seq>.settings``."""
    out = []
    for seq, u in enumerate(runs, first_seq):
        def line(ms: int, msg: str, u: datetime = u) -> str:
            return f"{_local(u + timedelta(milliseconds=ms), zone):%Y/%m/%d %H:%M:%S.%f} INFO {AGENT_EXT} {msg}"
        out += [line(0, "Target handler state: enabled"), line(3, f"Update settings file: {seq}.settings"),
                line(6, "Enable extension [main/handle.sh enable]")]
    return "\n".join(out) + "\n"


def py3_extension_log(runs: list[datetime]) -> str:
    """VMSnapshot Python 3 runs (UTC), starting a second and a half after the agent's enable."""
    out = []
    for task, u in zip(TASKS, runs, strict=False):
        t = u + timedelta(seconds=1.5)
        out += [f"{t:%Y-%m-%d %H:%M:%S.%f} {EXT}starting enable",
                f"{t + timedelta(milliseconds=5):%Y-%m-%d %H:%M:%S.%f} {EXT}taskId: {task}",
                f"{t + timedelta(seconds=6):%Y-%m-%d %H:%M:%S.%f} {EXT}Enable Succeeded"]
    return "\n".join(out) + "\n"


def settings(task: str, requested: datetime) -> str:
    ticks = (requested.replace(tzinfo=None) - datetime(1, 1, 1)) // timedelta(microseconds=1) * 10
    public = {"locale": "en-us", "taskId": task, "commandToExecute": "snapshot", "commandStartTimeUTCTicks":
              str(ticks), "vmType": "microsoft.compute/virtualmachines"}
    return json.dumps({"runtimeSettings": [{"handlerSettings": {"publicSettings": public}}]})


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Asia/Kolkata", "America/Chicago", "Australia/Eucla"])
def test_an_old_handler_enabling_a_python3_extension_gives_the_offset(tmp_path: Path, zone: str) -> None:
    runs = days(datetime(2024, 2, 5, tzinfo=UTC), 3, hour=17)
    lib = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9175.0/config"
    files = {WAAGENT: g2_handler_runs(zone, runs, 20), EXTLOG: py3_extension_log(runs)}
    files.update({f"{lib}/{seq}.settings": settings(task, u - timedelta(minutes=3))
                  for seq, (task, u) in enumerate(zip(TASKS, runs, strict=True), 20)})
    root = bundle(tmp_path, files)
    enables = [e for e in local_events(root, "waagent_log") if e.message.startswith("Enable extension")]
    assert [e.ts for e in enables] == [u + timedelta(milliseconds=6) for u in runs]
    report = analyze(root)
    assert report.extras["tz_source"]["key"] == "tz.inferred" and report.extras["tz_source"]["params"]["pairs"] == 3


def test_runs_that_nothing_ties_together_give_no_pair(tmp_path: Path) -> None:
    runs = days(datetime(2024, 2, 5, tzinfo=UTC), 3, hour=17)  # no settings file names the runs' task ids
    root = bundle(tmp_path, {WAAGENT: g2_handler_runs("Asia/Tokyo", runs, 20), EXTLOG: py3_extension_log(runs)})
    report = analyze(root)
    assert report.extras["tz"] == "assumed-utc" and "tz_source" not in report.extras
