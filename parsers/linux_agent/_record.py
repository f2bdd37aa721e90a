"""Records of the Azure Linux Agent log, shared by waagent.log, CommandExecution.log and syslog copies.

Five generations (linux-formats.md §2.2) write into the same file; every line is tried against each
record pattern, and a line that matches none continues the record before it. A G4 line:

    2023-05-17T07:01:23.345968Z INFO CollectLogsHandler ExtHandler Log Collector exited with code -9

G0-G2 timestamps are the VM's local time (naive, ``local=True``); G3/G4 are UTC (aware). The syslog
parser hands the text behind a syslog header to the same code, so a copy of a record gets the same
time and message as the original and the timeline keeps one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from parsers.base import ALARM_LEVELS, GENERIC_KIND, YEARLESS, Event, ParseContext
from parsers.extension_names import about_other_extension
from parsers.linux_agent._signatures import AGENT_TABLE, SYSTEM_LEVELS, SYSTEM_TABLE
from parsers.signatures import Sig

_LEVELS = {"VERBOSE": "verbose", "INFO": "info", "WARNING": "warning", "ERROR": "error", None: "info"}
# an extension's prefix (``[Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1]``) holds no space: a message opening
# with a bracket (``[HTTP Retry] Attempt 2 of 3: ...``) stays the message
_G4 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (VERBOSE|INFO|WARNING|ERROR) ([^\s\[]\S*) "
                 r"(Daemon|ExtHandler|LogCollector|Firewall|\[[^\]\s]*\])(?: |$)(.*)")
_G3 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (VERBOSE|INFO|WARNING|ERROR) "
                 r"(Daemon|ExtHandler|\[[^\]]*\])(?: |$)(.*)")
_G2 = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) (VERBOSE|INFO|WARNING|ERROR) "
                 r"(Daemon|ExtHandler|\[[^\]\s]*\])(?: |$)(.*)")
_G1 = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) (VERBOSE|INFO|WARNING|ERROR) (.*)")
_G0 = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (?:(WARNING|ERROR):)?(.*)")
_G0_EXT = re.compile(r"\[([^\]\s]+)\]")
_EXT_VERSION = re.compile(r"(.+?)-(\d+(?:\.\d+)+)$")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2}))")
_PAYLOAD_MARK = "Event: name="
_ORDINARY_LEVELS = ("verbose", "info")  # below warning: such a record of kind "log" is not notable
MAX_CONTINUATION = 2000  # lines folded into one record; the rest are counted, not kept
VMSNAPSHOT = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"


@dataclass(slots=True)
class Record:
    """One agent log record; ``extra`` holds its continuation lines."""

    line: int
    ts: datetime | None
    local: bool
    gen: str
    level: str
    thread: str
    prefix: str
    msg: str
    extra: list[str] = field(default_factory=list)
    dropped: int = 0
    g0_traceback: bool = False


def parse_record(line: str, n: int) -> Record | None:
    """The record that starts on ``line`` (any generation), or None for a continuation line."""
    if len(line) < 19 or not line[0].isdigit():
        return None
    sep = line[4]
    if sep == "-":
        m = _G4.match(line)
        if m:
            ts, level, thread, prefix, msg = m.groups()
            return Record(n, _time(ts), False, "G4", _LEVELS[level], thread, prefix, msg)
        m = _G3.match(line)
        if m:
            ts, level, prefix, msg = m.groups()
            return Record(n, _time(ts), False, "G3", _LEVELS[level], "", prefix, msg)
        return None
    if sep != "/":
        return None
    m = _G2.match(line)
    if m:
        ts, level, prefix, msg = m.groups()
        return Record(n, _time(ts.replace("/", "-")), True, "G2", _LEVELS[level], "", prefix, msg)
    m = _G1.match(line)
    if m:
        ts, level, msg = m.groups()
        return Record(n, _time(ts.replace("/", "-")), True, "G1", _LEVELS[level], "", "", msg)
    m = _G0.match(line)
    if m:
        ts, level, msg = m.groups()
        prefix = ""
        ext = _G0_EXT.match(msg)
        if ext:  # G0 extension line: "[Name-Version]message", no space after the bracket
            prefix, msg = ext.group(0), msg[ext.end():]
        return Record(n, _time(ts.replace("/", "-")), True, "G0", _LEVELS[level], "", prefix, msg)
    return None


# a shell prompt (``# tail -f ...``, ``user@vm:~$ waagent --version``, ``[root@vm ~]# ...``), a code fence or a
# kernel console line (``[  229.153348] ...``): in a pasted log it ends the record before it
_BREAK = re.compile(r"(?:[#$]|[\w.-]+@[\w.-]+(?::[^\s#$]*)?[#$]|\[[^\]\n]{1,80}\][#$]) \S|```|\[\s*\d+\.\d+\] ")


_UPTIME = re.compile(r"\[\s*\d+\.\d+\] ?")
_UNIT = re.compile(r"(?:[●*○×]\s*)?([\w@.-]+\.service)\b(?: - |$)")
_ACTIVE = re.compile(r"Active: (active|inactive|failed|activating|deactivating)\b")
_SINCE = re.compile(r" since \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+)")
_AGENT_UNITS = ("walinuxagent.service", "waagent.service")


# ``waagent --version`` (``WALinuxAgent-2.2.45 running on ubuntu 18.04`` / ``Goal state agent: 2.8.0.11``)
_VERSION_OUTPUT = re.compile(r"WALinuxAgent-\d[\d.]* running on \S|Goal state agent: \d")


def agent_command_output(line: str) -> bool:
    """``line`` is output of a command about the agent that a paste may hold without any record:
    ``waagent --version``, or the head of ``systemctl status`` for the agent's unit."""
    text = line.strip()
    if _VERSION_OUTPUT.match(text):
        return True
    unit = _UNIT.match(text)
    return unit is not None and unit.group(1) in _AGENT_UNITS


