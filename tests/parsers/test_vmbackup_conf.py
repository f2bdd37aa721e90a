"""vmbackup_conf on the extension's vmbackup.conf template and on the documented keys (linux-formats.md §3.8)."""

from __future__ import annotations

from analyzer.locale import word
from parsers.state.vmbackup_conf import sniff
from tests.parsers.linux_helpers import LINUX, one, run_as

SAMPLE = LINUX / "vmsnapshot" / "vmbackup.conf.sample"


def test_template() -> None:
    events, ctx = run_as(SAMPLE, "etc/azure/vmbackup.conf")
    assert events == [] and not ctx.problems
    assert [(f.name, f.value, f.line) for f in ctx.facts] == [("vmbackup.SnapshotThread.fsfreeze", "True", 2)]


def test_documented_keys_both_separators_comments_and_continuations() -> None:
    text = (b"# customer settings\n"
            b"[SnapshotThread]\n"
            b"fsfreeze: False\n"
            b"timeout = 120\n"
            b"MountsToSkip: /mnt/resource,\n"
            b"    /data\n"
            b"; a comment\n"
            b"[Monitor]\n"
            b"MinDiskSizeMB: 1024\n")
    _, ctx = run_as(text, "etc/azure/vmbackup.conf")
    assert not ctx.problems
    assert one(ctx, "vmbackup.SnapshotThread.fsfreeze") == "False"
    assert one(ctx, "vmbackup.SnapshotThread.timeout") == "120"
    assert one(ctx, "vmbackup.SnapshotThread.mountstoskip") == "/mnt/resource,\n/data"
    assert one(ctx, "vmbackup.Monitor.mindisksizemb") == "1024"


def test_lines_outside_a_section_or_garbage_are_problems() -> None:
    _, ctx = run_as(b"fsfreeze: True\n\x00\xff\xfe\n[SnapshotThread]\nnot an option\n", "etc/azure/vmbackup.conf")
    assert ctx.facts == []
    assert ctx.problems and "3 lines are not INI sections" in word(ctx.problems[0].message)


def test_sniff() -> None:
    assert sniff("x", SAMPLE.read_bytes())
    assert not sniff("x", b"Extensions.Enabled=y\n")


def test_script_plugin_config_allow_list() -> None:
    events, ctx = run_as(LINUX / "vmsnapshot" / "VMSnapshotScriptPluginConfig.sample.json",
                         "etc/azure/VMSnapshotScriptPluginConfig.json")
    assert events == [] and not ctx.problems
    values = {f.name.removeprefix("vmbackup.script_plugin."): f.value for f in ctx.facts}
    assert values == {"pluginName": "ScriptRunner", "preScriptLocation": "", "postScriptLocation": "",
                      "preScriptNoOfRetries": 0, "postScriptNoOfRetries": 0, "timeoutInSeconds": 30,
                      "continueBackupOnFailure": True, "fsFreezeEnabled": True}
