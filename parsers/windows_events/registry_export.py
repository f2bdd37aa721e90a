"""Registry exports: regedit / ``reg export`` ``.reg`` files (UTF-16LE with BOM, or ANSI ``REGEDIT4``) and
``reg query`` output pasted into tickets.

A ``.reg`` file, as regedit writes it::

    Windows Registry Editor Version 5.00

    [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]
    "USEVSSCOPYBACKUP"="TRUE"

    [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\IaaSVmProvider]
    "Start"=dword:00000004
    "ImagePath"=hex(2):43,00,3a,00,5c,00,...,\\
      00,00

and ``reg query``: ``HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent`` then
``    USEVSSCOPYBACKUP    REG_SZ    TRUE``. Each logical line (backslash continuations and multi-line
strings joined) is read with a pyparsing grammar. Only the keys detectors use become facts:
``registry.bcdr`` (BcdrAgent, BcdrAgentPersistentKeys), ``service.start_type`` (``Services\\<name>\\Start``
in CurrentControlSet or ControlSet00N), ``dhcp.enabled`` (``Tcpip\\Parameters\\Interfaces\\{GUID}``),
``host.timezone`` (the IANA zone of ``TimeZoneKeyName``, so that daylight saving is applied by date) and
``tz.utc_offset_minutes`` when the key name is unknown (``TimeZoneInformation``: Bias is minutes west of UTC,
ActiveTimeBias the bias in force when exported, daylight saving included) and ``sql.present``. Keys are
matched by suffix, so exports of offline hives (``HKLM\\TempHive\\ControlSet001\\...``) work too.
A registry export has no times: the parser yields no events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import MAX_LINE, head_text, iter_lines
from parsers.windows_events._records import start_type
from parsers.windows_events._zones import iana_zone

if TYPE_CHECKING:
    import pyparsing as pp

# --- grammar -----------------------------------------------------------------------------------


@cache
def grammar() -> tuple[pp.ParserElement, pp.ParserElement]:
    """The grammars of a key line and of a value line, built when a registry export is first read (pyparsing is
    imported then: sniffing a member does without it)."""
    import pyparsing as pp

    hexbyte = pp.Regex(r"[0-9a-fA-F]{1,2}")
    key_line = (pp.Suppress("[") + pp.Optional(pp.Literal("-"))("delete") + pp.Regex(r"[^\]]+")("path")
                + pp.Suppress("]"))
    name = pp.Literal("@") | pp.QuotedString('"', esc_char="\\", multiline=True)
    string = pp.QuotedString('"', esc_char="\\", multiline=True)("string")
    dword = pp.Suppress(pp.CaselessLiteral("dword:")) + pp.Regex(r"[0-9a-fA-F]{1,8}")("dword")
    hex_ = (pp.Suppress(pp.CaselessLiteral("hex")) + pp.Optional(pp.Suppress("(") + pp.Regex(r"[0-9a-fA-F]+")("type")
                                                                 + pp.Suppress(")"))
            + pp.Suppress(":") + pp.Group(pp.Optional(pp.DelimitedList(hexbyte)))("hex"))
    value_line = (name("name") + pp.Suppress("=")
                  + (pp.Literal("-")("delete") | string | dword | hex_) + pp.Optional(pp.Regex(r";.*")).suppress())
    return key_line, value_line

# possessive runs and a run-start lookbehind keep this linear: the plain form backtracked cubically (a line
# of 4000 spaces took 98 s); the only difference is that an empty value name no longer matches
REG_QUERY_VALUE = re.compile(r"^ {2,}+(?P<name>.*?)(?<! ) {2,}+(?P<type>REG_[A-Z_]+)(?: {2,}(?P<data>.*))?$")
# the lines regedit writes most (a string, dword or hex value; only \\ and \" escaped) are read without the grammar
_PLAIN_VALUE = re.compile(r'(?:"((?:[^"\\]|\\[\\"])*+)"|(@))=(?:"((?:[^"\\]|\\[\\"])*+)"|dword:([0-9a-fA-F]{1,8})'
                          r"|hex(?:\(([0-9a-fA-F]{1,8})\))?:[ \t]*+"
                          r"((?:[0-9a-fA-F]{1,2}(?:[ \t]*+,[ \t]*+[0-9a-fA-F]{1,2})*+)?))[ \t]*+", re.I)
_UNESCAPE = re.compile(r'\\([\\"])')
_HIVE = re.compile(r"^(HKEY_[A-Z_]+|HKLM|HKCU|HKCR|HKU)(\\|$)", re.I)
MAX_PROBLEMS = 50

# --- keys of interest ----------------------------------------------------------------------------
_BCDR = re.compile(r"(?:^|\\)microsoft\\(bcdragent(?:persistentkeys)?)$", re.I)
_SERVICE = re.compile(r"(?:^|\\)(?:currentcontrolset|controlset\d{3})\\services\\([^\\]+)$", re.I)
_INTERFACE = re.compile(r"\\services\\tcpip\\parameters\\interfaces\\(\{[^\\}]+\})$", re.I)
_TIMEZONE = re.compile(r"(?:^|\\)control\\timezoneinformation$", re.I)
_SQL_KEY = re.compile(r"\\microsoft sql server(?:\\|$)|\\services\\(?:mssqlserver|sqlwriter|mssql\$[^\\]+)$", re.I)


def _signed(n: int) -> int:
    return n - (1 << 32) if n >= 1 << 31 else n


def decode_value(tokens: pp.ParseResults | dict[str, Any], ansi: bool) -> Any:
    """The data of a parsed value line: str, int (dword, qword), list (multi_sz) or hex string (binary)."""
    if "string" in tokens:
        return tokens["string"]
    if "dword" in tokens:
        return int(tokens["dword"], 16)
    raw = bytes(int(b, 16) for b in tokens["hex"])
    kind = int(tokens.get("type", "3"), 16)
    if kind in (2, 7, 1):  # REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
        text = raw.decode("latin-1" if ansi else "utf-16-le", "replace")
        parts = text.split("\x00")
        return [p for p in parts if p] if kind == 7 else parts[0]
    if kind in (4, 11) and len(raw) in (4, 8):  # REG_DWORD, REG_QWORD, little-endian
        return int.from_bytes(raw, "little")
    return raw.hex()


def _reg_query_data(kind: str, data: str) -> Any:
    if kind in ("REG_DWORD", "REG_QWORD"):
        try:
            return int(data, 0)
        except ValueError:
            return data
    if kind == "REG_MULTI_SZ":
        return [p for p in data.split("\\0") if p]
    return data


class _Quotes:
    """Whether the text fed so far ends inside a double-quoted string (a REG_SZ holding a newline); fed piece by
    piece, so joining a value's lines costs their length once, not once per line."""

    def __init__(self) -> None:
        self.inside = self.escaped = False

    def feed(self, text: str) -> None:
        if not self.inside and '"' not in text:
            return
        for ch in text:
            if self.escaped:
                self.escaped = False
            elif ch == "\\" and self.inside:
                self.escaped = True
            elif ch == '"':
                self.inside = not self.inside