def ends_record(line: str) -> bool:
    """``line`` cannot continue an agent record: a prompt, a code fence or a console line of a paste."""
    return _BREAK.match(line) is not None


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def fold_g0(prev: Record, rec: Record) -> bool:
    """G0 writes a timestamp on every line of a traceback; fold those lines into the record that began it."""
    if prev.gen != "G0" or rec.gen != "G0" or rec.ts != prev.ts or rec.level != prev.level:
        return False
    if not prev.g0_traceback:
        if not prev.msg.startswith("Traceback (most recent call last):"):
            return False
        prev.g0_traceback = True
    last = prev.extra[-1] if prev.extra else prev.msg
    if not rec.msg.startswith((" ", "\t")) and not last.startswith((" ", "\t")):
        return False  # the exception line after the frames ended the traceback already
    add_continuation(prev, rec.msg)
    return True


def add_continuation(rec: Record, text: str) -> None:
    if len(rec.extra) < MAX_CONTINUATION:
        rec.extra.append(text)
    else:
        rec.dropped += 1


def decode_escapes(text: str) -> str:
    r"""``\uXXXX``/``\xNN`` escapes of the agent's ASCII logging back to characters (surrogates -> U+FFFD)."""

    def one(m: re.Match[str]) -> str:
        cp = int(m.group(1) or m.group(2) or m.group(3), 16)
        return "\ufffd" if 0xD800 <= cp <= 0xDFFF or cp > 0x10FFFF else chr(cp)

    return _ESCAPE.sub(one, text)


@cache
def split_prefix(prefix: str) -> tuple[str, str, str]:
    """``[Name-1.2.3]`` -> (component, extension, version); ``Daemon`` -> ("Daemon", "", "")."""
    if not prefix.startswith("["):
        return prefix, "", ""
    inner = prefix[1:-1] if prefix.endswith("]") else prefix[1:]
    m = _EXT_VERSION.match(inner)
    if m:
        return m.group(1), m.group(1), m.group(2)
    return inner, inner, ""


