"""Every Linux reference sample, placed where a bundle holds it: recognized, parsed without problems,
and nothing secret in any output (facts, events, problems) — reference/secrets.md §5."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.sources import recognize_content, recognize_path
from tests.parsers.linux_helpers import LINUX, output_text
from tests.parsers.windows_helpers import run

LIB = "var/lib/waagent"
VMS = f"{LIB}/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9150.0"

# sample -> (member path in a bundle, values that must never come out)
PLACES: dict[str, tuple[str, tuple[str, ...]]] = {
    "wire/GoalState.1.sample.xml": (f"{LIB}/GoalState.1.xml", ()),
    "wire/ExtensionsConfig.9.sample.xml": (f"{LIB}/ExtensionsConfig.9.xml",
                                           ("hfRh7gzUE7sUtYwke78IOlZOrTRCYvkec4hGZ9zZzXo", "MIICWgYJK", "sig=",
                                            "MIInEAYJ")),
    "wire/ExtensionsConfig.redaction-sample.xml": (f"{LIB}/ExtensionsConfig.1.xml",
                                                   ("9ZzZZzZZZZ999zzz", "9ZzZZZ%2fZzz", "MIIC4AYJ", "sig=", "sk=")),
    "wire/HostingEnvironmentConfig.sample.xml": (f"{LIB}/HostingEnvironmentConfig.xml", ("AccountKey", "DNZQ")),
    "wire/SharedConfig.sample.xml": (f"{LIB}/SharedConfig.xml", ()),
    "wire/Certificates.sample.xml": (f"{LIB}/Certificates.xml", ("MIIOgwYJ", "945Z9MJiapzD3P33TvKhyQ0wHe5W0z4")),
    "wire/ovf-env.sample.xml": (f"{LIB}/ovf-env.xml", ("UserPassword", "CustomData", "AAAANOTAREALKEY")),
    "wire/ExtensionManifest.sample.manifest.xml": (f"{LIB}/OSTCExtensions.ExampleHandlerLinux.1.manifest.xml", ()),
    "wire/Prod.agentsManifest.sample.xml": (f"{LIB}/Prod.1.agentsManifest", ()),
    "wire/InVMArtifactsProfile.sample.json": (f"{LIB}/history/2022-04-19T21-03-01__1/InVMArtifactsProfile.json", ()),
    "hostgaplugin/VmSettings.sample.json": (f"{LIB}/history/2022-04-19T21-03-01__1-e/VmSettings.json",
                                            ("KNWgC2", "sig=", "MIIBsAYJ", "cee174d4", "4abb1e88")),
    "hostgaplugin/Certificates.history.sample.json": (f"{LIB}/history/2022-04-19T21-03-01__1/Certificates.json", ()),
    "extension/0.settings.sample": (f"{VMS}/config/0.settings", ("MIIByAYJ",)),
    "extension/HandlerEnvironment.sample.json": (f"{LIB}/VMAccess-1.0/HandlerEnvironment.json", ()),
    "extension/VMSnapshot-like.0.status.sample.json": (f"{VMS}/status/0.status", ("md-rvr1sst1m0s0", "snapshotUri")),
    "dhcp/dhclient.eth0.leases.sample": ("var/lib/dhcp/dhclient.eth0.leases", ()),
    "dhcp/systemd-networkd-lease.sample": ("run/systemd/netif/leases/2", ()),
    "config/waagent.conf.sample": ("etc/waagent.conf", ()),
    "vmsnapshot/vmbackup.conf.sample": ("etc/azure/vmbackup.conf", ()),
    "vmsnapshot/VMSnapshotScriptPluginConfig.sample.json": ("etc/azure/VMSnapshotScriptPluginConfig.json",
                                                            ("preScriptParams",)),
    "vmsnapshot/HandlerManifest.json": (f"{VMS}/HandlerManifest.json", ()),
    "vmsnapshot/manifest.xml": ("VMBackup/manifest.xml", ()),
}
# logrotate configurations: no state or configuration of the agent's behaviour, read by no parser
NOT_STATE = {"SOURCES.md", "config/waagent.logrotate.sample", "config/waagent-extn.logrotate.2.2.46-sample"}
MINE = {"wire_xml", "agent_state", "extension_state", "collector_results", "waagent_conf", "vmbackup_conf",
        "dhcp_lease", "host_info"}


def test_every_linux_sample_has_a_place(refdata: Path) -> None:
    on_disk = {str(p.relative_to(LINUX)) for p in LINUX.rglob("*") if p.is_file()}
    assert on_disk - NOT_STATE == set(PLACES)


@pytest.mark.parametrize("sample", sorted(PLACES))
def test_sample_parses_cleanly_and_leaks_nothing(sample: str) -> None:
    path, secrets = PLACES[sample]
    data = (LINUX / sample).read_bytes()
    rec = recognize_path(path) or recognize_content(path, data[:4096])  # by path, else by content sniff
    assert rec is not None and rec.parser in MINE
    events, ctx = run(rec.parser, data, path)
    assert not ctx.problems, ctx.problems
    assert ctx.facts
    text = output_text(events, ctx)
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked from {sample}"