def logical_lines(lines: Iterator[tuple[int, str]],
                  max_chars: int = MAX_LINE) -> Iterator[tuple[int, str, bool]]:
    """Join backslash continuations and strings that run over several lines; keep the first line number.

    Yields (first line, text, cut): a logical line longer than ``max_chars`` is cut there (``cut`` is true) and
    its further lines are only followed to find where it ends, so a value continued over a million lines costs
    linear time and bounded memory."""
    parts: list[str] = []
    start = size = lines_joined = 0
    tail = ""  # the end of the logical line so far: does it end with a continuation backslash?
    quotes = _Quotes()
    for number, text in lines:
        if not lines_joined:
            start, size, parts, tail, quotes = number, 0, [], "", _Quotes()
            piece = text
        elif tail.endswith("\\") and not quotes.inside:
            tail = tail[:-1]
            if parts and size <= max_chars:
                parts[-1] = parts[-1][:-1]
                size -= 1
            piece = text.lstrip()
        else:
            piece = "\n" + text
        lines_joined += 1
        quotes.feed(piece)
        tail = (tail + piece)[-256:]
        if size < max_chars:
            parts.append(piece[: max_chars - size])
        size += len(piece)
        if tail.rstrip().endswith("\\") or quotes.inside:
            continue
        yield start, "".join(parts), size > max_chars
        lines_joined = 0
    if lines_joined:
        yield start, "".join(parts), size > max_chars


