"""wire_xml on the WireServer goal-state samples (WALinuxAgent test data, see reference-data/linux/SOURCES.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.locale import word
from parsers.state.wire_xml import sniff
from tests.parsers.linux_helpers import LINUX, one, output_text, run_as
from tests.parsers.windows_helpers import facts, run, utf16

WIRE = LINUX / "wire"
LIB = "var/lib/waagent"


def test_goal_state_sample() -> None:
    events, ctx = run_as(WIRE / "GoalState.1.sample.xml", f"{LIB}/GoalState.1.xml")
    assert not ctx.problems
    assert one(ctx, "goalstate.incarnation") == 1
    assert one(ctx, "deployment.container_id") == "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2"
    assert one(ctx, "role.instance") == "b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0"
    assert events == []  # a lib-dir goal state carries no time


def test_goal_state_in_history_is_a_timeline_event() -> None:
    events, ctx = run_as(WIRE / "GoalState.1.sample.xml", f"{LIB}/history/2022-04-19T21-03-01__1-etag/GoalState.xml")
    assert not ctx.problems
    [event] = events
    assert event.kind == "goalstate.fetched"
    assert event.ts == datetime(2022, 4, 19, 21, 3, 1, tzinfo=UTC)
    assert event.attrs["incarnation"] == 1


def test_placeholder_goal_state_is_no_data() -> None:
    events, ctx = run_as(b"<xml>empty placeholder file</xml>", f"{LIB}/GoalState.1.xml")
    assert (events, ctx.facts, ctx.problems) == ([], [], [])


def test_goal_state_utf16_reads_the_same() -> None:
    text = (WIRE / "GoalState.1.sample.xml").read_text("utf-8")
    _, ctx = run_as(utf16(text), f"{LIB}/GoalState.1.xml")
    assert not ctx.problems
    assert one(ctx, "goalstate.incarnation") == 1


def test_extensions_config_sample() -> None:
    _, ctx = run_as(WIRE / "ExtensionsConfig.9.sample.xml", f"{LIB}/ExtensionsConfig.9.xml")
    assert not ctx.problems
    assert one(ctx, "goalstate.incarnation") == 9
    assert [f["name"] for f in facts(ctx, "agent.ga_family")] == ["Prod", "Test"]
    assert one(ctx, "status_upload_blob") == {"type": "BlockBlob", "present": True, "redacted": False}
    assert one(ctx, "extension.plugin") == {"name": "OSTCExtensions.ExampleHandlerLinux", "version": "1.0.0",
                                            "state": "enabled", "seq": 0, "auto_upgrade": False}
    settings = one(ctx, "extension.settings")
    assert settings["public_keys"] == ["foo"] and settings["seq"] == 0


def test_extensions_config_redaction_sample() -> None:
    _, ctx = run_as(WIRE / "ExtensionsConfig.redaction-sample.xml", f"{LIB}/ExtensionsConfig.1.xml")
    assert not ctx.problems
    assert one(ctx, "agent.ga_family") == {"name": "Prod", "version": "2.12.0.2", "from_rsm": False,
                                           "rsm_enabled": False}
    assert one(ctx, "status_upload_blob")["type"] == "PageBlob"
    plugins = {p["name"]: (p["version"], p["seq"], p["auto_upgrade"]) for p in facts(ctx, "extension.plugin")}
    assert plugins == {"Microsoft.Azure.Extensions.CustomScript": ("2.1.10", 1, True),
                       "Microsoft.Azure.AzureDefenderForServers.MDE.Linux": ("1.0.4.7", 12, True),
                       "Microsoft.CPlat.Core.RunCommandLinux": ("1.0.5", 13, True)}


def test_history_redacted_extensions_config() -> None:
    """Agents >= 2.8 save a copy with the SAS query and protectedSettings replaced by ***REDACTED***."""
    text = (WIRE / "ExtensionsConfig.9.sample.xml").read_text("utf-8")
    text = text.replace('"protectedSettings":"MIICWgYJK"', '"protectedSettings":"***REDACTED***"')
    start = text.index("status?") + len("status?")
    text = text[:start] + "***REDACTED***" + text[text.index("</StatusUploadBlob>"):]
    _, ctx = run_as(text.encode(), f"{LIB}/history/2022-04-19T21-03-01__9/ExtensionsConfig.xml")
    assert not ctx.problems
    assert one(ctx, "status_upload_blob") == {"type": "BlockBlob", "present": True, "redacted": True}
    assert one(ctx, "extension.plugin")["name"] == "OSTCExtensions.ExampleHandlerLinux"


def test_vmsnapshot_plugin_settings_give_an_invocation() -> None:
    public = ('{"commandToExecute":"snapshot","taskId":"9b1f3c2e-0000-4000-8000-000000000001","locale":"en-us",'
              '"commandStartTimeUTCTicks":"638400960000000000","vmType":"microsoft.compute/virtualmachines",'
              '"objectStr":"eyJzbmFwc2hvdFRhc2tUb2tlbiI6IlRPS0VOLVZBTFVFIn0=",'
              '"statusBlobUri":"https://x.blob.core.windows.net/c/s?sv=2018&amp;sig=STATUSSIG"}')
    xml = ('<Extensions version="1.0.0.0" goalStateIncarnation="4"><Plugins>'
           '<Plugin name="Microsoft.Azure.RecoveryServices.VMSnapshotLinux" version="1.0.9225.0" state="enabled" '
           'autoUpgrade="true"/></Plugins><PluginSettings>'
           '<Plugin name="Microsoft.Azure.RecoveryServices.VMSnapshotLinux" version="1.0.9225.0">'
           '<RuntimeSettings seqNo="27">{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":'
           '"F6AB","protectedSettings":"MIIPROTECTED","publicSettings":' + public + '}}]}</RuntimeSettings>'
           '</Plugin></PluginSettings></Extensions>')
    events, ctx = run_as(xml.encode(), f"{LIB}/ExtensionsConfig.4.xml")
    assert not ctx.problems
    assert one(ctx, "vmsnapshot.invocation") == {"ts": "2024-01-06T00:00:00Z", "seq": 27, "source": "extensions_config",
                                                 "task_id": "9b1f3c2e-0000-4000-8000-000000000001"}
    assert one(ctx, "extension.settings")["vm_type"] == "microsoft.compute/virtualmachines"
    text = output_text(events, ctx)
    for secret in ("eyJzbmFw", "STATUSSIG", "MIIPROTECTED"):
        assert secret not in text


def test_hosting_environment_config() -> None:
    events, ctx = run_as(WIRE / "HostingEnvironmentConfig.sample.xml", f"{LIB}/HostingEnvironmentConfig.xml")
    assert not ctx.problems
    assert one(ctx, "deployment.name") == "db00a7755a5e4e8a8fe4b19bc3b330c3"
    assert one(ctx, "role.name") == "MachineRole"
    assert one(ctx, "role.instance") == "MachineRole_IN_0"
    assert "DNZQ" not in output_text(events, ctx)


def test_shared_config() -> None:
    _, ctx = run_as(WIRE / "SharedConfig.sample.xml", f"{LIB}/SharedConfig.xml")
    assert not ctx.problems
    assert one(ctx, "deployment.name") == "db00a7755a5e4e8a8fe4b19bc3b330c3"
    assert one(ctx, "role.instance") == "MachineRole_IN_0"


def test_certificates_metadata_only() -> None:
    events, ctx = run_as(WIRE / "Certificates.sample.xml", f"{LIB}/Certificates.xml")
    assert not ctx.problems
    assert one(ctx, "certificates.meta") == {"format": "Pkcs7BlobWithPfxContents", "incarnation": 1,
                                             "version": "2012-11-30", "has_data": True}
    assert "MIIOgwYJ" not in output_text(events, ctx)


def test_ovf_env() -> None:
    events, ctx = run_as(WIRE / "ovf-env.sample.xml", f"{LIB}/ovf-env.xml")
    assert not ctx.problems
    assert one(ctx, "ovf.provision_guest_agent") is False
    assert one(ctx, "host.name") == "HostName"
    text = output_text(events, ctx)
    assert "UserPassword" not in text and "CustomData" not in text and "NOTAREALKEY" not in text


def test_manifests() -> None:
    _, ctx = run_as(WIRE / "Prod.agentsManifest.sample.xml", f"{LIB}/Prod.1.agentsManifest")
    assert not ctx.problems
    agent = one(ctx, "manifest.versions")
    assert agent["name"] == "Prod" and agent["kind"] == "agent"
    assert agent["versions"][-2:] == ["9.9.9.10", "99999.0.0.0"]
    _, ctx = run_as(WIRE / "ExtensionManifest.sample.manifest.xml",
                    f"{LIB}/Microsoft.Azure.RecoveryServices.VMSnapshotLinux.3.manifest.xml")
    ext = one(ctx, "manifest.versions")
    assert ext["name"] == "Microsoft.Azure.RecoveryServices.VMSnapshotLinux" and ext["kind"] == "extension"
    assert len(ext["versions"]) == 13 and ext["internal_versions"] == ["1.3.0", "2.3.0", "2.4.0"]


def test_extension_image_manifest() -> None:
    _, ctx = run("wire_xml", (LINUX / "vmsnapshot" / "manifest.xml").read_bytes(), "VMBackup/manifest.xml")
    assert not ctx.problems
    assert one(ctx, "extension.image") == {"name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux",
                                           "version": "1.0.9184.0"}


def test_truncated_xml_is_a_problem_and_keeps_what_came_before() -> None:
    data = (WIRE / "ExtensionsConfig.redaction-sample.xml").read_bytes()
    _, ctx = run_as(data[: data.index(b"<PluginSettings>")], f"{LIB}/ExtensionsConfig.1.xml")
    assert any("not well-formed" in word(p.message) for p in ctx.problems)
    assert one(ctx, "goalstate.incarnation") == 1
    assert len(facts(ctx, "extension.plugin")) == 3


def test_external_entity_is_refused_not_resolved(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("TOP-SECRET-CONTENT")
    xml = (f'<?xml version="1.0"?><!DOCTYPE GoalState [<!ENTITY xxe SYSTEM "file://{target}">]>'
           '<GoalState><Incarnation>&xxe;</Incarnation></GoalState>')
    events, ctx = run_as(xml.encode(), f"{LIB}/GoalState.2.xml")
    assert ctx.facts == [] and events == []
    assert any("DOCTYPE" in word(p.message) for p in ctx.problems)
    assert "TOP-SECRET-CONTENT" not in output_text(events, ctx)


@pytest.mark.parametrize("data", [b"\x00\xff\xfe garbage \x9c", b"", b"<Unknown><a/></Unknown>", b"<GoalState>",
                                  b"<a:0 x='1'/>", b"<GoalState><a:b>1</a:b><x:0/></GoalState>"])
def test_bad_input_is_a_problem(data: bytes) -> None:
    events, ctx = run_as(data, f"{LIB}/GoalState.3.xml")
    assert ctx.problems and events == []


def test_sniff() -> None:
    assert sniff("x", (WIRE / "GoalState.1.sample.xml").read_bytes()[:4096])
    assert sniff("x", (WIRE / "ExtensionsConfig.9.sample.xml").read_bytes()[:4096])
    assert sniff("x", b"<xml>empty placeholder file</xml>")
    assert not sniff("x", (LINUX / "dhcp" / "dhclient.eth0.leases.sample").read_bytes())
