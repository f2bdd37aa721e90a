"""Windows guest agent logs: WaAppAgent.log, TransparentInstaller.log, Telemetry.log, AppAgentRuntime.log and
the plugins' CommandExecution.log.

Two record prefixes are in use, both UTC (format A is inferred from a health-report banner stamped
``...Z`` followed by a line with the same time), with a variable number of spaces after the level::

    [00000006] [11/14/2019 05:52:13.44] [INFO]  WindowsAzureGuestAgent starting. Version 2.7.41491.949
    [00000031] 2025-01-08T07:38:01.487Z [WARN] Status file C:\\Packages\\Plugins\\...\\792.status is not ...
    [00000038] 2025-01-08T07:38:10.026Z [INFO]VMSettingsConsistenceCheckIfFabricSource Passed.

Lines that match neither (``.NET`` stack traces) continue the previous record. The embedded VM health
report (``======== Microsoft Azure VM Health Report - Start ... =========`` ... ``- End <ISO>Z ====``)
becomes one event with the report's JSON in ``attrs.report``; other banner lines are not records.
Logs of unknown shape fall back to any leading ISO timestamp. Kinds: ``[HEART]`` ->
``agent.heartbeat``; the start banner -> ``agent.start`` and the ``agent.windows_version`` fact;
WireServer / HostGAPlugin failures -> ``wireserver.error``; fabric-address discovery failures ->
``dhcp.error``; a missing VMSnapshot ``.status`` -> ``extension.status`` with ``status = missing``, the
agent's ``Plugin <name>_<ver> reported status '<status>' for sequence number <seq>.`` -> ``extension.status``
with that status; the
agent enabling the VMSnapshot plugin (``Enable plugin ... RuntimeSettings\\<seq>.settings``) ->
``extension.enable`` with ``seq``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers.base import GENERIC_KIND, Event, ParseContext, Parser
from parsers.text import head_text, iter_lines
from parsers.windows_agent._signatures import WA_APP_AGENT_TABLE
from parsers.windows_events._records import hresults

RECORD = re.compile(
    r"^\[(?P<tid>\d{1,10})\]\s+(?:\[(?P<ts_a>\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}(?:\.\d{1,7})?)\]"
    r"|(?P<ts_b>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?))\s*\[(?P<level>[A-Za-z]+)\]\s*(?P<msg>.*)$"
)
FALLBACK = re.compile(
    r"^\[?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?)\]?\s*"
    r"(?:\[(?P<level>[A-Za-z]+)\])?\s*(?P<msg>.*)$"
)
# linear: the plain form backtracked cubically on a line of "=" (4000 of them took 158 s); a line of "="
# alone (no title, so neither start nor end) is no longer a banner
BANNER = re.compile(r"^={4,}+\s*+(?P<title>.*?)\s*(?<!=)={4,}+\s*$")
_BANNER_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)")
_LEVELS = {"INFO": "info", "WARN": "warning", "WARNING": "warning", "ERROR": "error", "TRACE": "debug",
           "HEART": "info", "VERBOSE": "verbose", "DEBUG": "debug", "FATAL": "critical", "CRITICAL": "critical"}
MAX_RECORD_LINES = 500
MAX_REPORT_CHARS = 256 * 1024

#: at warning and above, any failure naming the WireServer (the documented wordings are in WA_APP_AGENT_TABLE)
_WIRESERVER_FAILURE = re.compile(
    r"168\.63\.129\.16\S*.*?(?:fail|exception|unable|error)|(?:fail|exception|unable|error).*?168\.63\.129\.16", re.I)
_ENDPOINT = re.compile(r"168\.63\.129\.16(?::\d+)?")
_WITH_ERROR = ("agent.crash", "dhcp.error", "extension.install.failed", "wireserver.error")
#: the agent runs the backup extension for sequence number <seq> (the wording of this line varies by agent
#: version: what counts is the VMSnapshot plugin, an enable verb and the settings file or sequence number)
_VMSNAPSHOT_PLUGIN = re.compile(r"Microsoft\.Azure\.RecoveryServices\.VMSnapshot(?!Linux)|IaaSBcdrExtension", re.I)
_SETTINGS_FILE = re.compile(r"RuntimeSettings[\\/]+(?P<seq>\d+)\.settings\b", re.I)
_ENABLE_VERB = re.compile(r"\benabl(?:e|ing)\b", re.I)
_ENABLE_ANY = re.compile(r"\benabl(?:e|ed|ing)\b", re.I)
_ENABLE_CONTEXT = re.compile(r"\b(?:plugin|handler|extension|command)\b|IaaSBcdrExtension\.exe", re.I)
_SEQ_NO = re.compile(r"\b(?:seq(?:uence)?[ _]?(?:no|num(?:ber)?)?)\s*[:=#]?\s*'?(?P<seq>\d+)\b", re.I)
_FAILURE = re.compile(r"\bfail(?:ed|s|ure)?\b|\bexception\b", re.I)
_PLUGIN_VERSION = re.compile(r"\bversion\W{1,3}(?P<version>\d+\.\d+\.\d+\.\d+)", re.I)
_VMSNAPSHOT_PATH = re.compile(
    r"Microsoft\.Azure\.RecoveryServices\.VMSnapshot[\\/_](?P<version>\d+\.\d+\.\d+\.\d+)", re.I)


@dataclass
class _Record:
    line: int
    ts: datetime | None
    level: str
    tid: str
    lines: list[str] = field(default_factory=list)
    raw_level: str = ""


def time_format_a(s: str) -> datetime | None:
    try:
        frac = (s[20:] or "0").ljust(6, "0")[:6]
        return datetime(int(s[6:10]), int(s[0:2]), int(s[3:5]), int(s[11:13]), int(s[14:16]), int(s[17:19]),
                        int(frac), tzinfo=UTC)
    except ValueError:
        return None


def time_iso(s: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(s.replace(",", ".").replace(" ", "T", 1))
    except ValueError:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _component(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    low = [p.lower() for p in parts]
    if "plugins" in low[:-1]:
        return parts[low.index("plugins") + 1]
    return parts[-1].split(".")[0]


class _Reader:
    """Turns records into events and facts; one per member."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.component = _component(ctx.path)
        self.snapshot_versions: set[str] = set()

    def event(self, rec: _Record) -> Event:
        message = "\n".join(rec.lines)
        first = rec.lines[0] if rec.lines else ""
        kind, attrs = self.classify(first, message, rec)
        if rec.tid:
            attrs["tid"] = rec.tid
        if rec.level in ("warning", "error", "critical"):
            codes = hresults(message)
            if codes:
                attrs["hresults"] = codes
        return self.ctx.event(rec.ts, rec.line, message, level=rec.level, component=self.component, kind=kind,
                              **attrs)

    def classify(self, first: str, message: str, rec: _Record) -> tuple[str, dict[str, Any]]:
        for m in _VMSNAPSHOT_PATH.finditer(first):
            if m.group("version") not in self.snapshot_versions:
                self.snapshot_versions.add(m.group("version"))
                self.ctx.fact("vmsnapshot.version", m.group("version"), line=rec.line, ts=rec.ts, text=first[:300])
        if rec.raw_level == "HEART":
            return "agent.heartbeat", {}
        kind, attrs = WA_APP_AGENT_TABLE.classify(first) or (GENERIC_KIND, {})
        if kind == "agent.start":
            self.ctx.fact("agent.windows_version", attrs["version"], line=rec.line, ts=rec.ts, text=first)
        if kind == GENERIC_KIND and not attrs.get("routine"):
            if enable := _vmsnapshot_enable(first, rec.level):
                return enable
            if rec.level in ("warning", "error", "critical") and _WIRESERVER_FAILURE.search(message[:4096]):
                kind = "wireserver.error"
        if kind == "wireserver.error":
            endpoint = _ENDPOINT.search(message)
            attrs["endpoint"] = endpoint.group(0) if endpoint else "168.63.129.16"
        if kind in _WITH_ERROR:
            attrs["error"] = first
        return kind, attrs


