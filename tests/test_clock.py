"""The VM's UTC offset inferred from the same Windows events exported in UTC (XML) and local time (CSV): paired
records, decided with the Linux ones (one offset, or one per period across a daylight-saving switch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.clock import resolve_facts
from parsers.base import Fact
from tests.parsers.windows_helpers import utf16

# Real EvtRender output of an SCM 7036 record (windows-formats.md section 2.2), at three times.
XML = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control "
    "Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID "
    "Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode>"
    "<Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2023-05-22THH:43:53.1670895Z'/><EventRecordID>"
    "RID</EventRecordID><Correlation/><Execution ProcessID='776' ThreadID='5788'/><Channel>System</Channel><Computer>"
    "EC2AMAZ-25GMQOK</Computer><Security/></System><EventData><Data Name='param1'>AppX Deployment Service (AppXSVC)"
    "</Data><Data Name='param2'>running</Data></EventData></Event>"
)
CSV_HEAD = "Level,Date and Time,Source,Event ID,Task Category\r\n"
CSV_ROW = ('Information,5/22/2023 {t},Service Control Manager,7036,None,'
           '"The AppX Deployment Service (AppXSVC) service entered the running state."\r\n')


def _bundle(tmp_path: Path, local_times: list[str]) -> Path:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "System_events.xml").write_text("".join(XML.replace("HH", h).replace("RID", str(64000 + int(h)))
                                                    for h in ("10", "12", "14")))
    (root / "System_events.csv").write_text(CSV_HEAD + "".join(CSV_ROW.format(t=t) for t in local_times))
    return root


def test_twins_give_the_offset_and_convert_local_rows(tmp_path: Path) -> None:
    root = _bundle(tmp_path, ["12:43:53 PM", "2:43:53 PM", "4:43:53 PM"])
    analysis, _ = parse_bundle(root)
    (pairs,) = [f for f in analysis.facts if f.name == "tz.pairs"]
    assert pairs.value["votes"] == [["2023-05-22", 120, 3, 2]] and pairs.path.endswith(".csv")
    assert analyze(root).extras["tz_source"]["params"] == {"pairs": 3, "files": 1, "offsets": ["UTC+2"]}
    csv_rows = [e for e in analysis.timeline.notable if e.source == "event_csv"]
    assert [e.ts.strftime("%H:%M:%S") for e in csv_rows if e.ts] == ["10:43:53", "12:43:53", "14:43:53"]
    assert all(e.attrs.get("tz") == "converted" for e in csv_rows)


def test_no_twins_means_assumed_utc(tmp_path: Path) -> None:
    analysis, _ = parse_bundle(_bundle(tmp_path, ["9:01:17 AM", "9:13:40 AM", "11:58:02 PM"]))
    assert not [f for f in analysis.facts if f.name in ("tz.utc_offset_minutes", "tz.pairs")]
    assert all(e.attrs.get("tz") == "assumed-utc" for e in analysis.timeline.notable if e.source == "event_csv")


# --- facts of local-time records (issue 13 class 4) --------------------------------------------------------
SQL_EVENT = ("Sqllib error: OLEDB Error encountered calling ICommandText::Execute. hr = 0x80040e14. SQLSTATE: 42000, "
             "Native Error: 3013")
REG_NO_COPY = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]\r\n"
               '"IsProviderInstalled"="True"\r\n')
REG_TZ = ("\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation]\r\n"
          '"Bias"=dword:ffffffc4\r\n"ActiveTimeBias"=dword:ffffff88\r\n')  # UTC+2 in force
SYSTEMINFO = "Host Name:                 VM1\r\nOS Name:                   Microsoft Windows Server 2019\r\n" \
             "Time Zone:                 (UTC+02:00) Athens, Bucharest\r\n"


def _sql_exports(local: str) -> dict[str, str]:
    """The same SQLWRITER 24583 error in each local-time export Windows users attach (``local`` = 24 h wall time)."""
    us = datetime.strptime(local, "%H:%M:%S").strftime("%I:%M:%S %p").lstrip("0")
    return {
        "Application.csv": "Level,Date and Time,Source,Event ID,Task Category\r\n"
                           f'Error,6/10/2024 {us},SQLWRITER,24583,None,"{SQL_EVENT}"\r\n',
        "Application_evt.txt": "Level\tDate and Time\tSource\tEvent ID\tTask Category\r\n"
                               f"Error\t10.06.2024 {local}\tSQLWRITER\t24583\tNone\t{SQL_EVENT}\r\n",
        "wevtutil_app.txt": "Event[0]:\r\n  Log Name: Application\r\n  Source: SQLWRITER\r\n"
                            f"  Date: 2024-06-10T{local}.000\r\n  Event ID: 24583\r\n  Level: Error\r\n"
                            "  Description:\r\n" + SQL_EVENT + "\r\n",
        "copied_event.txt": "Log Name:      Application\r\nSource:        SQLWRITER\r\n"
                            f"Date:          6/10/2024 {us}\r\n"
                            "Event ID:      24583\r\nLevel:         Error\r\nDescription:\r\n" + SQL_EVENT + "\r\n",
    }


@pytest.mark.parametrize("export", ["Application.csv", "Application_evt.txt", "wevtutil_app.txt", "copied_event.txt"])
@pytest.mark.parametrize("zone", [None, "registry", "systeminfo"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_facts_of_local_records_are_converted_and_reach_detectors(tmp_path: Path, export: str, zone: str | None,
                                                                   encoding: str) -> None:
    """A fact from a local-time record (``sql.present`` of an Event Viewer export) is converted like the event;
    no naive time reaches a detector, and SQL_VSS_FULL_BACKUP is found (it crashed on the naive time)."""
    root = tmp_path / "bundle"
    root.mkdir()
    text = _sql_exports("14:30:00")[export]
    (root / export).write_bytes(utf16(text) if encoding == "utf-16" else text.encode())
    reg = REG_NO_COPY + (REG_TZ if zone == "registry" else "")
    (root / "bcdr.reg").write_bytes(utf16(reg))
    if zone == "systeminfo":
        (root / "systeminfo.txt").write_text(SYSTEMINFO)
    analysis, _ = parse_bundle(root)
    assert all(f.ts is None or f.ts.tzinfo is not None for f in analysis.facts)
    assert not any(f.local for f in analysis.facts)
    sql = next(f for f in analysis.facts if f.name == "sql.present")
    event = next(e for e in analysis.timeline.notable if e.kind == "sql.backup")
    # registry: ActiveTimeBias UTC+2; systeminfo: "(UTC+02:00) Athens, Bucharest" is Europe/Bucharest, UTC+3 in June
    expected = datetime(2024, 6, 10, {None: 14, "registry": 12, "systeminfo": 11}[zone], 30, tzinfo=UTC)
    assert sql.ts == event.ts == expected
    report = analyze(root)
    assert not [s for s in report.sources if s.status == "failed"]
    assert "SQL_VSS_FULL_BACKUP" in [f.id for f in report.findings]


def test_resolve_facts_converts_a_local_value_time() -> None:
    wall = datetime(2024, 6, 10, 4, 0)
    f = Fact("vmsnapshot.invocation", {"ts": wall.isoformat(), "local": True, "seq": "3"}, "waagent.log", 1, wall,
             local=True)
    resolve_facts([f], timedelta(hours=2))
    assert f.ts == datetime(2024, 6, 10, 2, 0, tzinfo=UTC) and not f.local
    assert f.value["ts"] == "2024-06-10T02:00:00+00:00" and f.value["local"] is False


@pytest.mark.parametrize("reveal", ["registry", "systeminfo"])
def test_a_windows_zone_converts_each_record_by_its_own_date(tmp_path: Path, reveal: str) -> None:
    """The registry key name or systeminfo's display name is an IANA zone: a January and a July record
    of the same export get their own offsets (UTC+1 and UTC+2 in Berlin)."""
    root = tmp_path / "bundle"
    root.mkdir()
    rows = "".join(f'Error,{d} 2:30:00 PM,SQLWRITER,24583,None,"{SQL_EVENT}"\r\n' for d in ("1/10/2024", "7/10/2024"))
    (root / "Application.csv").write_bytes(utf16("Level,Date and Time,Source,Event ID,Task Category\r\n" + rows))
    if reveal == "registry":
        (root / "tz.reg").write_bytes(utf16(
            "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
            'TimeZoneInformation]\r\n"Bias"=dword:ffffffc4\r\n"ActiveTimeBias"=dword:ffffff88\r\n'
            '"TimeZoneKeyName"="W. Europe Standard Time"\r\n'))
    else:
        (root / "systeminfo.txt").write_text("Host Name: VM1\nTime Zone: (UTC+01:00) Amsterdam, Berlin, Bern, Rome, "
                                             "Stockholm, Vienna\n")
    analysis, _ = parse_bundle(root)
    stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "sql.backup")
    assert stamps == [datetime(2024, 1, 10, 13, 30, tzinfo=UTC), datetime(2024, 7, 10, 12, 30, tzinfo=UTC)]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Chicago"])
def test_twins_across_a_daylight_saving_switch_give_offsets_per_period(tmp_path: Path, zone: str) -> None:
    from zoneinfo import ZoneInfo

    moments = [datetime(2023, 3, 6, 15, 43, 53, tzinfo=UTC) + timedelta(days=4 * k) for k in range(8)]  # Mar 6-Apr 3
    root = tmp_path / "bundle"
    root.mkdir()
    xml = "".join(XML.replace("2023-05-22THH:43:53", f"{u:%Y-%m-%dT%H:%M:%S}").replace("RID", str(64000 + k))
                  for k, u in enumerate(moments))
    (root / "System_events.xml").write_text(xml)
    rows = []
    for u in moments:
        loc = u.astimezone(ZoneInfo(zone))
        stamp = f"{loc.month}/{loc.day}/{loc.year} {int(loc.strftime('%I'))}:{loc:%M:%S %p}"  # 3/6/2023 4:43:53 PM
        rows.append(CSV_ROW.replace("5/22/2023 {t}", stamp))
    (root / "System_events.csv").write_text(CSV_HEAD + "".join(rows))
    analysis, _ = parse_bundle(root)
    csv_rows = sorted(e.ts for e in analysis.timeline.notable if e.source == "event_csv" and e.ts)
    assert csv_rows == moments
    assert analyze(root).extras["tz_source"]["key"] == "tz.inferred_periods"


@pytest.mark.parametrize(("display", "winter", "summer"), [
    ("(UTC-08:00) Pacific Time (US & Canada)", 8, 7), ("(UTC-05:00) Eastern Time (US & Canada)", 5, 4),
    ("(UTC+10:00) Canberra, Melbourne, Sydney", -11, -10)])  # Sydney: daylight time in January
def test_systeminfo_zone_honours_daylight_time_of_each_record(tmp_path: Path, display: str, winter: int,
                                                              summer: int) -> None:
    """systeminfo names the standard offset; a record of August in Los Angeles is PDT (UTC-7), not UTC-8."""
    root = tmp_path / "bundle"
    root.mkdir()
    rows = "".join(f'Error,{d} 11:11:40 AM,SQLWRITER,24583,None,"{SQL_EVENT}"\r\n' for d in ("1/10/2024", "8/20/2024"))
    (root / "Application.csv").write_bytes(utf16("Level,Date and Time,Source,Event ID,Task Category\r\n" + rows))
    (root / "systeminfo.txt").write_text(f"Host Name: VM1\nTime Zone: {display}\n")
    analysis, _ = parse_bundle(root)
    stamps = sorted(e.ts for e in analysis.timeline.notable if e.kind == "sql.backup")
    assert stamps == [datetime(2024, 1, 10, 11, 11, 40, tzinfo=UTC) + timedelta(hours=winter),
                      datetime(2024, 8, 20, 11, 11, 40, tzinfo=UTC) + timedelta(hours=summer)]


# --- one event in several exports (issue 13: counted once) -------------------------------------------------
SQL_XML = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='SQLWRITER'/>"
    "<EventID Qualifiers='0'>24583</EventID><Level>2</Level><TimeCreated SystemTime='2024-06-10T{utc}.4210000Z'/>"
    "<EventRecordID>{rid}</EventRecordID><Channel>Application</Channel><Computer>VM1</Computer></System>"
    "<EventData><Data>{text}</Data></EventData></Event>"
)


@pytest.mark.parametrize("exports", [("Application.csv",), ("Application_evt.txt", "wevtutil_app.txt"),
                                     ("Application.csv", "Application_evt.txt", "wevtutil_app.txt",
                                      "copied_event.txt")])
@pytest.mark.parametrize("zone", ["registry", "systeminfo"])
def test_an_event_exported_twice_is_one_record(tmp_path: Path, exports: tuple[str, ...], zone: str) -> None:
    """The same SQLWRITER error as an XML export (UTC) and as local-time exports: one record for the detectors,
    once the zone converts the local ones; two errors of the same second in one export stay two."""
    root = tmp_path / "bundle"
    root.mkdir()
    local = {"registry": "16:30:07", "systeminfo": "17:30:07"}[zone]  # 14:30:07 UTC in June (UTC+2 / UTC+3)
    for name in exports:
        (root / name).write_text(_sql_exports(local)[name])
    (root / "Application.xml").write_text("".join(SQL_XML.format(utc="14:30:07", rid=rid, text=SQL_EVENT)
                                                  for rid in (91, 92)))  # two records, one second
    (root / "bcdr.reg").write_bytes(utf16(REG_NO_COPY + (REG_TZ if zone == "registry" else "")))
    if zone == "systeminfo":
        (root / "systeminfo.txt").write_text(SYSTEMINFO)
    analysis, _ = parse_bundle(root)
    events = [e for e in analysis.timeline.notable if e.kind == "sql.backup"]
    assert len(events) == 2, [(e.path, e.ts) for e in events]  # the XML's two; each export's one is a copy
    assert {e.ts.replace(microsecond=0) for e in events if e.ts} == {datetime(2024, 6, 10, 14, 30, 7, tzinfo=UTC)}
    assert any(e.path == "Application.xml" for e in events)


def test_events_of_two_seconds_or_two_ids_are_not_copies(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "Application.csv").write_text("Level,Date and Time,Source,Event ID,Task Category\r\n"
                                          f'Error,6/10/2024 2:30:08 PM,SQLWRITER,24583,None,"{SQL_EVENT}"\r\n'
                                          f'Error,6/10/2024 2:30:07 PM,SQLWRITER,24584,None,"{SQL_EVENT}"\r\n')
    (root / "Application.xml").write_text(SQL_XML.format(utc="14:30:07", rid=91, text=SQL_EVENT))
    analysis, _ = parse_bundle(root)  # no zone: the CSV is taken as UTC
    events = [e for e in analysis.timeline.notable if e.attrs.get("provider") == "SQLWRITER"]
    assert len(events) == 3, [(e.path, e.ts, e.attrs.get("event_id")) for e in events]