class _Facts:
    """Turns (key, name, value) into the facts detectors read."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.sql_seen = False
        self.tz: dict[str, Any] = {}
        self.tz_line = 0

    def key(self, path: str, line: int) -> None:
        if not self.sql_seen and _SQL_KEY.search(path):
            self.sql_seen = True
            self.ctx.fact("sql.present", True, line=line, text=f"registry key {path}")

    def value(self, path: str, name: str, value: Any, line: int) -> None:
        if m := _BCDR.search(path):
            self.ctx.fact("registry.bcdr", {"key": m.group(1), "name": name, "value": value}, line=line,
                          text=f"[{path}] {name}={value}")
        elif (m := _SERVICE.search(path)) and name.lower() == "start" and isinstance(value, int):
            st = start_type(value)
            self.ctx.fact("service.start_type", {"service": m.group(1), "start": value,
                                                 "start_name": st[1] if st else str(value), "source": "registry"},
                          line=line, text=f"[{path}] Start={value}")
        elif (m := _INTERFACE.search(path)) and name.lower() == "enabledhcp" and isinstance(value, int):
            self.ctx.fact("dhcp.enabled", {"interface": m.group(1), "enabled": value != 0}, line=line,
                          text=f"[{path}] EnableDHCP={value}")
        elif _TIMEZONE.search(path):
            self.tz[name.lower()] = value
            self.tz_line = self.tz_line or line

    def finish(self) -> None:
        tz = self.tz
        name = tz.get("timezonekeyname") or tz.get("standardname")
        zone = iana_zone(name) if isinstance(name, str) and name else None
        if isinstance(name, str) and name:
            self.ctx.fact("host.timezone", zone or name, line=self.tz_line, text=f"TimeZoneInformation {name}")
        bias = tz.get("activetimebias", tz.get("bias"))
        if isinstance(bias, int) and zone is None:  # a known zone converts each record by its own date
            self.ctx.fact("tz.utc_offset_minutes", -_signed(bias), line=self.tz_line,
                          text=f"TimeZoneInformation {'ActiveTimeBias' if 'activetimebias' in tz else 'Bias'}={bias}")


def _plain_value(line: str) -> dict[str, Any] | None:
    """The tokens the grammar would give for a plain string or dword value line; ``None`` for any other line."""
    m = _PLAIN_VALUE.fullmatch(line)
    if m is None:
        return None
    name = "@" if m.group(2) else _UNESCAPE.sub(r"\1", m.group(1))
    if m.group(3) is not None:
        return {"name": name, "string": _UNESCAPE.sub(r"\1", m.group(3))}
    if m.group(4) is not None:
        return {"name": name, "dword": m.group(4)}
    hexbytes = [b.strip() for b in m.group(6).split(",")] if m.group(6) else []
    return {"name": name, "hex": hexbytes, **({"type": m.group(5)} if m.group(5) else {})}


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    import pyparsing as pp

    key_line, value_line = grammar()
    facts = _Facts(ctx)
    path = ""
    ansi = False
    problems = 0
    for number, text, cut in logical_lines(iter_lines(stream, ctx)):
        stripped = text.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if cut:
            problems += 1
            if problems <= MAX_PROBLEMS:
                ctx.problem("problem.registry_value_too_long", number, limit=MAX_LINE)
            continue
        if stripped.startswith(("Windows Registry Editor", "REGEDIT4")):
            ansi = stripped.startswith("REGEDIT4")
            continue
        try:
            if stripped.startswith("["):
                key = key_line.parse_string(stripped, parse_all=True)
                path = "" if key.get("delete") else key["path"].strip()
                if path:
                    facts.key(path, number)
                continue
            if _HIVE.match(stripped):  # reg query key line
                path = stripped
                facts.key(path, number)
                continue
            if m := REG_QUERY_VALUE.match(text):
                name = "" if m.group("name") == "(Default)" else m.group("name")
                facts.value(path, name, _reg_query_data(m.group("type"), m.group("data") or ""), number)
                continue
            value = _plain_value(stripped) or value_line.parse_string(stripped, parse_all=True)
        except pp.ParseException as exc:
            problems += 1
            if problems <= MAX_PROBLEMS:
                ctx.problem("problem.registry_bad_line", number, error=exc.msg)
            continue
        if path and "delete" not in value:
            facts.value(path, "" if value["name"] == "@" else value["name"], decode_value(value, ansi), number)
    if problems > MAX_PROBLEMS:
        ctx.problem("problem.registry_more_bad_lines", n=problems - MAX_PROBLEMS)
    facts.finish()
    yield from ()


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head).lstrip()
    return text.startswith(("Windows Registry Editor Version", "REGEDIT4")) or bool(
        re.match(r"HKEY_LOCAL_MACHINE\\\S.*\r?\n {4}\S.* {4}REG_", text))


PARSER = Parser(name="registry_export", parse=parse, sniff=sniff,
                description="Registry exports (.reg UTF-16/ANSI, reg query output)")
