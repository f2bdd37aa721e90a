"""Service and VSS writer listings pasted or saved into bundles: ``sc query``, ``sc qc``, ``Get-Service``
(table or ``Format-List``) and ``vssadmin list writers``.

``sc qc IaaSVmProvider``::

    SERVICE_NAME: IaaSVmProvider
            TYPE               : 10  WIN32_OWN_PROCESS
            START_TYPE         : 4   DISABLED

``Get-Service`` (columns found from the dashes under the header)::

    Status   Name               DisplayName
    ------   ----               -----------
    Stopped  VSS                Volume Shadow Copy

``vssadmin list writers``::

    Writer name: 'Microsoft Hyper-V VSS Writer'
       Writer Id: {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}
       State: [8] Failed
       Last error: Inconsistent shadow copy

Facts: ``service.state``, ``service.start_type`` (``source`` = ``sc`` or ``Get-Service``),
``vss.writer`` (the state *number*, since vssadmin prints only Stable / Waiting for completion /
Failed as text) and ``sql.present`` when SQL Server services are listed. Listings carry no times:
the parser yields no events.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

from parsers.base import Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_events._records import service_name, start_type

VSS_WRITER_STATES = (
    "UNKNOWN", "STABLE", "WAITING_FOR_FREEZE", "WAITING_FOR_THAW", "WAITING_FOR_POST_SNAPSHOT",
    "WAITING_FOR_BACKUP_COMPLETE", "FAILED_AT_IDENTIFY", "FAILED_AT_PREPARE_BACKUP", "FAILED_AT_PREPARE_SNAPSHOT",
    "FAILED_AT_FREEZE", "FAILED_AT_THAW", "FAILED_AT_POST_SNAPSHOT", "FAILED_AT_BACKUP_COMPLETE",
    "FAILED_AT_PRE_RESTORE", "FAILED_AT_POST_RESTORE", "FAILED_AT_BACKUPSHUTDOWN",
)
# vssadmin in any language: the writer's name is the one quoted value ("Writer name: 'System Writer'",
# "Nom du rédacteur : '...'"), the state the one in brackets ("State: [1] Stable", "État : [8] Échec"), the ids
# GUIDs; the field after the state is the last error. Pasted fields may have lost their indentation. The quotes
# are those of the output's language or of the tool that copied it ('...', "...", „...“, «...», ‘...’, 「...」).
_QUOTES = "'\"„“”«»‘’‚「」"
_QUOTED = rf"[{_QUOTES}][^{_QUOTES}\n]*[{_QUOTES}]"
_WRITER = re.compile(
    rf"^\s*[^\W\d][^:{_QUOTES}{{\[]{{0,40}}?\s*:\s*[{_QUOTES}](?P<name>[^{_QUOTES}\n]*)[{_QUOTES}]\s*$")
_WRITER_FIELD = re.compile(r"^\s*(?P<key>[^\W\d][^:]{0,40}?)\s*:\s*(?P<value>.*?)\s*$")
_WRITER_STATE = re.compile(r"^\[(?P<n>\d+)\]\s*(?P<text>.*)$")
_GUID = re.compile(r"^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$", re.I)
#: "No error" as vssadmin prints it in the languages seen in tickets; otherwise the most common last error of the
#: stable writers of the listing is taken as that phrase (every stable writer usually shows it)
_NO_ERROR = re.compile(r"^(?:No error|Kein Fehler|Aucune erreur|Sin error(?:es)?|Nessun errore|Nenhum erro|Geen fout|"
                       r"Žádná chyba|Brak błędu|Нет ошибок|エラーなし|没有错误|無錯誤|오류 없음)$", re.I)
_FIELD = re.compile(r"^\s*(?P<key>SERVICE_NAME|DISPLAY_NAME|STATE|START_TYPE|Name|ServiceName|DisplayName|Status"
                    r"|StartType|StartMode)\s*:\s*(?P<value>.*?)\s*$", re.I)
_NUMBERED = re.compile(r"^(?P<n>\d+)\s+(?P<word>\S+)")
_DASHES = re.compile(r"^\s*-{2,}(?:\s+-{2,})+\s*$")
_SQL_SERVICES = re.compile(r"^(?:MSSQLSERVER|SQLWriter|MSSQL\$.+|SQLSERVERAGENT|SQLAgent\$.+)$", re.I)


class _Listing:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.sql = False

    def service(self, fields: dict[str, str], line: int, source: str) -> None:
        raw = fields.get("name", "")
        if not raw:
            return
        name = service_name(raw)
        if not self.sql and _SQL_SERVICES.match(name):
            self.sql = True
            self.ctx.fact("sql.present", True, line=line, text=f"service {name} listed")
        if state := fields.get("state"):
            m = _NUMBERED.match(state)
            self.ctx.fact("service.state", {"service": name, "state": (m.group("word") if m else state).lower()},
                          line=line)
        if start := fields.get("start"):
            m = _NUMBERED.match(start)
            st = start_type(m.group("n")) if m else start_type(start)
            if st is not None:
                self.ctx.fact("service.start_type", {"service": name, "start": st[0], "start_name": st[1],
                                                     "source": source}, line=line)
            else:
                self.ctx.problem("problem.unknown_start_type", line, start=repr(start), name=name)

    def writers(self, found: list[tuple[dict[str, Any], int]]) -> None:
        """``vss.writer`` facts; ``last_error`` is empty when the listing's phrase says there is none (in
        its language)."""
        stable = Counter(w.get("last error", "") for w, _ in found if w.get("state") == 1)
        common = stable.most_common(1)[0] if stable else ("", 0)
        for w, line in found:
            n = w.get("state")
            error = w.get("last error", "")
            if _NO_ERROR.match(error) or (error and common[1] >= 2 and error == common[0]):
                error = ""
            self.ctx.fact("vss.writer", {
                "name": w["name"], "state": n,
                "state_text": VSS_WRITER_STATES[n] if n is not None and n < len(VSS_WRITER_STATES) else "",
                "last_error": error, "writer_id": w.get("writer id", "")}, line=line)


_KEYS = {"service_name": "name", "name": "name", "servicename": "name", "state": "state", "status": "state",
         "start_type": "start", "starttype": "start", "startmode": "start", "display_name": "display",
         "displayname": "display"}


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    listing = _Listing(ctx)
    fields: dict[str, str] = {}
    fields_line = 0
    fields_source = ""
    writers: list[tuple[dict[str, Any], int]] = []
    header: tuple[int, str] | None = None
    columns: list[tuple[str | None, int, int]] = []
    recognized = 0
    for number, text in iter_lines(stream, ctx):
        if (m := _WRITER.match(text)) and not _FIELD.match(text):
            writers.append(({"name": m.group("name")}, number))
            recognized += 1
            continue
        if writers and not fields and not columns and (m := _WRITER_FIELD.match(text)) and _writer_field(
                writers[-1][0], m.group("value")):
            continue
        if m := _FIELD.match(text):
            key = _KEYS[m.group("key").lower()]
            if key == "name" and fields:
                listing.service(fields, fields_line, fields_source)
                fields = {}
            if not fields:
                fields_line = number
                fields_source = "sc" if m.group("key").isupper() and "_" in m.group("key") else "Get-Service"
            fields[key] = m.group("value")
            recognized += 1
            continue
        if _DASHES.match(text) and header is not None and header[0] == number - 1:
            columns = _columns(header[1], text)
            continue
        if columns and text.strip():
            row = _row(text, columns)
            listing.service(row, number, "Get-Service")
            recognized += 1
            continue
        header = (number, text)
        if not text.strip():
            columns = []
    listing.writers(writers)
    if fields:
        listing.service(fields, fields_line, fields_source)
    if not recognized:
        ctx.problem("problem.no_service_listing")
    yield from ()


def _writer_field(writer: dict[str, Any], value: str) -> bool:
    """Take a field of the writer being read by the shape of its value; False when it is none of its fields."""
    if state := _WRITER_STATE.match(value):
        if "state" in writer:
            return False
        writer["state"] = int(state.group("n"))
    elif _GUID.match(value):
        writer["instance id" if "writer id" in writer else "writer id"] = value
    elif "state" in writer and "last error" not in writer:
        writer["last error"] = value
    else:
        return False
    return True


def _columns(header: str, dashes: str) -> list[tuple[str | None, int, int]]:
    """(field or None, start, end) of every column, from the dashes under a Get-Service header."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", dashes)]
    return [(_KEYS.get(header[a:(spans[i + 1][0] if i + 1 < len(spans) else None)].strip().lower()), a, b)
            for i, (a, b) in enumerate(spans)]


