"""extension_state on the extension samples (reference-data/linux/extension, vmsnapshot) and documented shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from parsers.state.extension_state import handler_from_path, sniff
from tests.parsers.linux_helpers import LINUX, one, output_text, run_as
from tests.parsers.windows_helpers import facts, utf16

EXT = LINUX / "extension"
VMS = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9150.0"
VMS_NAME = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


def test_vmsnapshot_status_sample_with_embedded_status() -> None:
    events, ctx = run_as(EXT / "VMSnapshot-like.0.status.sample.json", f"{VMS}/status/0.status")
    assert not ctx.problems
    outer, inner = facts(ctx, "extension.status")
    assert (outer["extension"], outer["version"], outer["seq"]) == (VMS_NAME, "1.0.9150.0", 0)
    assert (outer["status"], outer["code"], outer["operation"]) == ("success", 1, "Enable")
    assert outer["task_id"] == "e5e5602b-48a6-4c35-9f96-752043777af1"
    assert outer["command_start"] == "2019-06-06T06:36:24.497799Z"
    assert inner["task_id"] == "767baff0-3f1e-4363-a974-5d801189250d"
    assert inner["ts"] == "2019-06-06T23:52:59.380000Z"  # the embedded status uses /Date(ms)/
    assert inner["telemetry"]["statusBlobUploadError"] == "true"
    assert inner["telemetry"]["hostStatusCodeDoSnapshot"] == "200"
    assert inner["telemetry"]["extensionVersion"] == "1.0.9150.0"
    assert [i["task_id"] for i in facts(ctx, "vmsnapshot.invocation")] == [outer["task_id"], inner["task_id"]]
    assert one(ctx, "vmsnapshot.version") == "1.0.9150.0"
    assert [(e.kind, e.ts) for e in events] == [
        ("extension.status", datetime(2019, 6, 6, 23, 52, 59, tzinfo=UTC)),
        ("extension.status", datetime(2019, 6, 6, 23, 52, 59, 380000, tzinfo=UTC))]
    assert "snapshotUri" not in output_text(events, ctx) and "md-rvr1sst1m0s0" not in output_text(events, ctx)


def test_status_outside_a_handler_folder_names_itself() -> None:
    _, ctx = run_as(EXT / "VMSnapshot-like.0.status.sample.json", "bundle/status/0.status")
    assert facts(ctx, "extension.status")[0]["extension"] == "Microsoft.Azure.Extension.VMExtension"
    assert facts(ctx, "vmsnapshot.version") == []


def test_windows_status_with_capitalised_message_keys() -> None:
    doc = ('[{ "version": 1.0, "timestampUTC": "2013-11-17T16:05:14Z", "status": { "status": "error", "code": 0,'
           ' "configurationAppliedTime": "2013-11-17T16:05:14Z",'
           ' "formattedMessage": { "Lang": "en-us", "Message": "Enable IIS on the VM." } } }]')
    path = "C/Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.80.0/Status/3.status"
    events, ctx = run_as(utf16(doc), path)
    assert not ctx.problems
    status = one(ctx, "extension.status")
    assert (status["extension"], status["version"], status["seq"]) == (
        "Microsoft.Azure.RecoveryServices.VMSnapshot", "1.0.80.0", 3)
    assert status["message"] == "Enable IIS on the VM."
    assert events[0].level == "error"


def test_settings_sample_keeps_protected_settings_out() -> None:
    events, ctx = run_as(EXT / "0.settings.sample", f"{VMS}/config/0.settings")
    assert not ctx.problems
    assert one(ctx, "extension.settings") == {"extension": VMS_NAME, "version": "1.0.9150.0", "seq": 0,
                                              "task_id": None, "command_start": None, "vm_type": None,
                                              "locale": None, "public_keys": []}
    assert events == []
    assert "MIIByAYJ" not in output_text(events, ctx)


def test_vmsnapshot_settings_give_enable_event_and_invocation() -> None:
    """Public settings per reference/linux-formats.md §3.8; objectStr and blob URIs must not come out."""
    public = {"commandToExecute": "snapshot", "taskId": "2d3c1a7e-1111-4222-8333-444455556666", "locale": "en-us",
              "commandStartTimeUTCTicks": "638400960000000000", "vmType": "microsoft.compute/virtualmachines",
              "objectStr": "eyJzbmFwc2hvdFRhc2tUb2tlbiI6ICJUT0tFTiJ9",
              "logsBlobUri": "https://acct.blob.core.windows.net/logs/x?sv=2014-02-14&sig=LOGSIGVALUE",
              "statusBlobUri": "https://acct.blob.core.windows.net/st/x?sv=2014-02-14&sig=STATUSSIGVALUE"}
    doc = {"runtimeSettings": [{"handlerSettings": {"protectedSettingsCertThumbprint": "F6AB",
                                                    "protectedSettings": "MIIBPROTECTEDVALUE",
                                                    "publicSettings": public}}]}
    events, ctx = run_as(json.dumps(doc).encode(), f"{VMS}/config/5.settings")
    assert not ctx.problems
    settings = one(ctx, "extension.settings")
    assert settings["command_start"] == "2024-01-06T00:00:00Z"
    assert (settings["vm_type"], settings["locale"], settings["seq"]) == (
        "microsoft.compute/virtualmachines", "en-us", 5)
    assert "objectStr" in settings["public_keys"]
    assert one(ctx, "vmsnapshot.invocation") == {"ts": "2024-01-06T00:00:00Z", "seq": 5, "source": "settings",
                                                 "task_id": "2d3c1a7e-1111-4222-8333-444455556666"}
    [event] = events
    assert (event.kind, event.ts, event.attrs["seq"]) == ("extension.enable", datetime(2024, 1, 6, tzinfo=UTC), 5)
    text = output_text(events, ctx)
    for secret in ("eyJzbmFw", "LOGSIGVALUE", "STATUSSIGVALUE", "MIIBPROTECTEDVALUE", "sig="):
        assert secret not in text


@pytest.mark.parametrize(("path", "state"), [(f"{VMS}/config/HandlerState", "Enabled"),
                                             (f"{VMS}/config/MCExt1.HandlerState", "FailedUpgrade")])
def test_handler_state(path: str, state: str) -> None:
    _, ctx = run_as(f"{state}\n".encode(), path)
    assert one(ctx, "extension.handler_state") == {"extension": VMS_NAME, "version": "1.0.9150.0", "state": state}


def test_handler_status_2_2_shape() -> None:
    """The 2.2.x HandlerStatus quoted in WALinuxAgent#713 (reference/linux-formats.md §3.7)."""
    doc = (b'{"status": "NotReady", "code": -1, "name": "Microsoft.Azure.Extensions.LinuxAsm", "version": "2.2.3",'
           b' "extensions": [], "message": "(000003)Non-zero exit code: 14, asm-extension enable"}')
    _, ctx = run_as(doc, "var/lib/waagent/Microsoft.Azure.Extensions.LinuxAsm-2.2.3/config/HandlerStatus")
    assert not ctx.problems
    assert one(ctx, "extension.handler_status") == {
        "extension": "Microsoft.Azure.Extensions.LinuxAsm", "version": "2.2.3", "status": "NotReady", "code": -1,
        "message": "(000003)Non-zero exit code: 14, asm-extension enable"}


