"""``/etc/azure/vmbackup.conf``: the VMSnapshotLinux extension's customer configuration (INI).

Read as the extension's ConfigParser reads it: ``[section]`` headers, ``key: value`` or ``key = value``,
``#``/``;`` comment lines, indented continuation lines, option names case-insensitive (lower-cased
here). Example (the template shipped with the extension)::

    [SnapshotThread]
    fsfreeze: True

Each option becomes a ``vmbackup.<section>.<key>`` fact, e.g. ``vmbackup.SnapshotThread.fsfreeze`` = ``True``.
The pre/post script configuration beside it (``/etc/azure/VMSnapshotScriptPluginConfig.json``) gives
``vmbackup.script_plugin.<key>`` facts for an allow-list of keys; script parameters are never read out.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from parsers._structured import load_json, read_state
from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines

_SECTION = re.compile(r"\[([^\]]{1,100})\]")
_OPTION = re.compile(r"([^:=\s][^:=]{0,100}?)\s*[:=]\s*(.*)")
_SCRIPT_KEYS = ("pluginName", "preScriptLocation", "postScriptLocation", "preScriptNoOfRetries",
                "postScriptNoOfRetries", "timeoutInSeconds", "continueBackupOnFailure", "fsFreezeEnabled")


def _script_plugin(data: bytes, ctx: ParseContext) -> None:
    doc = load_json(data, ctx)
    if not isinstance(doc, dict):
        if doc is not None:
            ctx.problem("problem.script_config_not_object")
        return
    for key in _SCRIPT_KEYS:
        value = doc.get(key)
        if isinstance(value, (str, int, float, bool)):
            ctx.fact(f"vmbackup.script_plugin.{key}", value if not isinstance(value, str) else value[:500])


def _ini(stream: BinaryIO, ctx: ParseContext) -> None:
    section: str | None = None
    last: tuple[str, str, int] | None = None  # (fact name, value, line) waiting for continuation lines
    bad: list[int] = []
    for n, raw in iter_lines(stream, ctx):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0] in " \t" and last is not None:
            last = (last[0], f"{last[1]}\n{stripped}", last[2])
            continue
        if last is not None:
            ctx.fact(last[0], last[1], line=last[2])
            last = None
        m = _SECTION.fullmatch(stripped)
        if m:
            section = m.group(1).strip()
            continue
        m = _OPTION.fullmatch(stripped)
        if m is None or section is None:
            bad.append(n)
            continue
        last = (f"vmbackup.{section}.{m.group(1).strip().lower()}", m.group(2).strip(), n)
    if last is not None:
        ctx.fact(last[0], last[1], line=last[2])
    if bad:
        ctx.problem("problem.ini_bad_lines", bad[0], n=len(bad), first=bad[0])


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    data = read_state(stream, ctx)
    if head_text(data[:256]).lstrip("\ufeff \t\r\n").startswith("{"):
        _script_plugin(data, ctx)
    else:
        _ini(io.BytesIO(data), ctx)
    yield from ()  # configuration carries no timed records


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return "[SnapshotThread]" in text or ('"preScriptLocation"' in text and '"pluginName"' in text)


PARSER = Parser(name="vmbackup_conf", parse=parse, sniff=sniff, description="/etc/azure/vmbackup.conf")