def _row(text: str, columns: list[tuple[str | None, int, int]]) -> dict[str, str]:
    """A table row's cells: each word goes to the column its characters overlap most (PowerShell right-aligns
    enum columns and widens a column past its dashes for a long value), else to the nearest column."""
    cells: dict[int, list[str]] = {}
    for m in re.finditer(r"\S+", text):
        a, b = m.span()
        best = max(range(len(columns)), key=lambda i: (min(b, columns[i][2]) - max(a, columns[i][1]),
                                                        -abs(a - columns[i][1])))
        cells.setdefault(best, []).append(m.group())
    return {key: " ".join(cells.get(i, [])) for i, (key, _, _) in enumerate(columns) if key}


_SNIFF = re.compile(
    rf"^\s*SERVICE_NAME: |^\s*[^\W\d][^:{_QUOTES}{{\[\n]{{0,40}}?\s*:\s*{_QUOTED}\s*\n(?:.*\n){{0,3}}?.*:\s*\[\d+\]"
    r"|^\s*(?:Status|Name|State)\s+(?:Name|Status|StartType|StartMode|State|DisplayName)\b.*\n\s*-{2,}\s+-{2,}"
    r"|^\s*Name\s*:\s*\S.*\n(?:.*\n){0,20}?\s*(?:Status|StartType|State|StartMode)\s*:", re.M | re.I)


def sniff(path: str, head: bytes) -> bool:
    """sc output, vssadmin writers (any language), a Get-Service / Get-CimInstance table (header
    over dashes) or Format-List record, with or without the prompt that ran it."""
    return bool(_SNIFF.search(head_text(head)))


PARSER = Parser(name="service_listing", parse=parse, sniff=sniff,
                description="sc query / sc qc / Get-Service / vssadmin list writers output")