def test_handler_environment_and_manifest() -> None:
    _, ctx = run_as(EXT / "HandlerEnvironment.sample.json", "var/lib/waagent/VMAccess-1.0/HandlerEnvironment.json")
    assert not ctx.problems
    env = one(ctx, "extension.handler_environment")
    assert (env["extension"], env["log_folder"]) == ("VMAccess", "/var/log/azure/VMAccess/1.0")
    _, ctx = run_as(LINUX / "vmsnapshot" / "HandlerManifest.json", f"{VMS}/HandlerManifest.json")
    assert not ctx.problems
    manifest = one(ctx, "extension.handler_manifest")
    assert (manifest["extension"], manifest["report_heartbeat"]) == (VMS_NAME, False)
    assert manifest["enable_command"] == "main/handle.sh enable"


def test_windows_seq_number() -> None:
    _, ctx = run_as(b"27\r\n", "C/Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.80.0/SeqNumber.txt")
    assert one(ctx, "extension.seq_number") == {"extension": "Microsoft.Azure.RecoveryServices.VMSnapshot",
                                                "version": "1.0.80.0", "seq": 27}


def test_handler_from_path() -> None:
    assert handler_from_path(f"{VMS}/status/0.status") == (VMS_NAME, "1.0.9150.0")
    assert handler_from_path("var/lib/waagent/WALinuxAgent-2.9.1.1/error.json") == ("WALinuxAgent", "2.9.1.1")
    assert handler_from_path("bundle/status/0.status") == (None, None)


@pytest.mark.parametrize(("path", "data"), [
    (f"{VMS}/config/HandlerState", b"\x00\xff garbage \x01 bytes"),
    (f"{VMS}/status/0.status", b'[{"version": "1.0", "timestampUTC": '),
    (f"{VMS}/status/0.status", b'[{"version": "1.0", "status": "not an object"}]'),
    (f"{VMS}/config/0.settings", b"{}"),
    ("C/Packages/Plugins/X/1.0/SeqNumber.txt", b"abc"),
])
def test_bad_input_is_a_problem(path: str, data: bytes) -> None:
    _, ctx = run_as(data, path)
    assert ctx.problems
    assert facts(ctx, "vmsnapshot.version") == []


def test_sniff() -> None:
    assert sniff("x", (EXT / "0.settings.sample").read_bytes())
    assert sniff("x", (EXT / "VMSnapshot-like.0.status.sample.json").read_bytes()[:4096])
    assert sniff("x", (EXT / "HandlerEnvironment.sample.json").read_bytes())
    assert not sniff("x", (LINUX / "hostgaplugin" / "Certificates.history.sample.json").read_bytes())
