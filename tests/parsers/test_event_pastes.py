"""Windows events as people paste them into tickets (issue 13 classes 7 and 8): every text shape, localized
messages, any file name, UTF-16 and CRLF; the guest agent's crash found in each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.api import analyze, parse_bundle
from analyzer.model import severity_rank
from parsers import get_parser
from tests.parsers.windows_helpers import run, utf16

NET_1026 = ("Application: {image}\nFramework Version: v4.0.30319\nDescription: The process was terminated due to an "
            "unhandled exception.\nException Info: System.Configuration.ConfigurationErrorsException\n"
            "   at System.Configuration.ClientConfigurationSystem.EnsureInit(System.String)")
APP_ERROR_DE = ("Name der fehlerhaften Anwendung: {image}, Version: 2.7.41491.1102, Zeitstempel: 0x6512ab34\n"
                "Name des fehlerhaften Moduls: KERNELBASE.dll, Version: 10.0.17763.5820, Zeitstempel: 0x4c3a11d2\n"
                "Ausnahmecode: 0xe0434352\nPfad der fehlerhaften Anwendung: C:\\WindowsAzure\\GuestAgent\\{image}")
APP_ERROR_FR = ("Nom de l’application défaillante {image}, version : 2.7.41491.1102, horodatage : 0x6512ab34\n"
                "Code d’exception : 0xe0434352")


def _indent(text: str, pad: str) -> str:
    return text.replace("\n", "\n" + pad)


def shapes(image: str) -> dict[str, str]:
    """The same .NET Runtime 1026 crash of ``image`` in each text shape."""
    msg = NET_1026.format(image=image)
    return {
        "wevtutil": "Event[0]:\n  Log Name: Application\n  Source: .NET Runtime\n  Date: 2024-06-10T04:01:00.000\n"
                    "  Event ID: 1026\n  Task: None\n  Level: Error\n  Computer: vm1\n  Description:\n" + msg,
        "copied": "Log Name:      Application\nSource:        .NET Runtime\nDate:          6/10/2024 4:01:00 AM\n"
                  "Event ID:      1026\nTask Category: None\nLevel:         Error\nKeywords:      Classic\n"
                  "User:          N/A\nComputer:      vm1\nDescription:\n" + msg,
        "copied-no-log-name": "Source:        .NET Runtime\nDate:          6/10/2024 4:01:00 AM\nEvent ID:      1026\n"
                              "Level:         Error\nDescription:\n" + msg,
        "key-equals-value": "Log Name = Application\nSource = .NET Runtime\nDate = 2024-06-10 04:01:00\n"
                            "Event ID = 1026\nLevel = Error\nDescription = " + msg,
        "german-keys": "Protokollname: Application\nQuelle:        .NET Runtime\nDatum:         10.06.2024 04:01:00\n"
                       "Ereignis-ID:   1026\nEbene:         Fehler\nBeschreibung:\n" + msg,
        "get-winevent-fl": "PS C:\\> Get-WinEvent -FilterHashtable @{LogName='Application'; Id=1026} | Format-List\n\n"
                           "TimeCreated  : 6/10/2024 4:01:00 AM\nProviderName : .NET Runtime\nId           : 1026\n"
                           "Message      : " + _indent(msg, " " * 15) + "\n",
        "get-eventlog-fl": "Index              : 5120\nEntryType          : Error\nInstanceId         : 1026\n"
                           "Message            : " + _indent(msg, " " * 21) + "\nCategory           : (0)\n"
                           "Source             : .NET Runtime\nTimeGenerated      : 6/10/2024 4:01:00 AM\n",
        "friendly-view": "- System \n\n  - Provider \n\n   [ Name]  .NET Runtime \n \n  - EventID 1026 \n\n"
                         "   [ Qualifiers]  0 \n \n   Level 2 \n \n  - TimeCreated \n\n"
                         "   [ SystemTime]  2024-06-10T04:01:00.1234567Z \n \n   EventRecordID 5120 \n \n"
                         "   Channel Application \n \n   Computer vm1 \n\n- EventData \n\n   "
                         + msg.replace("\n", " ") + " \n",
        "title": ".NET Runtime - 1026\n" + msg + "\n",
    }


LOCAL_SHAPES = {"wevtutil", "copied", "copied-no-log-name", "key-equals-value", "german-keys", "get-winevent-fl",
                "get-eventlog-fl"}


@pytest.mark.parametrize("shape", list(shapes("WaAppAgent.exe")))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_every_text_shape_is_one_event_recognized_by_content(shape: str, encoding: str) -> None:
    text = shapes("WaAppAgent.exe")[shape]
    data = utf16(text) if encoding == "utf-16" else text.replace("\n", "\r\n").encode()
    assert get_parser("event_text").sniff("paste.txt", data[:4096])
    events, ctx = run("event_text", data, "paste.txt")
    crashes = [e for e in events if e.attrs.get("event_id") == 1026]
    assert len(crashes) == 1, (shape, [(e.kind, e.message[:40]) for e in events], ctx.problems)
    crash = crashes[0]
    assert crash.attrs["provider"] == ".NET Runtime"
    assert crash.kind == "agent.crash" and crash.attrs["image"] == "WaAppAgent.exe"
    assert crash.attrs["service"] == "RdAgent"
    if shape in LOCAL_SHAPES:
        assert crash.local and crash.ts == datetime(2024, 6, 10, 4, 1)
    elif shape == "friendly-view":
        assert not crash.local and crash.ts == datetime(2024, 6, 10, 4, 1, 0, 123456, tzinfo=UTC)
    else:
        assert crash.ts is None


@pytest.mark.parametrize(("image", "service"), [("WaAppAgent.exe", "RdAgent"),
                                                ("WindowsAzureGuestAgent.exe", "WindowsAzureGuestAgent")])
@pytest.mark.parametrize("template", [APP_ERROR_DE, APP_ERROR_FR, "Faulting application name: {image}, version: "
                                      "2.7.41491.1102, time stamp: 0x6512ab34\nException code: 0xe0434352"])
def test_application_error_of_an_agent_image_in_any_language(image: str, service: str, template: str) -> None:
    text = "Application Error - 1000\n" + template.format(image=image) + "\n"
    (crash,), _ = run("event_text", utf16(text), "paste.txt")
    assert crash.kind == "agent.crash" and crash.attrs["image"] == image and crash.attrs["service"] == service


def test_a_crash_of_the_backup_extension_is_security_software() -> None:
    text = "Application Error - 1000\nFaulting application name: IaaSBcdrExtension.exe, version: 1.0.92.0\n"
    (e,), _ = run("event_text", text.encode(), "paste.txt")
    assert e.kind == "security.block" and e.attrs["image"] == "IaaSBcdrExtension.exe"


def test_several_pasted_events_split_where_the_next_begins() -> None:
    one = shapes("WindowsAzureGuestAgent.exe")
    text = "\n\n".join([one["copied-no-log-name"], "Application Error - 1000\n" + APP_ERROR_DE.format(
        image="WaAppAgent.exe"), one["get-winevent-fl"].split("\n\n", 1)[1]])
    events, _ = run("event_text", text.encode(), "paste.txt")
    assert [(e.attrs["provider"], e.attrs["event_id"], e.kind) for e in events] == [
        (".NET Runtime", 1026, "agent.crash"), ("Application Error", 1000, "agent.crash"),
        (".NET Runtime", 1026, "agent.crash")]


@pytest.mark.parametrize("shape", list(shapes("WaAppAgent.exe")))
@pytest.mark.parametrize("name", ["events.txt", "ticket-4711.txt", "paste", "services.txt"])
def test_a_pasted_agent_crash_is_the_root_cause(tmp_path: Path, shape: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(utf16(shapes("WaAppAgent.exe")[shape]))
    report = analyze(path)
    assert [s.parser for s in report.sources] == ["event_text"]
    assert report.verdict.root_cause == "AGENT_NOT_RUNNING"


VSS_8194 = ("Log Name:      Application\nSource:        VSS\nDate:          6/10/2024 {time}\nEvent ID:      8194\n"
            "Level:         Error\nDescription:\nVolume Shadow Copy Service error: Unexpected error querying for the "
            "IVssWriterCallback interface.  hr = 0x80070005, Access is denied.\n")


def test_vss_8194_far_from_any_backup_is_no_writer_failure(tmp_path: Path) -> None:
    (tmp_path / "app.txt").write_text(VSS_8194.format(time="9:00:00 PM"))
    report = analyze(tmp_path)
    assert [(f.id, f.severity) for f in report.findings if f.id == "VSS_WRITER_FAILED"] in ([], [("VSS_WRITER_FAILED",
                                                                                               "info")])
    assert report.verdict.status != "problems_found" and report.unexplained == []


def test_vss_8194_during_a_backup_run_is_a_writer_failure(tmp_path: Path) -> None:
    from tests.detectors.windows_bundles import WindowsBundle

    bundle = WindowsBundle(status="error", code=2).write(tmp_path / "b")  # the run at 02:00 UTC failed
    (bundle / "app.txt").write_text(VSS_8194.format(time="2:01:00 AM"))
    report = analyze(bundle)
    finding = next(f for f in report.findings if f.id == "VSS_WRITER_FAILED")
    assert severity_rank(finding.severity) >= severity_rank("error")


def test_pasted_text_keeps_its_events_in_the_bundle_timeline(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(shapes("WaAppAgent.exe")["key-equals-value"])
    analysis, _ = parse_bundle(tmp_path)
    assert [e.kind for e in analysis.timeline.notable] == ["agent.crash"]
    assert analysis.os == "windows"
