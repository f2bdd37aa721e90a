"""Linux network configuration: netplan, ifcfg, NetworkManager keyfiles and /etc/network/interfaces say whether an
interface asks DHCP for its address (linux-formats §1.1 "full" manifest); a static one is DHCP_FAILURE evidence
only beside the agent's own DHCP or fabric failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.sources import recognize_path
from tests.parsers.linux_render import record
from tests.parsers.windows_helpers import run

NETPLAN = """# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    version: 2
    ethernets:
        eth0:
            dhcp4: {dhcp}
            addresses: [10.40.2.9/24]
            gateway4: 10.40.2.1
            nameservers:
                addresses: [10.40.0.4, 10.40.0.5]
            match:
                macaddress: 00:0d:3a:2b:11:8e
            set-name: eth0
        eth1:
            dhcp4: true
"""
IFCFG = 'DEVICE=eth0\nONBOOT=yes\nBOOTPROTO={proto}\nIPADDR=10.40.2.9\nNETMASK=255.255.255.0\nTYPE=Ethernet\n'
KEYFILE = "[connection]\nid=System eth0\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\naddress1=10.40.2.9/24\n" \
          "method={method}\n\n[ipv6]\nmethod=ignore\n"
INTERFACES = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet {mode}\n    address 10.40.2.9\n"

# (member path, content, static?) in every format and spelling
CONFIGS = [
    ("etc/netplan/50-cloud-init.yaml", NETPLAN.format(dhcp="false"), True),
    ("etc/netplan/50-cloud-init.yaml", NETPLAN.format(dhcp="no"), True),
    ("etc/netplan/01-netcfg.yaml", NETPLAN.format(dhcp="true").replace("    ", "  "), False),
    ("etc/sysconfig/network-scripts/ifcfg-eth0", IFCFG.format(proto="none"), True),
    ("etc/sysconfig/network-scripts/ifcfg-eth0", IFCFG.format(proto='"static"'), True),
    ("etc/sysconfig/network/ifcfg-eth0", IFCFG.format(proto="dhcp").replace("\n", "\r\n"), False),
    ("etc/NetworkManager/system-connections/eth0.nmconnection", KEYFILE.format(method="manual"), True),
    ("etc/NetworkManager/system-connections/eth0.nmconnection", KEYFILE.format(method="auto"), False),
    ("etc/network/interfaces", INTERFACES.format(mode="static"), True),
    ("etc/network/interfaces", INTERFACES.format(mode="dhcp"), False),
]


@pytest.mark.parametrize(("path", "content", "static"), CONFIGS, ids=[f"{c[0]}-{c[2]}" for c in CONFIGS])
def test_each_format_says_whether_eth0_uses_dhcp(path: str, content: str, static: bool) -> None:
    found_by = recognize_path(path)
    assert found_by is not None and found_by.parser == "network_config"
    _, ctx = run("network_config", content.encode(), path)
    found = {f.value["interface"]: f for f in ctx.facts if f.name == "dhcp.enabled"}
    assert found["eth0"].value["enabled"] is not static and "lo" not in found
    assert found["eth0"].line is not None and not ctx.problems


T0 = datetime(2024, 6, 10, 2, 0)
DHCP_FAILING = [record("Protocol endpoint not found: WireProtocol, [ProtocolError] [DhcpError] Failed to receive dhcp "
                       "response.", "INFO", "G4", T0 + timedelta(seconds=10 * k), "Daemon") for k in range(8)]
HEALTHY = [record("Enable extension: [main/handle.sh enable]", "INFO", "G4", T0,
                  "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9220.0]")]
SNAP = ["2024-06-10 02:00:02.000000 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]starting enable",
        "2024-06-10 02:00:09.000000 [Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]T:S snapshotall ends..."]


@pytest.mark.parametrize(("path", "content", "static"), [c for c in CONFIGS if c[2]],
                         ids=[c[0] for c in CONFIGS if c[2]])
@pytest.mark.parametrize("failing", [True, False])
def test_a_static_address_is_evidence_only_beside_the_agents_dhcp_failure(tmp_path: Path, path: str, content: str,
                                                                          static: bool, failing: bool) -> None:
    files = {path: content, "var/log/waagent.log": "\n".join(DHCP_FAILING if failing else HEALTHY) + "\n"}
    if not failing:
        files["var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log"] = "\n".join(SNAP) + "\n"
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    report = analyze(tmp_path)
    dhcp = next((f for f in report.findings if f.id == "DHCP_FAILURE"), None)
    if not failing:  # a static address alone proves nothing: the VM backs up fine
        assert dhcp is None and report.verdict.status == "healthy"
        return
    assert dhcp is not None and report.verdict.root_cause == "DHCP_FAILURE"
    config = [e for e in dhcp.evidence if e.message is not None and e.message.key == "evidence.dhcp_off_in_config"]
    assert config and config[0].path == path and config[0].message.params["interface"] == "eth0"