class AgentEvents:
    """Turns records into events and the agent facts of one member (versions, endpoint, invocations)."""

    def __init__(self, ctx: ParseContext, via: str | None = None,
                 count: Callable[[datetime | None, bool], bool] | None = None) -> None:
        self.ctx = ctx
        self.via = via
        self.count = count or ctx.count  # takes an ordinary record (``ParseContext.count``, or a tally of its own)
        self._last: dict[str, Any] = {}
        self.changes = 0  # times a fact's last value changed: a verdict of :meth:`gives_none_new` holds till then
        self._settings_seq: dict[str, tuple[str, int]] = {}  # extension -> (seq, line)
        self._payload: Any = None
        self._unit: str | None = None  # the unit a pasted ``systemctl status`` is about
        # (row, prefix, message with digits masked) -> kind, facts, (start, end, text) of every digit its facts read
        self._quiet: dict[tuple[int, str, bytes], tuple[str | None, list[tuple[str, Any]] | None,
                                                        list[tuple[int, int, str]]]] = {}

    def event(self, rec: Record) -> Event:
        """The event of ``rec``, with its facts."""
        e = self._event(rec, countable=False)
        assert e is not None  # only countable records are ever just counted
        return e

    def outside(self, n: int, line: str, yearless: str | None = None) -> Event | None:
        """A line outside any record (a paste's command output, a console line): an undated event when a
        signature knows it (``waagent --version`` gives the versions, the kernel a hung task); ``yearless``, the
        time of its syslog header, for the pipeline to date."""
        text = line.strip()
        unit = _UNIT.match(text)
        if unit is not None:  # ``systemctl status``: the lines after it are about this unit
            self._unit = unit.group(1)
        active = _ACTIVE.match(text)
        if active is not None and self._unit in _AGENT_UNITS:
            return self._service_state(n, text, active)
        found = AGENT_TABLE.classify(text)
        if found is None:
            found = SYSTEM_TABLE.classify(_UPTIME.sub("", text, count=1))
        if found is None or (found[0] == GENERIC_KIND and "python" not in found[1]):
            return None
        kind, attrs = found
        if yearless is not None:
            attrs[YEARLESS] = yearless
        e = self.ctx.event(None, n, text, level=SYSTEM_LEVELS.get(kind, "info"), kind=kind, local=yearless is not None,
                           **attrs)
        self._facts(e)
        return e

    def _service_state(self, n: int, text: str, m: re.Match[str]) -> Event:
        """``Active: failed (Result: exit-code) since Mon 2024-06-10 02:00:00 UTC; 2h ago`` of the agent's unit."""
        state = m.group(1)
        since = _SINCE.search(text[:300])
        ts = _time(since.group(1)) if since else None
        local = ts is not None and since is not None and since.group(2) not in ("UTC", "GMT")
        if ts is not None and not local:
            ts = ts.replace(tzinfo=UTC)
        action = {"active": "Running", "activating": "Starting", "failed": "Failed"}.get(state, "Stopped")
        return self.ctx.event(ts, n, text, level="error" if action in ("Failed", "Stopped") else "info",
                              kind="agent.service", local=local, action=action, unit=self._unit, state=state)

    def event_or_count(self, rec: Record) -> Event | None:
        """The event of ``rec``, or None when it is an ordinary record that ``ctx.count`` took."""
        return self._event(rec, countable=True)

    def event_without_facts(self, rec: Record) -> Event:
        """The event of a record whose facts were taken already (or that gives none)."""
        e = self._event(rec, countable=False, facts=False)
        assert e is not None
        return e

    def _event(self, rec: Record, countable: bool, facts: bool = True) -> Event | None:
        message = "\n".join([rec.msg, *rec.extra]) if rec.extra else rec.msg
        message = message.rstrip()
        raw = None
        if "\\" in message:
            decoded = decode_escapes(message)
            if decoded != message:
                raw, message = message, decoded
        component, extension, version = split_prefix(rec.prefix) if rec.prefix else ("", "", "")
        found = self._payload_event(message, rec.level) if _PAYLOAD_MARK in message else None
        if found is None:
            found = AGENT_TABLE.classify(message)
        if (found is None and countable and rec.level in _ORDINARY_LEVELS and extension != VMSNAPSHOT
                and self.count(rec.ts, rec.local)):
            return None  # ordinary: no detector reads it and it gives no fact
        attrs: dict[str, Any] = {"gen": rec.gen}
        if raw is not None:
            attrs["raw"] = raw
        if rec.dropped:
            attrs["continuation_dropped"] = rec.dropped
        if rec.thread:
            attrs["thread"] = rec.thread
        if extension:
            attrs["extension"] = extension
            if version:
                attrs["version"] = version
        if self.via:
            attrs["via"] = self.via
        kind = GENERIC_KIND
        if found is not None:
            kind, extra = found
            for k, v in extra.items():
                attrs.setdefault(k, v)
        if rec.level in ALARM_LEVELS:  # the telemetry event's name is a handler's too
            names = [str(attrs[k]) for k in ("extension", "name") if attrs.get(k)]
            if about_other_extension(message, names):
                attrs["other_extension"] = True
        e = self.ctx.event(rec.ts, rec.line, message, level=rec.level, component=component, kind=kind,
                           local=rec.local, **attrs)
        if facts:
            self._facts(e)
        return e

    def _payload_event(self, message: str, level: str) -> tuple[str, dict[str, Any]] | None:
        """``Event: name=..., op=..., message=..., duration=...``: parsed with pyparsing (only these lines)."""
        if self._payload is None:
            self._payload = _payload_grammar()
        text = message[message.find(_PAYLOAD_MARK):]
        try:
            parsed = self._payload.parse_string(text, parse_all=True)
        except Exception:  # noqa: BLE001 - pyparsing raises its own exception family on any mismatch
            # cut short (a paste, a traceback in the message): what the message says still counts
            at = text.find("message=")
            inner = AGENT_TABLE.classify(text[at + 8:]) if at >= 0 else None
            if inner is not None and inner[0] != GENERIC_KIND:
                return inner[0], {"event_payload": "unparsed", **inner[1]}
            return "agent.event", {"event_payload": "unparsed"}
        attrs: dict[str, Any] = {"name": parsed["name"].strip(), "op": parsed["op"].strip(),
                                 "event_message": parsed["message"].strip(), "duration": int(parsed["duration"]),
                                 "is_success": level not in ("error", "critical")}
        inner = AGENT_TABLE.classify(attrs["event_message"])
        if inner is not None and inner[0] != GENERIC_KIND:
            return inner[0], {**attrs, **inner[1]}
        op = attrs["op"].lower()
        if op == "processgoalstate":
            m = re.search(r"Incarnation (\d+)", attrs["event_message"])
            return "goalstate.fetched", {**attrs, **({"incarnation": m.group(1)} if m else {})}
        if not attrs["is_success"] and attrs["name"] != "WALinuxAgent" and op in ("download", "install", "enable",
                                                                                    "update"):
            return f"extension.{op}.failed", {**attrs, "extension": attrs["name"]}
        return "agent.event", attrs

    #: kinds whose records give the agent's versions (``_facts``)
    VERSION_KINDS = frozenset({"agent.version", "agent.start", "agent.heartbeat"})

    @classmethod
    def row_facts(cls, sig: Sig) -> frozenset[str]:
        """The facts a record classified by ``sig`` can give (what ``_facts`` reads of its kind and attrs);
        ``*`` when the row cannot tell. Records of the VMSnapshot extension give theirs whatever the row."""
        kinds, names = sig.kinds, sig.attr_names
        if kinds is None:
            return frozenset({"*"})
        out: set[str] = set()
        if kinds & cls.VERSION_KINDS and names & {"version", "*"}:
            out |= {"agent.daemon_version", "agent.goal_state_version"}
        if "wireserver.endpoint" in kinds and names & {"endpoint", "*"}:
            out.add("wireserver.endpoint")
        if names & {"python", "*"}:
            out.add("agent.python_version")
        if "agent.config" in kinds and names & {"key", "*"}:
            out.add("proxy")
        return frozenset(out)

    def _fact_once(self, name: str, value: Any, e: Event, text: str = "") -> None:
        if self._last.get(name) != value:
            self._last[name] = value
            self.changes += 1
            self.ctx.fact(name, value, line=e.line, ts=e.ts, text=text or e.message[:300])

    def quiet(self, rec: Record, row: int | None = None) -> str | None:
        """The kind of ``rec``, a single-line record without escapes, when it gives no fact (each one it would give
        is the value given last) and changes no state, so that reading it may wait; else None. ``row``: its first
        signature row when that row is decisive (only that row is tried), else the whole table is.

        What a decisive row that tells no digit from another (:attr:`Sig.digit_blind`) makes of a text is
        remembered under the text with its digits masked: another text of that shape gets the same kind and
        facts when the digits of the facts' values (every place in the text that holds one) are the same too, so
        a heartbeat's counters cost no classification; the facts are then compared with the last ones as ever."""
        message = rec.msg.rstrip()
        if row is None or not AGENT_TABLE.sigs[row].digit_blind:
            kind, facts = self._verdict(message, rec.prefix, row)
        else:
            key = (row, rec.prefix, message.encode().translate(_MASK_DIGITS))  # bytes: 15x faster than str's
            memo = self._quiet.get(key)
            if memo is not None and all(message[a:b] == v for a, b, v in memo[2]):
                kind, facts = memo[0], memo[1]
            else:
                kind, facts = self._verdict(message, rec.prefix, row)
                spans = _value_spans(message, facts)
                if spans is not None:
                    if len(self._quiet) >= _QUIET_MEMO:
                        self._quiet.clear()
                    self._quiet[key] = (kind, facts, spans)
        if kind is None or facts is None or not self.gives_none_new(facts):
            return None
        return kind

    def gives_none_new(self, facts: list[tuple[str, Any]]) -> bool:
        """Each of ``facts`` is the value given last."""
        return all(self._last.get(name) == value for name, value in facts)

    def shape(self, rec: Record, row: int, text: str) -> tuple[str | None, list[tuple[str, Any]] | None,
                                                              list[tuple[int, int, str]]] | None:
        """What :meth:`quiet` makes of a record of row ``row`` (decisive, :attr:`Sig.digit_blind`) whatever came
        before, for every record of its *shape* (``text``: its line after the time stamp, prefix included; other
        records of the shape differ only in their digits): its kind, its facts and every place in ``text`` holding
        a fact's value with a digit, where the others must hold the same bytes; None when that cannot be told (a
        fact's value is not a text)."""
        kind, facts = self._verdict(rec.msg.rstrip(), rec.prefix, row)
        spans = _value_spans(text, facts)
        return None if spans is None else (kind, facts, spans)

    def _verdict(self, message: str, prefix: str, row: int | None) -> tuple[str | None, list[tuple[str, Any]] | None]:
        """The kind of a record (None: none when ``row`` fails) and the facts it gives whatever came before (None:
        it changes the VMSnapshot extension's state, a settings file or an enable)."""
        found = _classified(message, prefix, row)
        if found is None:
            return None, None
        kind, attrs, component = found
        if attrs.get("extension") == VMSNAPSHOT and ("seq" in attrs or kind == "extension.enable"):
            return kind, None
        return kind, _fact_values(kind, attrs, component)

    def _facts(self, e: Event) -> None:
        a = e.attrs
        kind = e.kind
        for name, value in _fact_values(kind, a, e.component):
            self._fact_once(name, value, e)
        ext = a.get("extension", "")
        if ext != VMSNAPSHOT:
            return
        if "seq" in a:
            self._settings_seq[ext] = (a["seq"], e.line)
        elif kind == "extension.enable":
            seq, seq_line = self._settings_seq.pop(ext, (None, None))
            if seq is not None:
                a.setdefault("seq", seq)
            value = {"ts": e.ts.isoformat() if e.ts else None, "seq": seq, "task_id": None,
                     "source": self.ctx.source, "local": e.local}
            text = f"enable of {ext} at line {e.line}"
            if seq is not None:
                text += f", settings file {seq}.settings at line {seq_line}"
            self.ctx.fact("vmsnapshot.invocation", value, line=e.line, ts=e.ts, text=text)


