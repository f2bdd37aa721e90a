"""waagent_conf on the agent's shipped /etc/waagent.conf and on lines that exercise the agent's own rules."""

from __future__ import annotations

from analyzer.locale import word
from parsers.state.waagent_conf import sniff
from tests.parsers.linux_helpers import LINUX, one, run_as
from tests.parsers.windows_helpers import facts

SAMPLE = LINUX / "config" / "waagent.conf.sample"


def test_shipped_config() -> None:
    events, ctx = run_as(SAMPLE, "etc/waagent.conf")
    assert events == [] and not ctx.problems
    values = {f.name: f.value for f in ctx.facts}
    assert values["conf.Extensions.Enabled"] == "y"
    assert values["conf.Logs.Verbose"] == "n"
    assert values["conf.OS.EnableFirewall"] == "y"
    assert values["conf.Extensions.GoalStatePeriod"] == "6"
    assert values["conf.ResourceDisk.MountPoint"] == "/mnt/resource"
    assert "conf.ResourceDisk.MountOptions" not in values  # None = unset
    assert "conf.HttpProxy.Host" not in values  # commented out
    assert "conf.AutoUpdate.UpdateToLatestVersion" not in values
    assert "proxy" not in values
    assert [f.line for f in ctx.facts if f.name == "conf.Extensions.Enabled"] == [7]
    assert len(ctx.facts) == 27


def test_agent_rules_comments_quotes_switches_and_proxy() -> None:
    text = (b'AutoUpdate.Enabled=N\n'
            b'Extensions.Enabled = "n"   # disabled by the image team\n'
            b'HttpProxy.Host=http://svc-backup:Pa55w0rd@proxy.corp.example # corporate proxy\n'
            b'HttpProxy.Port=3128\n'
            b'Logs.Verbose=None\n')
    _, ctx = run_as(text, "etc/waagent.conf")
    assert not ctx.problems
    assert one(ctx, "conf.AutoUpdate.Enabled") == "n"
    assert one(ctx, "conf.Extensions.Enabled") == "n"
    assert one(ctx, "proxy") == {"host": "http://proxy.corp.example", "port": 3128, "source": "waagent.conf"}
    assert facts(ctx, "conf.Logs.Verbose") == []
    assert "Pa55w0rd" not in repr(ctx.facts)


def test_garbage_is_a_problem() -> None:
    _, ctx = run_as(b"\x00\xff\xfe garbage\nmore garbage\n", "etc/waagent.conf")
    assert ctx.facts == []
    assert len(ctx.problems) == 1 and "2 lines are neither comments" in word(ctx.problems[0].message)


def test_sniff() -> None:
    assert sniff("x", SAMPLE.read_bytes()[:4096])
    assert not sniff("x", b"[SnapshotThread]\nfsfreeze: True\n")