def _vmsnapshot_enable(first: str, level: str) -> tuple[str, dict[str, Any]] | None:
    """``extension.enable`` (``extension.enable.failed`` at warning and above with a failure word) of a
    line where the agent enables the VMSnapshot plugin, with ``seq`` from the settings file or the
    line's sequence number::

        [00000012] 2024-06-10T02:00:41.100Z [INFO]  Enable plugin ... RuntimeSettings\\12.settings
    """
    if not _VMSNAPSHOT_PLUGIN.search(first):
        return None
    settings = _SETTINGS_FILE.search(first)
    if not ((settings and _ENABLE_ANY.search(first)) or (_ENABLE_VERB.search(first) and _ENABLE_CONTEXT.search(first))):
        return None
    attrs: dict[str, Any] = {"extension": "Microsoft.Azure.RecoveryServices.VMSnapshot"}
    seq = settings or _SEQ_NO.search(first)
    if seq:
        attrs["seq"] = int(seq.group("seq"))
    if m := _VMSNAPSHOT_PATH.search(first) or _PLUGIN_VERSION.search(first):
        attrs["version"] = m.group("version")
    if level in ("warning", "error", "critical") and _FAILURE.search(first):
        return "extension.enable.failed", {**attrs, "error": first}
    return "extension.enable", attrs


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    reader = _Reader(ctx)
    current: _Record | None = None
    report: list[str] | None = None
    report_line = 0
    orphans = 0
    for number, text in iter_lines(stream, ctx):
        if report is not None:  # inside an embedded VM health report
            banner = BANNER.match(text)
            if banner and "end" in banner.group("title").lower():
                yield _report_event(ctx, reader.component, report_line, report, banner.group("title"))
                report = None
            elif sum(map(len, report)) < MAX_REPORT_CHARS:
                report.append(text)
            continue
        m = RECORD.match(text)
        if m is None:
            banner = BANNER.match(text)
            if banner:
                if "start" in banner.group("title").lower():
                    if current is not None:
                        yield reader.event(current)
                        current = None
                    report, report_line = [], number
                continue
            fb = FALLBACK.match(text) if current is None or current.tid == "" else None
            if fb is not None and (ts := time_iso(fb.group("ts"))) is not None:
                if current is not None:
                    yield reader.event(current)
                level = _LEVELS.get((fb.group("level") or "INFO").upper(), "info")
                current = _Record(number, ts, level, "", [fb.group("msg")])
            elif current is not None:
                if len(current.lines) < MAX_RECORD_LINES:
                    current.lines.append(text)
            elif text.strip():
                orphans += 1
            continue
        if current is not None:
            yield reader.event(current)
        ts = time_format_a(m.group("ts_a")) if m.group("ts_a") else time_iso(m.group("ts_b"))
        raw_level = m.group("level").upper()
        current = _Record(number, ts, _LEVELS.get(raw_level, "info"), m.group("tid"), [m.group("msg")], raw_level)
    if current is not None:
        yield reader.event(current)
    if report is not None:
        yield _report_event(ctx, reader.component, report_line, report, "")
    if orphans:
        ctx.problem("problem.lines_unrecognized_before_first", n=orphans)


def _report_event(ctx: ParseContext, component: str, line: int, body: list[str], end_title: str) -> Event:
    """The VM health report block as one event; its JSON (when readable) in ``attrs.report``."""
    text = "\n".join(body)
    stamp = _BANNER_TIME.search(end_title)
    attrs: dict[str, Any] = {}
    start, stop = text.find("{"), text.rfind("}")
    if start >= 0 and stop > start:
        try:
            attrs["report"] = json.loads(text[start:stop + 1])
        except ValueError:
            ctx.problem("problem.health_report_json", line)
    if not end_title:
        ctx.problem("problem.health_report_unended", line)
    return ctx.event(time_iso(stamp.group(1)) if stamp else None, line, "Microsoft Azure VM Health Report\n" + text,
                     component=component, kind=GENERIC_KIND, **attrs)


def sniff(path: str, head: bytes) -> bool:
    return any(RECORD.match(line) for line in head_text(head).splitlines())  # a paste's own lines may come first


PARSER = Parser(name="wa_app_agent_log", parse=parse, sniff=sniff,
                description="Windows guest agent logs (WaAppAgent, TransparentInstaller, plugin CommandExecution)")
