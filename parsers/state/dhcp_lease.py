"""DHCP leases: where the VM learnt the WireServer address (option 245) and whether the lease still holds.

* ISC dhclient (``/var/lib/dhcp/dhclient.eth0.leases``, ``/var/lib/dhclient/*.lease*``): ``lease { ... }``
  blocks read with a pyparsing grammar. Option 245 is printed as hex or, when its bytes look
  printable, as a quoted string with octal escapes::

      option unknown-245 a8:3f:81:10;
      option unknown-245 "\\250?\\201\\020";
      expire 4 2015/06/16 16:58:54;        (UTC)   expire 0 never;   expire epoch 1434473934; # ...

* systemd-networkd (``/run/systemd/netif/leases/<ifindex>``) and the NetworkManager internal client:
  ``KEY=value`` lines, ``OPTION_245=a83f8110``;
* SUSE wicked (``/var/lib/wicked/lease-eth0-dhcp-ipv4.xml``): address, acquisition time and lease time
  (its option 245 layout is unverified: any element named after 245 or an ``option`` with code 245).

Each lease gives a ``dhcp.lease`` fact with its ``expire`` time. Whether it had expired is a question
about the bundle's collection time, which a parser of one member cannot know: ``expired`` is False for
``expire never`` and None otherwise, and the pipeline judges it once the bundle is read
(:func:`analyzer.clock.judge_leases`); the wall clock of the analysis never decides it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO

from parsers._structured import as_int, parse_xml, read_state
from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, sniff_encoding

if TYPE_CHECKING:  # pyparsing is imported when a lease file is read: sniffing a member does without it
    import pyparsing as pp

_MAX_TEXT = 4 * 1024 * 1024


@cache
def _grammar() -> pp.ParserElement:
    import pyparsing as pp

    quoted = pp.Regex(r'"(?:[^"\\\n]|\\.)*"')
    word = pp.Regex(r'[^\s;{}"#]+')
    token = quoted | word
    block = pp.Forward()
    statement = pp.Group(pp.OneOrMore(token) + pp.Suppress(";"))
    body = pp.Group(pp.ZeroOrMore(block | statement))
    block <<= pp.Group(pp.Located(pp.Group(pp.OneOrMore(token)) + pp.Suppress("{") + body + pp.Suppress("}")))
    document = pp.ZeroOrMore(block | statement)
    document.ignore(pp.Regex(r"#[^\n]*"))
    return document


def _unquote(token: str) -> bytes:
    """dhclient's quoted form: printable bytes as themselves, others as ``\\ooo`` octal escapes."""
    out = bytearray()
    body, i = token[1:-1], 0
    while i < len(body):
        if body[i] == "\\" and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
        elif body[i] == "\\" and i + 1 < len(body):
            out.extend(body[i + 1].encode("latin-1", "replace"))
            i += 2
        else:
            out.extend(body[i].encode("latin-1", "replace"))
            i += 1
    return bytes(out)


def decode_245(value: str) -> str | None:
    """Option 245 as dotted IPv4 from hex (``a8:3f:81:10``, ``a83f8110``), a quoted string or an address."""
    value = value.strip()
    raw: bytes | None = None
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        raw = _unquote(value)
    elif re.fullmatch(r"[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){3}", value):
        raw = bytes(int(part, 16) for part in value.split(":"))
    elif re.fullmatch(r"[0-9A-Fa-f]{8}", value):
        raw = bytes.fromhex(value)
    else:
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            return None
    return str(ipaddress.IPv4Address(raw)) if len(raw) == 4 else None


def _lease(interface: str | None, option_245: str | None, expire: datetime | None, never: bool,
           fixed_address: str | None) -> dict[str, Any]:
    return {"interface": interface, "option_245": option_245, "expired": False if never else None,
            "expire": expire.isoformat().replace("+00:00", "Z") if expire else None, "fixed_address": fixed_address}


