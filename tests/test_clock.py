"""The VM's UTC offset inferred from the same Windows events exported in UTC (XML) and local time (CSV)."""

from __future__ import annotations

from pathlib import Path

from analyzer.api import parse_bundle

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
    analysis, _ = parse_bundle(_bundle(tmp_path, ["12:43:53 PM", "2:43:53 PM", "4:43:53 PM"]))
    offsets = [f for f in analysis.facts if f.name == "tz.utc_offset_minutes"]
    assert [f.value for f in offsets] == [120]
    assert "3 of 3" in offsets[0].text
    csv_rows = [e for e in analysis.timeline.notable if e.source == "event_csv"]
    assert [e.ts.strftime("%H:%M:%S") for e in csv_rows if e.ts] == ["10:43:53", "12:43:53", "14:43:53"]
    assert all(e.attrs.get("tz") == "converted" for e in csv_rows)


def test_no_twins_means_assumed_utc(tmp_path: Path) -> None:
    analysis, _ = parse_bundle(_bundle(tmp_path, ["9:01:17 AM", "9:13:40 AM", "11:58:02 PM"]))
    assert not [f for f in analysis.facts if f.name == "tz.utc_offset_minutes"]
    assert all(e.attrs.get("tz") == "assumed-utc" for e in analysis.timeline.notable if e.source == "event_csv")
