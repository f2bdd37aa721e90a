"""dhcp_lease on the WALinuxAgent lease samples and the lease variants of reference/linux-formats.md §3.12."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.api import parse_bundle
from parsers.state.dhcp_lease import decode_245, sniff
from tests.parsers.linux_helpers import LINUX, one, run_as
from tests.parsers.windows_helpers import facts

DHCP = LINUX / "dhcp"
WIRESERVER = "168.63.129.16"


def test_dhclient_sample_three_leases() -> None:
    events, ctx = run_as(DHCP / "dhclient.eth0.leases.sample", "var/lib/dhcp/dhclient.eth0.leases")
    assert events == [] and not ctx.problems
    leases = facts(ctx, "dhcp.lease")
    assert [(x["option_245"], x["expired"], x["expire"]) for x in leases] == [
        (WIRESERVER, False, None),  # expire 0 never;
        (WIRESERVER, None, "2015-06-16T16:58:54Z"),  # judged against the bundle's collection time, later
        (WIRESERVER, None, "2152-07-23T23:27:10Z")]
    assert {(x["interface"], x["fixed_address"]) for x in leases} == {("eth0", "10.0.1.4")}
    assert [f.line for f in ctx.facts] == [1, 20, 38]


def test_quoted_octal_245_and_epoch_expiry() -> None:
    text = (b'default-duid "\\000\\001\\000\\001\\034\\242";\n'
            b'lease {\n  interface "eth0";\n  fixed-address 10.1.0.4;\n'
            b'  option unknown-245 "\\250?\\201\\020";\n'
            b'  expire epoch 1434473934; # Tue Jun 16 16:58:54 2015\n}\n')
    _, ctx = run_as(text, "var/lib/dhclient/dhclient-eth0.leases")
    assert not ctx.problems
    assert one(ctx, "dhcp.lease") == {"interface": "eth0", "option_245": WIRESERVER, "expired": None,
                                      "expire": "2015-06-16T16:58:54Z", "fixed_address": "10.1.0.4"}


def test_lease_without_245_and_lease6_block() -> None:
    text = (b'lease {\n interface "eth0";\n fixed-address 10.0.0.4;\n expire 2 2152/01/01 00:00:00;\n}\n'
            b'lease6 {\n  interface "eth0";\n  ia-na 1a:2b:3c:4d {\n    starts 1704456000;\n  }\n}\n')
    _, ctx = run_as(text, "var/lib/dhcp/dhclient6.eth0.leases")
    assert not ctx.problems
    assert one(ctx, "dhcp.lease")["option_245"] is None


def test_systemd_networkd_sample() -> None:
    _, ctx = run_as(DHCP / "systemd-networkd-lease.sample", "run/systemd/netif/leases/2")
    assert not ctx.problems
    assert one(ctx, "dhcp.lease") == {"interface": "ifindex 2", "option_245": WIRESERVER, "expired": None,
                                      "expire": None, "fixed_address": "10.0.0.69"}


def test_networkmanager_internal_lease_without_245() -> None:
    text = b"# This is private data. Do not parse.\nADDRESS=10.0.0.5\nSERVER_ADDRESS=168.63.129.16\nLIFETIME=3600\n"
    _, ctx = run_as(text, "var/lib/NetworkManager/internal-0c1d2e3f-eth0.lease")
    assert not ctx.problems
    lease = one(ctx, "dhcp.lease")
    assert (lease["interface"], lease["option_245"], lease["fixed_address"]) == ("eth0", None, "10.0.0.5")


def test_wicked_lease_xml() -> None:
    text = (b"<lease>\n  <family>ipv4</family>\n  <type>dhcp</type>\n  <ipv4:dhcp>\n"
            b"    <server-id>168.63.129.16</server-id>\n    <address>10.0.0.4</address>\n"
            b"    <acquired>1528366013</acquired>\n    <lease-time>3600</lease-time>\n  </ipv4:dhcp>\n</lease>\n")
    _, ctx = run_as(text, "var/lib/wicked/lease-eth0-dhcp-ipv4.xml")
    assert not ctx.problems
    assert one(ctx, "dhcp.lease") == {"interface": "eth0", "option_245": None, "expired": None,
                                      "expire": "2018-06-07T11:06:53Z", "fixed_address": "10.0.0.4"}


def test_truncated_lease_file_keeps_complete_leases() -> None:
    data = (DHCP / "dhclient.eth0.leases.sample").read_bytes()
    _, ctx = run_as(data[:-100], "var/lib/dhcp/dhclient.eth0.leases")
    assert len(facts(ctx, "dhcp.lease")) == 2
    assert [p.line for p in ctx.problems] == [38]


@pytest.mark.parametrize("data", [b"\x00\xff\xfe\x9c garbage", b"lease { " * 3000,
                                  b"lease {\n option unknown-245 zz;\n}\n"])
def test_bad_input_is_a_problem(data: bytes) -> None:
    _, ctx = run_as(data, "var/lib/dhcp/dhclient.eth0.leases")
    assert ctx.problems


@pytest.mark.parametrize(("value", "ip"), [("a8:3f:81:10", WIRESERVER), ("a8:3f:1:10", "168.63.1.16"),
                                           ("a83f8110", WIRESERVER), ('"\\250?\\201\\020"', WIRESERVER),
                                           ("168.63.129.16", WIRESERVER), ("a8:3f:81", None), ('"ab"', None)])
def test_decode_245(value: str, ip: str | None) -> None:
    assert decode_245(value) == ip


def test_sniff() -> None:
    assert sniff("x", (DHCP / "dhclient.eth0.leases.sample").read_bytes())
    assert sniff("x", (DHCP / "systemd-networkd-lease.sample").read_bytes())
    assert not sniff("x", (LINUX / "config" / "waagent.conf.sample").read_bytes()[:4096])


@pytest.mark.parametrize(("expire", "newest_record", "expired"), [
    ("2030/01/01 00:00:00", "2031-01-01T00:00:00Z", True),  # expired at collection, though not yet today
    ("2020/01/01 00:00:00", "2019-12-31T23:00:00Z", False),  # valid at collection, though long gone today
    ("2020/01/01 00:00:00", None, None),  # a bundle with no dated record: unknown
])
@pytest.mark.parametrize("form", ["dhclient", "epoch"])
def test_expiry_is_judged_against_the_bundles_collection_time(tmp_path: Path, expire: str, newest_record: str | None,
                                                               expired: bool | None, form: str) -> None:
    when = datetime.strptime(expire, "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    line = f"expire 3 {expire};" if form == "dhclient" else f"expire epoch {int(when.timestamp())};"
    lease = tmp_path / "b" / "var" / "lib" / "dhcp" / "dhclient.eth0.leases"
    lease.parent.mkdir(parents=True)
    lease.write_text(f'lease {{\n  interface "eth0";\n  {line}\n}}\n')
    if newest_record is not None:
        log = tmp_path / "b" / "var" / "log" / "waagent.log"
        log.parent.mkdir(parents=True)
        log.write_text(f"{newest_record[:-1]}.000000Z INFO ExtHandler ExtHandler Agent WALinuxAgent-2.9.1.1 "
                       "is running as the goal state agent\n")
    analysis, _ = parse_bundle(tmp_path / "b")
    assert [f.value["expired"] for f in analysis.facts if f.name == "dhcp.lease"] == [expired]