def kind_without_facts(rec: Record) -> str | None:
    """The kind of ``rec`` (no escapes, no telemetry payload) when it can give no fact whatever came before it and
    is not the VMSnapshot extension's, so that every record equal to it but for its time may wait; else None."""
    message = "\n".join([rec.msg, *rec.extra]).rstrip() if rec.extra else rec.msg.rstrip()
    found = _classified(message, rec.prefix)
    assert found is not None
    kind, attrs, component = found
    return None if attrs.get("extension") == VMSNAPSHOT or _fact_values(kind, attrs, component) else kind


def _classified(message: str, prefix: str, row: int | None = None) -> tuple[str, dict[str, Any], str] | None:
    """(kind, the attrs ``_facts`` reads, set as ``_event`` sets them, component) of a record's message; None when
    ``row`` (the only row tried) does not match."""
    found = AGENT_TABLE.classify(message) if row is None else AGENT_TABLE.row(row, message)
    if found is None and row is not None:
        return None
    kind, extra = found if found is not None else (GENERIC_KIND, {})
    component, extension, version = split_prefix(prefix) if prefix else ("", "", "")
    attrs: dict[str, Any] = {}
    if extension:
        attrs["extension"] = extension
        if version:
            attrs["version"] = version
    for k, v in extra.items():
        attrs.setdefault(k, v)
    return kind, attrs, component


