"""Event XML: EvtRender (single quotes), rootless wevtutil streams, Event Viewer <Events> files."""

from __future__ import annotations

from datetime import UTC, datetime

from analyzer.locale import word
from tests.parsers.windows_helpers import facts, run, utf16

# verbatim EvtRender output (windows-formats.md §2.2)
EVTRENDER = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control "
    "Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID "
    "Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>"
    "0x8080000000000000</Keywords><TimeCreated SystemTime='2023-05-22T14:43:53.1670895Z'/><EventRecordID>64199"
    "</EventRecordID><Correlation/><Execution ProcessID='776' ThreadID='5788'/><Channel>System</Channel><Computer>"
    "EC2AMAZ-25GMQOK</Computer><Security/></System><EventData><Data Name='param1'>AppX Deployment Service (AppXSVC)"
    "</Data><Data Name='param2'>running</Data><Binary>41007000700058005300760063002F0034000000</Binary></EventData>"
    "<RenderingInfo Culture='en-US'><Message>The AppX Deployment Service (AppXSVC) service entered the running state."
    "</Message><Level>Information</Level><Task></Task><Opcode></Opcode><Channel></Channel><Provider>Microsoft-Windows-"
    "Service Control Manager</Provider><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo></Event>"
)
# a VSS error written the same way, from the §5.1 template (no public sample exists)
VSS_12310 = (
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='VSS'/>"
    "<EventID Qualifiers='0'>12310</EventID><Level>2</Level><TimeCreated SystemTime='2023-05-22T15:00:00.0000000Z'/>"
    "<EventRecordID>811</EventRecordID><Channel>Application</Channel><Computer>vm1</Computer></System><EventData>"
    "<Data>Volume Shadow Copy Service error: The shadow copy could not be committed - operation timed out.</Data>"
    "<Data>hr = 0x80042314</Data></EventData></Event>"
)


def test_single_quoted_evtrender_record() -> None:
    events, ctx = run("event_xml", EVTRENDER.encode(), "export/System.xml")
    assert not ctx.problems
    (e,) = events
    assert e.ts == datetime(2023, 5, 22, 14, 43, 53, 167089, tzinfo=UTC) and not e.local
    assert e.kind == "service.state" and e.attrs["service"] == "AppXSVC" and e.attrs["state"] == "running"
    assert e.attrs["qualifiers"] == 16384 and e.attrs["record_id"] == 64199 and e.attrs["channel"] == "System"
    assert e.attrs["data"] == {"param1": "AppX Deployment Service (AppXSVC)", "param2": "running"}
    assert e.message == "The AppX Deployment Service (AppXSVC) service entered the running state."
    assert e.level == "info" and e.component == "Service Control Manager"


def test_rootless_wevtutil_stream_in_utf16() -> None:
    stream = EVTRENDER + "\n" + VSS_12310 + "\n"
    events, ctx = run("event_xml", utf16(stream), "wevtutil_qe_system.xml")
    assert not ctx.problems
    assert [e.attrs["record_id"] for e in events] == [64199, 811]
    vss = events[1]
    assert vss.kind == "vss.error" and vss.level == "error" and vss.attrs["hresult"] == "0x80042314"
    assert vss.attrs["data"][0].startswith("Volume Shadow Copy Service error")
    assert vss.line == 2


def test_event_viewer_save_as_xml_with_events_root_and_bom_less_utf16() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?>\n<Events>\n' + EVTRENDER + "\n" + VSS_12310 + "\n</Events>\n"
    events, ctx = run("event_xml", utf16(doc, bom=False), "Application.xml")
    assert not ctx.problems and len(events) == 2


def test_doctype_and_entities_are_refused() -> None:
    doc = '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><Events>' + EVTRENDER + "</Events>"
    events, ctx = run("event_xml", doc.encode())
    assert events == [] and any("DOCTYPE" in word(p.message) for p in ctx.problems)


def test_broken_xml_keeps_records_read_so_far() -> None:
    events, ctx = run("event_xml", (EVTRENDER + "<Event><System><Provider Name='x'").encode())
    assert len(events) == 1 and ctx.problems


def test_sql_provider_proves_sql_present() -> None:
    sql = VSS_12310.replace("Name='VSS'", "Name='SQLWRITER'").replace(">12310<", ">24583<")
    events, ctx = run("event_xml", sql.encode())
    assert events[0].kind == "sql.backup" and facts(ctx, "sql.present") == [True]
