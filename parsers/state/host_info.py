"""Who the host is: distribution, host name, Windows time zone (Linux files, sos IMDS JSON, Windows ``systeminfo``).

* ``/etc/os-release`` (``ID=ubuntu`` + ``VERSION_ID="18.04"`` -> ``host.distro`` = ``ubuntu 18.04``),
  ``/etc/lsb-release``, one-line ``/etc/redhat-release`` and other ``*-release`` files;
* ``/etc/hostname`` -> ``host.name`` (the time zone files are :mod:`parsers.state.time_zone`'s);
* ``sos_commands/azure/instance_metadata.json`` -> ``azure.vm`` and ``host.name``;
* Windows ``systeminfo``: ``Host Name:``, ``OS Name:``, ``Time Zone:  (UTC+01:00) Amsterdam, Berlin, ...``; the
  display name is turned into its IANA zone (``Europe/Berlin``), since its offset is the standard one (an hour
  off in summer); an unknown display name gives that standard offset as ``tz.utc_offset_minutes``. On a Windows
  in another language the zone line is told by its value and the host and OS names by their places.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from parsers._structured import load_json, read_state
from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_events._zones import iana_zone

_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}")
_WIN_TZ = re.compile(r"\(UTC(?:([+-])(\d{1,2}):(\d{2}))?\)")
_SYSTEMINFO = {"host name": "host.name", "os name": "host.distro", "time zone": "host.timezone"}


def _first_line(data: bytes) -> tuple[int, str] | None:
    for n, raw in enumerate(data.decode("utf-8", "replace").lstrip("\ufeff").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            return n, line
    return None


def _release(data: bytes, name: str, ctx: ParseContext) -> None:
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.strip().startswith("#"):
            values[key.strip()] = value.strip().strip("\"'")
    if values.get("ID") or values.get("DISTRIB_ID"):
        distro = values.get("ID") or values.get("DISTRIB_ID", "")
        version = values.get("VERSION_ID") or values.get("DISTRIB_RELEASE", "")
        ctx.fact("host.distro", f"{distro.lower()} {version}".strip()[:100], line=1, text=values.get("PRETTY_NAME", ""))
        return
    first = _first_line(data)
    if first is not None and re.search(r"\d", first[1]) and len(first[1]) < 200:
        ctx.fact("host.distro", first[1], line=first[0])
    else:
        ctx.problem("problem.no_distribution", file=name)


def _hostname(data: bytes, ctx: ParseContext) -> None:
    first = _first_line(data)
    if first is not None and _HOSTNAME.fullmatch(first[1]):
        ctx.fact("host.name", first[1], line=first[0])
    else:
        ctx.problem("problem.no_host_name")


def _imds(doc: Any, ctx: ParseContext) -> None:
    compute = doc.get("compute", doc) if isinstance(doc, dict) else None
    if not isinstance(compute, dict) or not (compute.get("vmId") or compute.get("name")):
        ctx.problem("problem.imds_no_compute")
        return
    keys = {"name": "name", "vm_id": "vmId", "location": "location", "vm_size": "vmSize", "os_type": "osType",
            "subscription_id": "subscriptionId", "resource_group": "resourceGroupName"}
    ctx.fact("azure.vm", {ours: str(compute[theirs])[:200] if isinstance(compute.get(theirs), (str, int)) else None
                          for ours, theirs in keys.items()})
    profile = compute.get("osProfile")
    computer = profile.get("computerName") if isinstance(profile, dict) else None
    if isinstance(computer, str) and _HOSTNAME.fullmatch(computer):
        ctx.fact("host.name", computer, text="IMDS osProfile.computerName")


def _systeminfo(stream: BinaryIO, ctx: ParseContext) -> None:
    """The English labels, or on a Windows in another language (``タイム ゾーン: (UTC+09:00) 大阪、札幌、東京``) the
    value that says what it is (a ``(UTC+hh:mm)`` zone) and the fixed order of the first two lines (host, OS)."""
    seen = False
    first: list[tuple[int, str, str]] = []  # the first two labelled lines: host name and OS name in any language
    for n, line in iter_lines(stream, ctx):
        key, sep, value = line.partition(":")
        value = value.strip()
        if not sep or not value:
            continue
        if len(first) < 2:
            first.append((n, value, line))
        fact = _SYSTEMINFO.get(key.strip().lower())
        if fact is None and _WIN_TZ.match(value):
            fact = "host.timezone"  # its label in the OS's language
        if fact is None:
            continue
        seen = seen or fact != "host.timezone" or key.strip().lower() == "time zone"
        _systeminfo_fact(ctx, fact, value, n, line)
    if not seen and len(first) == 2 and _HOSTNAME.fullmatch(first[0][1]):  # labels in another language
        for fact, (n, value, line) in zip(("host.name", "host.distro"), first, strict=True):
            _systeminfo_fact(ctx, fact, value, n, line)
        seen = True
    if not seen and not any(f.name == "host.timezone" for f in ctx.facts):
        ctx.problem("problem.systeminfo_empty", lines="Host Name, OS Name, Time Zone")


def _systeminfo_fact(ctx: ParseContext, fact: str, value: str, n: int, line: str) -> None:
    zone = iana_zone(value) if fact == "host.timezone" else None
    ctx.fact(fact, zone or value[:200], line=n, text=line.strip()[:200])
    m = _WIN_TZ.match(value) if fact == "host.timezone" and zone is None else None
    if m:  # a zone the table does not know (or named in another language): its standard offset is better than none
        sign = -1 if m.group(1) == "-" else 1
        ctx.fact("tz.utc_offset_minutes", sign * (int(m.group(2) or 0) * 60 + int(m.group(3) or 0)), line=n,
                 text=value[:200])


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    name = ctx.path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name.startswith("systeminfo"):
        _systeminfo(stream, ctx)
    elif name == "hostname":
        _hostname(read_state(stream, ctx), ctx)
    elif name.endswith(".json"):
        doc = load_json(read_state(stream, ctx), ctx)
        if doc is not None:
            _imds(doc, ctx)
    elif name.endswith("-release") or name.endswith("_version"):
        _release(read_state(stream, ctx), name, ctx)
    else:  # recognized by content
        data = read_state(stream, ctx)
        text = head_text(data[:4096])
        if "Host Name:" in text:
            _systeminfo(io.BytesIO(data), ctx)
        else:
            _release(data, name, ctx)
    yield from ()  # host facts only


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return ("Host Name:" in text and "OS Name:" in text) or bool(re.search(r"^VERSION_ID=", text, re.MULTILINE))


PARSER = Parser(name="host_info", parse=parse, sniff=sniff,
                description="os-release, hostname, IMDS instance metadata, Windows systeminfo")
