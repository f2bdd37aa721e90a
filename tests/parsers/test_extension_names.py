"""Which extension an alarm is about, read once by the parsers (``other_extension``) for both OSes."""

from __future__ import annotations

import pytest

from analyzer.log_templates import TemplateCounts
from parsers.base import ParseContext
from parsers.extension_names import about_other_extension

OTHERS = ("Microsoft.CPlat.Core.RunCommandLinux", "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent",
          "Microsoft.Compute.CustomScriptExtension", "Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux")
BACKUPS = ("Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "Microsoft.Azure.RecoveryServices.VMSnapshot",
           "Microsoft.Azure.RecoveryServices.IaaSBcdrExtension")
# where agents of both OSes name a handler in a record
PLACES = (
    "[{n}-1.0.5] Enable failed with exit code 1",
    "Event: name={n}, op=Enable, message=failed, duration=0",
    "Command failed: /var/lib/waagent/{n}-2.1.10/bin/enable.sh exited 1",
    "Failed to open /var/log/azure/{n}/handler.log",
    r"Plugin C:\Packages\Plugins\{n}\1.10.15\Status\0.status is not available yet.",
    "Plugin {n}_1.0.18067.0 enable command failed with exit code 3",
    "Failed to download plugin '{n}' from all the locations",
    "Handler for extension '{n}' returned an error",
)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("name", OTHERS + BACKUPS)
def test_a_named_handler_decides(place: str, name: str) -> None:
    assert about_other_extension(place.format(n=name)) is (name in OTHERS)


@pytest.mark.parametrize("name", OTHERS + BACKUPS)
def test_the_extension_field_decides_without_a_name_in_the_text(name: str) -> None:
    assert about_other_extension("Enable failed with exit code 1", (name,)) is (name in OTHERS)


@pytest.mark.parametrize("text", ["Fetch failed: [HttpError] [HTTP Failed] GET http://168.63.129.16/machine/ timed out",
                                  "[WALinuxAgent-2.9.1.1] Agent update failed",
                                  "Error reading /var/lib/waagent/history/2026-12-05T02-00-00__0.zip",
                                  "VSS writer SqlServerWriter failed: 0x800423f4"])
def test_the_agent_and_system_records_are_not_about_another_extension(text: str) -> None:
    assert not about_other_extension(text)


def test_a_record_naming_the_backup_extension_beside_another_is_about_the_backup() -> None:
    both = f"All extensions: [({OTHERS[0]}, success), ({BACKUPS[0]}, error 7)]"
    assert not about_other_extension(both)


@pytest.mark.parametrize("level", ["info", "warning", "error", "critical"])
def test_parse_context_marks_alarms_only(level: str) -> None:
    e = ParseContext("var/log/waagent.log", "waagent_log").event(None, 1, PLACES[0].format(n=OTHERS[0]), level=level)
    assert bool(e.attrs.get("other_extension")) is (level != "info")


def test_dropped_alarms_keep_the_mark_by_template() -> None:
    ctx = ParseContext("var/log/waagent.log", "waagent_log")
    counts = TemplateCounts()
    for n in range(3):
        counts.add(ctx.event(None, n + 1, PLACES[5].format(n=OTHERS[n % 2]), level="error"))
        counts.add(ctx.event(None, n + 10, f"Agent could not start the handler: error {n}", level="error"))
    marks = {c.text: c.other_extension for c in counts}
    assert marks and all(mark is ("plugin" in text.lower()) for text, mark in marks.items()), marks