def _expire(words: list[str]) -> tuple[datetime | None, bool]:
    """(time, never) of ``expire <weekday> YYYY/MM/DD HH:MM:SS`` / ``expire 0 never`` / ``expire epoch N``."""
    if words[-1:] == ["never"]:
        return None, True
    try:
        if len(words) >= 2 and words[0] == "epoch":
            return datetime.fromtimestamp(int(words[1]), UTC), False
        if len(words) >= 3:
            return datetime.strptime(f"{words[1]} {words[2]}", "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC), False
    except (ValueError, OverflowError, OSError):
        pass
    return None, False


def _dhclient(text: str, ctx: ParseContext) -> None:
    import pyparsing as pp

    document = _grammar()
    try:
        try:
            items = document.parse_string(text, parse_all=True)
        except pp.ParseBaseException as exc:  # e.g. truncated: keep the complete leases before the damage
            ctx.problem("problem.dhclient_unreadable", exc.lineno, after=exc.lineno, error=exc.msg)
            items = document.parse_string(text)
    except RecursionError:
        ctx.problem("problem.dhclient_too_deep")
        return
    for item in items:
        if len(item) != 3 or not isinstance(item[0], int):
            continue  # a top-level statement (default-duid ...)
        start, content = item[0], item[1]
        header, body = list(content[0]), content[1]
        if header != ["lease"]:
            continue  # lease6 and other blocks carry no IPv4 option 245
        fields: dict[str, list[str]] = {}
        for stmt in body:
            words = [w for w in stmt if isinstance(w, str)]
            if words and words[0] == "option" and len(words) >= 3:
                fields[f"option {words[1]}"] = words[2:]
            elif words:
                fields[words[0]] = words[1:]
        line = pp.lineno(start, text)
        option = fields.get("option unknown-245")
        value = decode_245(" ".join(option)) if option else None
        if option and value is None:
            ctx.problem("problem.option_245_not_ipv4", line)
        expire, never = _expire(fields.get("expire", []))
        iface = fields.get("interface", [None])[0]
        fixed = fields.get("fixed-address", [None])[0]
        ctx.fact("dhcp.lease", _lease(iface.strip('"') if iface else None, value, expire, never, fixed), line=line)


def _key_value(text: str, ctx: ParseContext) -> None:
    """systemd-networkd / NetworkManager internal lease: ``KEY=value`` lines."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    if not values.keys() & {"ADDRESS", "OPTION_245", "SERVER_ADDRESS", "LIFETIME"}:
        ctx.problem("problem.lease_no_keys", keys="ADDRESS, SERVER_ADDRESS, OPTION_245")
        return
    value = decode_245(values["OPTION_245"]) if "OPTION_245" in values else None
    if "OPTION_245" in values and value is None:
        ctx.problem("problem.option_245_not_ipv4")
    name = ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    m = re.search(r"-([^-/]+)\.lease$", name)
    iface = m.group(1) if m else (f"ifindex {name}" if name.isdigit() else None)
    ctx.fact("dhcp.lease", _lease(iface, value, None, False, values.get("ADDRESS")), line=1)


def _wicked(data: bytes, ctx: ParseContext) -> None:
    root = parse_xml(data, ctx, drop_prefixes=True)
    if root is None:
        return
    option = None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("unknown-245", "option-245") and el.text:
            option = el.text.strip()
        elif el.tag == "option" and (el.findtext("code") or "").strip() == "245":
            option = (el.findtext("data") or el.findtext("value") or "").strip()
    value = decode_245(option) if option else None
    if option and value is None:
        ctx.problem("problem.option_245_not_ipv4")
    acquired, lease_time = as_int(root.findtext(".//acquired")), as_int(root.findtext(".//lease-time"))
    expire = None
    if acquired is not None and lease_time is not None and lease_time < 0xFFFFFFFF:
        try:
            expire = datetime.fromtimestamp(acquired, UTC) + timedelta(seconds=lease_time)
        except (OverflowError, OSError, ValueError):
            ctx.problem("problem.lease_time_out_of_range")
    iface = re.search(r"lease-([^-/]+)-dhcp", ctx.path)
    ctx.fact("dhcp.lease", _lease(iface.group(1) if iface else None, value, expire, lease_time == 0xFFFFFFFF,
                                  (root.findtext(".//address") or "").strip() or None), line=1)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    data = read_state(stream, ctx)[:_MAX_TEXT]
    text = data.decode(sniff_encoding(data[:4096]), "replace").lstrip("\ufeff")
    head = text.lstrip()
    if head.startswith("<"):
        _wicked(data, ctx)
    elif re.search(r"^\s*(?:lease6?|default-duid|server-duid)\b", text, re.MULTILINE):
        _dhclient(text, ctx)
    elif re.search(r"^[A-Z0-9_]+=", text, re.MULTILINE):
        _key_value(text, ctx)
    elif head:
        ctx.problem("problem.lease_unknown_format")
    yield from ()  # leases carry expiry times, not events


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return ("lease {" in text or "OPTION_245=" in text or ("SERVER_ADDRESS=" in text and "LIFETIME=" in text)
            or ("<lease" in text and "dhcp" in text))


PARSER = Parser(name="dhcp_lease", parse=parse, sniff=sniff,
                description="dhclient, systemd-networkd, NetworkManager and wicked DHCP leases (option 245)")