def _fact_values(kind: str, a: dict[str, Any], component: str) -> list[tuple[str, Any]]:
    """The facts an event of ``kind`` with attrs ``a`` gives once per change of value (``AgentEvents._fact_once``)."""
    out: list[tuple[str, Any]] = []
    if kind in AgentEvents.VERSION_KINDS and "version" in a:
        if a.get("role") == "daemon":
            out.append(("agent.daemon_version", a["version"]))
        elif kind == "agent.heartbeat" or component != "Daemon":
            out.append(("agent.goal_state_version", a["version"]))
    elif kind == "wireserver.endpoint" and a.get("endpoint"):
        out.append(("wireserver.endpoint", a["endpoint"]))
    elif "python" in a:
        out.append(("agent.python_version", a["python"]))
    elif kind == "agent.config" and a.get("key") == "HttpProxy":
        out.append(("proxy", {"host": a.get("host"), "port": a.get("port"), "source": "waagent.log"}))
    if a.get("extension", "") == VMSNAPSHOT:
        version = a.get("version", "")
        if version.count(".") >= 2:  # "1.0" in extension.log is the HandlerEnvironment schema, not a build
            out.append(("vmsnapshot.version", version))
    return out


_MASK_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_ASCII_DIGIT = re.compile("[0-9]")
_QUIET_MEMO = 4096  # shapes remembered per member (a log of ever new shapes starts again)


def _value_spans(message: str, facts: list[tuple[str, Any]] | None) -> list[tuple[int, int, str]] | None:
    """Every place in ``message`` holding the value of one of ``facts`` that has a digit (the digits a verdict of
    ``message``'s shape depends on); None when a value is not a text (it cannot be told where it comes from)."""
    spans: list[tuple[int, int, str]] = []
    for _, value in facts or ():
        if not isinstance(value, str):
            return None
        if _ASCII_DIGIT.search(value) is None:
            continue  # no digit: the masked text holds it as it is
        at = message.find(value)
        while at >= 0:
            spans.append((at, at + len(value), value))
            at = message.find(value, at + 1)
    return spans


def _payload_grammar() -> Any:
    import pyparsing as pp

    duration = pp.Regex(r"-?\d+")("duration")
    end = pp.Literal(", duration=") + duration + pp.StringEnd()
    return (pp.Literal("Event: name=") + pp.SkipTo(", op=")("name") + pp.Literal(", op=")
            + pp.SkipTo(", message=")("op") + pp.Literal(", message=") + pp.SkipTo(end)("message") + end)
