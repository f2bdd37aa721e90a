"""agent_state: waagent_status*.json generations, VmSettings.json, Certificates.json, error.json, one-line files.

The status documents are built from the shapes in reference/linux-formats.md §3.10 (no public repository
ships a real one); VmSettings.json and Certificates.json are the WALinuxAgent samples in reference-data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from parsers.state.agent_state import sniff
from tests.parsers.linux_helpers import LINUX, one, output_text, run_as
from tests.parsers.windows_helpers import facts, run

LIB = "var/lib/waagent"
GEN1 = {"agent_name": "WALinuxAgent", "current_version": "2.2.45", "goal_state_version": "2.2",
        "distro_details": "ubuntu:18.04", "last_successful_status_upload_time": "2024-01-05T12:00:00Z",
        "python_version": "Python: 3.6.9",
        "extensions_status": [{"name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "version": "1.0.9150.0",
                               "status": "Ready"}]}


def _blob(agent_status: str = "Ready") -> dict[str, object]:
    """A status blob as 2.8+ saves it in history/*/waagent_status.json (wire.py vm_status_to_v1 shape)."""
    return {
        "version": "1.1", "timestampUTC": "2024-01-05T12:00:00Z",
        "aggregateStatus": {
            "guestAgentStatus": {"version": "2.9.1.1", "status": agent_status,
                                 "formattedMessage": {"lang": "en-US", "message": "Guest Agent is running"}},
            "handlerAggregateStatus": [{
                "handlerVersion": "1.0.9225.0", "handlerName": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux",
                "status": "Ready", "code": 0, "useExactVersion": True,
                "formattedMessage": {"lang": "en-US", "message": "Plugin enabled"},
                "runtimeSettingsStatus": {"settingsStatus": {
                    "status": {"name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "operation": "Enable",
                               "status": "error", "code": 402,
                               "formattedMessage": {"lang": "en-US", "message": "CRP timeout limit has reached"},
                               "substatus": []},
                    "version": "1.0", "timestampUTC": "2024-01-05T11:58:00Z"}, "sequenceNumber": 27}}],
            "vmArtifactsAggregateStatus": {"goalStateAggregateStatus": {"inSvdSeqNo": "12", "status": "Success",
                                                                        "code": 0}}},
        "guestOSInfo": {"computerName": "vm01", "osName": "ubuntu", "osVersion": "22.04", "version": "2.9.1.1"},
        "supportedFeatures": [{"Key": "MultipleExtensionsPerHandler", "Value": "1.0"}]}


def test_status_generation_1() -> None:
    events, ctx = run_as(json.dumps(GEN1).encode(), f"{LIB}/waagent_status.json")
    assert not ctx.problems
    assert one(ctx, "agent.goal_state_version") == "2.2.45"
    assert one(ctx, "agent.python_version") == "3.6.9"
    assert one(ctx, "host.distro") == "ubuntu 18.04"
    assert one(ctx, "agent.status")["last_upload"] == "2024-01-05T12:00:00Z"
    assert one(ctx, "extension.handler_status")["version"] == "1.0.9150.0"
    [event] = events
    assert (event.kind, event.ts) == ("agent.status", datetime(2024, 1, 5, 12, 0, tzinfo=UTC))


def test_status_generation_2_with_metadata() -> None:
    doc = {**_blob(), "_metadataNotSentToCRP": {"agentName": "WALinuxAgent", "daemonVersion": "2.2.45",
                                                 "pythonVersion": "Python: 3.8.10", "extensionSupportedFeatures": []}}
    _, ctx = run_as(json.dumps(doc).encode(), f"{LIB}/waagent_status.7.json")
    assert not ctx.problems
    assert one(ctx, "goalstate.incarnation") == 7
    assert one(ctx, "agent.daemon_version") == "2.2.45"
    assert one(ctx, "agent.python_version") == "3.8.10"
    assert one(ctx, "agent.goal_state_version") == "2.9.1.1"


def test_status_generation_3_history() -> None:
    events, ctx = run_as(json.dumps(_blob("NotReady")).encode(),
                         f"{LIB}/history/2024-01-05T12-00-00__12/waagent_status.json")
    assert not ctx.problems
    assert one(ctx, "agent.status") == {"version": "2.9.1.1", "status": "NotReady",
                                        "message": "Guest Agent is running", "last_upload": "2024-01-05T12:00:00Z"}
    assert one(ctx, "host.name") == "vm01" and one(ctx, "host.distro") == "ubuntu 22.04"
    status = one(ctx, "extension.status")
    assert (status["code"], status["seq"], status["ts"]) == (402, 27, "2024-01-05T11:58:00Z")
    assert one(ctx, "extension.handler_status")["message"] == "Plugin enabled"
    kinds = {e.kind: e for e in events}
    assert kinds["agent.status"].level == "warning"
    assert kinds["extension.status"].level == "error"
    assert kinds["extension.status"].ts == datetime(2024, 1, 5, 11, 58, tzinfo=UTC)


def test_windows_aggregate_status() -> None:
    _, ctx = run_as(json.dumps(_blob()).encode(), "C/WindowsAzure/Logs/AggregateStatus/aggregatestatus.json")
    assert one(ctx, "agent.windows_version") == "2.9.1.1"
    assert facts(ctx, "agent.goal_state_version") == []


def test_vm_settings_sample() -> None:
    events, ctx = run_as(LINUX / "hostgaplugin" / "VmSettings.sample.json",
                         f"{LIB}/history/2022-04-19T21-03-01__1-abc/VmSettings.json")
    assert not ctx.problems
    assert one(ctx, "vmsettings") == {"host_ga_plugin_version": "1.0.8.133", "schema_version": "0.0",
                                      "source": "FastTrack", "in_svd_seq_no": 1, "on_hold": True}
    assert one(ctx, "status_upload_blob") == {"type": "BlockBlob", "present": True, "redacted": False}
    assert one(ctx, "azure.vm")["vm_size"] == "Standard_B2s"
    plugins = {p["name"]: p for p in facts(ctx, "extension.plugin")}
    assert len(plugins) == 5
    assert plugins["Microsoft.OSTCExtensions.VMAccessForLinux"]["auto_upgrade"] is False
    keys = [s["public_keys"] for s in facts(ctx, "extension.settings")
            if s["extension"] == "Microsoft.Azure.Extensions.CustomScript"]
    assert keys == [["commandToExecute"]]
    text = output_text(events, ctx)
    assert "cee174d4" not in text and "KNWgC2" not in text and "MIIBsAYJ" not in text


def test_history_certificates_json() -> None:
    _, ctx = run_as(LINUX / "hostgaplugin" / "Certificates.history.sample.json",
                    f"{LIB}/history/2022-04-19T21-03-01__1/Certificates.json")
    assert not ctx.problems
    assert facts(ctx, "certificates.thumbprint") == [
        {"thumbprint": "DC45A99039D4F9CFB0CD84D566BA065A763F3762", "has_private_key": False},
        {"thumbprint": "1AF52E2E892C3A0DBC589F301F80073CBA924E26", "has_private_key": True}]


def test_error_json_is_a_crash_event() -> None:
    doc = {"last_failure": 1704456000.0, "failure_count": 3, "was_fatal": False,
           "reason": "Agent failed with exception: [Errno 2] No such file or directory"}
    events, ctx = run_as(json.dumps(doc).encode(), f"{LIB}/WALinuxAgent-2.2.45/error.json")
    assert not ctx.problems
    assert one(ctx, "agent.error_json") == {**{k: doc[k] for k in ("failure_count", "was_fatal", "reason")},
                                            "version": "2.2.45", "last_failure": "2024-01-05T12:00:00Z"}
    [event] = events
    assert (event.kind, event.level, event.attrs["blacklisted"]) == ("agent.crash", "error", True)


def test_error_json_never_failed_has_no_event() -> None:
    events, ctx = run_as(b'{"last_failure": 0.0, "failure_count": 0, "was_fatal": false, "reason": ""}',
                         f"{LIB}/WALinuxAgent-2.9.1.1/error.json")
    assert events == [] and one(ctx, "agent.error_json")["failure_count"] == 0


@pytest.mark.parametrize(("name", "data", "fact", "value"), [
    ("Incarnation", b"5\n", "goalstate.incarnation", 5),
    ("WireServerEndpoint", b"168.63.129.16", "wireserver.endpoint", "168.63.129.16"),
    ("Protocol", b"WireProtocol", "agent.protocol", "WireProtocol"),
    ("provisioned", b"", "agent.provisioned", True),
])
def test_one_line_files(name: str, data: bytes, fact: str, value: object) -> None:
    _, ctx = run_as(data, f"{LIB}/{name}")
    assert not ctx.problems
    assert one(ctx, fact) == value


@pytest.mark.parametrize(("path", "data"), [
    (f"{LIB}/WireServerEndpoint", b"not-an-ip\n"),
    (f"{LIB}/Incarnation", b"\xff\xfe\x00"),
    (f"{LIB}/waagent_status.json", b"{\"truncated\": "),
    (f"{LIB}/waagent_status.json", b"[1, 2, 3]"),
    (f"{LIB}/error.json", b"\x00\x01garbage"),
])
def test_bad_input_is_a_problem(path: str, data: bytes) -> None:
    _, ctx = run_as(data, path)
    assert ctx.problems and ctx.facts == []


def test_sniff() -> None:
    assert sniff("x", json.dumps(_blob()).encode())
    assert sniff("x", json.dumps(GEN1).encode())
    assert sniff("x", (LINUX / "hostgaplugin" / "VmSettings.sample.json").read_bytes()[:4096])
    assert not sniff("x", (LINUX / "extension" / "0.settings.sample").read_bytes())


def test_in_vm_artifacts_profile_on_hold() -> None:
    _, ctx = run("agent_state", (LINUX / "wire" / "InVMArtifactsProfile.sample.json").read_bytes(),
                 f"{LIB}/history/2022-04-19T21-03-01__1/InVMArtifactsProfile.json")
    assert not ctx.problems
    assert one(ctx, "goalstate.on_hold") is True
