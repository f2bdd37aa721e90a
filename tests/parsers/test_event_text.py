"""Event text exports: wevtutil /f:text, Event Viewer TXT, "Copy details as text" blocks."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.parsers.windows_helpers import facts, run, utf16

WEVTUTIL = """Event[0]:
  Log Name: Application
  Source: WLMS
  Date: 2020-12-14T17:09:08.940
  Event ID: 100
  Task: None
  Level: Information
  Opcode: Info
  Keyword: Classic
  User: N/A
  User Name: N/A
  Computer: WIN-1O0UJBNP9G7
  Description:
N/A

Event[1]:
  Log Name: System
  Source: Service Control Manager
  Date: 2020-12-14T17:10:00.000
  Event ID: 7034
  Task: None
  Level: Error
  Opcode: Info
  Keyword: Classic
  User: N/A
  User Name: N/A
  Computer: WIN-1O0UJBNP9G7
  Description:
The RdAgent service terminated unexpectedly.  It has done this 2 time(s).
"""

COPIED = """Log Name:      Application
Source:        SQLVDI
Date:          9/29/2026 10:01:02 AM
Event ID:      1
Task Category: (2)
Level:         Error
Keywords:      Classic
User:          N/A
Computer:      vm1
Description:
SQLVDI: Loc=TriggerAbort. Desc=invoked. ErrorCode=(0). Process=3720. Thread=9404. Server. Instance=SBSMonitoring.
Event Xml:
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="SQLVDI" />
    <EventID Qualifiers="0">1</EventID>
    <Level>2</Level>
    <TimeCreated SystemTime="2026-09-29T08:01:02.1234567Z" />
    <EventRecordID>77</EventRecordID>
    <Channel>Application</Channel>
    <Computer>vm1</Computer>
  </System>
  <EventData>
    <Data>Loc=TriggerAbort. Desc=invoked.</Data>
  </EventData>
</Event>
Log Name:      System
Source:        EventLog
Date:          9/29/2026 10:05:00 AM
Event ID:      6008
Level:         Error
Description:
The previous system shutdown at 9:58:01 AM on 9/29/2026 was unexpected.
"""


def test_wevtutil_text_blocks_are_local_time() -> None:
    events, ctx = run("event_text", utf16(WEVTUTIL), "wevtutil_system.txt")
    assert not ctx.problems
    wlms, crash = events
    assert wlms.ts == datetime(2020, 12, 14, 17, 9, 8, 940000) and wlms.local
    assert wlms.message == "WLMS 100" and wlms.attrs["channel"] == "Application" and wlms.line == 1
    assert crash.kind == "service.crash" and crash.attrs["service"] == "RdAgent" and crash.line == 16
    assert crash.attrs["computer"] == "WIN-1O0UJBNP9G7"


def test_copied_details_use_event_xml_for_utc_and_offset() -> None:
    events, ctx = run("event_text", COPIED.encode(), "ticket_paste.txt")
    sql, unexpected = events
    assert sql.ts == datetime(2026, 9, 29, 8, 1, 2, 123456, tzinfo=UTC) and not sql.local
    assert sql.kind == "sql.backup" and sql.message.startswith("SQLVDI: Loc=TriggerAbort")
    assert sql.attrs["data"] == ["Loc=TriggerAbort. Desc=invoked."]
    assert facts(ctx, "tz.utc_offset_minutes") == [120]
    assert facts(ctx, "sql.present") == [True]
    assert unexpected.kind == "system.unexpected_shutdown" and unexpected.local
    assert unexpected.ts == datetime(2026, 9, 29, 10, 5)


def test_event_viewer_tab_separated_txt() -> None:
    text = ("Level\tDate and Time\tSource\tEvent ID\tTask Category\n"
            "Information\t1/16/2011 11:21\tService Control Manager\t7036\tNone\tThe WinHTTP Web Proxy "
            "Auto-Discovery Service service entered the stopped state.\n")
    (e,), ctx = run("event_text", utf16(text), "evt_System.txt")
    assert not ctx.problems
    assert e.ts == datetime(2011, 1, 16, 11, 21) and e.local
    assert e.kind == "service.state" and e.attrs["state"] == "stopped"


def test_text_without_event_blocks_is_a_problem() -> None:
    events, ctx = run("event_text", b"hello\nworld\n")
    assert events == [] and ctx.problems
