"""Linux network configuration: does an interface get its address from DHCP or a static one?

Azure hands the VM its address and the WireServer's (option 245) over DHCP; a static address configured in
the guest cuts that off once the lease runs out (the seed: keep DHCP enabled in the guest). The "full"
collect-logs manifest and disk-inspect copy these files (linux-formats §1.1, §1.2 b). Four formats:

* netplan (``/etc/netplan/*.yaml``), one indentation-scoped block per interface::

      network:
        ethernets:
          eth0:
            dhcp4: false
            addresses: [10.0.1.4/24]

* ifcfg (``/etc/sysconfig/network-scripts/ifcfg-eth0``, SUSE ``/etc/sysconfig/network/ifcfg-eth0``):
  ``BOOTPROTO=none`` / ``static`` (no DHCP) or ``dhcp``;
* NetworkManager keyfiles (``/etc/NetworkManager/system-connections/*.nmconnection``): ``[ipv4]`` ``method=manual``
  or ``auto``, the interface from ``interface-name=``;
* Debian ``/etc/network/interfaces``: ``iface eth0 inet static`` or ``inet dhcp``.

Each configured interface gives a ``dhcp.enabled`` fact ``{interface, enabled, config}`` (``config``: netplan,
ifcfg, networkmanager, interfaces) on the line that says so; the loopback is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines

_NO = ("false", "no", "off", "n", "0")
_YES = ("true", "yes", "on", "y", "1")
_KEY_VALUE = re.compile(r"([\w-]+)\s*[:=]\s*(.*)")
_IFACE = re.compile(r"iface\s+(\S+)\s+inet\s+(\w+)")
_LOOPBACK = ("lo", "loopback")


def _fact(ctx: ParseContext, interface: str, enabled: bool, config: str, line: int, text: str) -> None:
    if interface not in _LOOPBACK:
        ctx.fact("dhcp.enabled", {"interface": interface, "enabled": enabled, "config": config}, line=line,
                 text=text.strip()[:200])


def _value(raw: str) -> str:
    return raw.split("#", 1)[0].strip().strip("\"'").lower()


def _netplan(stream: BinaryIO, ctx: ParseContext) -> None:
    """Interfaces are the keys one level below ``ethernets:`` (or ``bonds:``, ``vlans:``, ...)."""
    group_indent: int | None = None  # indentation of the ethernets:/bonds: key
    iface: tuple[str, int] | None = None  # (name, indentation)
    for n, raw in iter_lines(stream, ctx):
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(" "))
        key, _, rest = text.strip().partition(":")
        if group_indent is not None and indent <= group_indent:
            group_indent, iface = None, None
        if key in ("ethernets", "bonds", "vlans", "bridges", "wifis") and not rest.strip():
            group_indent, iface = indent, None
            continue
        if group_indent is None:
            continue
        if iface is None or indent <= iface[1]:
            iface = (key.strip("\"'"), indent) if not rest.strip() else None
            continue
        if key == "dhcp4":
            value = _value(rest)
            if value in _NO or value in _YES:
                _fact(ctx, iface[0], value in _YES, "netplan", n, raw)


def _ifcfg(stream: BinaryIO, ctx: ParseContext) -> None:
    name = ctx.path.rsplit("/", 1)[-1]
    device = name[len("ifcfg-"):] if name.lower().startswith("ifcfg-") else name
    proto: tuple[str, int, str] | None = None
    for n, raw in iter_lines(stream, ctx):
        m = _KEY_VALUE.fullmatch(raw.strip())
        if m is None:
            continue
        key, value = m.group(1).upper(), _value(m.group(2))
        if key == "DEVICE" and value:
            device = value
        elif key == "BOOTPROTO":
            proto = (value, n, raw)
    if proto is not None and proto[0] in ("none", "static", "dhcp", "dhcp4", "bootp"):
        _fact(ctx, device, proto[0] != "none" and proto[0] != "static", "ifcfg", proto[1], proto[2])


def _keyfile(stream: BinaryIO, ctx: ParseContext) -> None:
    section, device = "", ""
    method: tuple[str, int, str] | None = None
    for n, raw in iter_lines(stream, ctx):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        m = _KEY_VALUE.fullmatch(line)
        if m is None:
            continue
        if section == "connection" and m.group(1) == "interface-name":
            device = _value(m.group(2))
        elif section == "ipv4" and m.group(1) == "method":
            method = (_value(m.group(2)), n, raw)
    if method is not None and method[0] in ("manual", "auto"):
        _fact(ctx, device or ctx.path.rsplit("/", 1)[-1], method[0] == "auto", "networkmanager", method[1],
              method[2])


def _interfaces(stream: BinaryIO, ctx: ParseContext) -> None:
    for n, raw in iter_lines(stream, ctx):
        m = _IFACE.match(raw.strip())
        if m is not None and m.group(2) in ("static", "manual", "dhcp"):
            _fact(ctx, m.group(1), m.group(2) == "dhcp", "interfaces", n, raw)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    path = ctx.path.replace("\\", "/").lower()
    name = path.rsplit("/", 1)[-1]
    if name.startswith("ifcfg-"):
        _ifcfg(stream, ctx)
    elif "system-connections/" in path or name.endswith(".nmconnection"):
        _keyfile(stream, ctx)
    elif "/network/interfaces" in f"/{path}":
        _interfaces(stream, ctx)
    else:
        _netplan(stream, ctx)
    yield from ()  # configuration carries no timed records


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return "ethernets:" in text and "network:" in text


PARSER = Parser(name="network_config", parse=parse, sniff=sniff,
                description="netplan, ifcfg, NetworkManager keyfile and /etc/network/interfaces (DHCP or static)")
