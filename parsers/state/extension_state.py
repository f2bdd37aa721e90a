"""Extension handler state: HandlerState, HandlerStatus, ``status/<seq>.status``, ``config/<seq>.settings``.

Files live in ``/var/lib/waagent/<Publisher.Type>-<version>/`` (Linux) or
``C:\\Packages\\Plugins\\<Publisher.Type>\\<version>\\`` (Windows); the extension name and version come
from that folder. A VMSnapshot status file looks like (``status/0.status``)::

    [{"version": "1.0", "timestampUTC": "2019-06-06T23:52:59Z", "status": {"name": "...",
      "operation": "Enable", "status": "success", "code": 1, "taskId": "e5e5602b-...",
      "commandStartTimeUTCTicks": "636953997844977993", "telemetryData": [{"Key": "...", "Value": "..."}]}}]

Settings carry encrypted ``protectedSettings`` and, for VMSnapshot, public values such as ``objectStr``
and blob URIs that hold tokens: only an allow-list of public values (task id, command start time, VM
type, locale) and the *names* of the public keys ever leave this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from parsers._structured import as_int, load_json, parse_utc, read_state
from parsers.base import Event, ParseContext, Parser, from_dotnet_ticks
from parsers.error_messages import error_code
from parsers.text import head_text

_LINUX_DIR = re.compile(r"(?P<name>[A-Za-z][\w.]*\w)-(?P<version>\d+(?:\.\d+){1,3})")
_VERSION = re.compile(r"\d+(?:\.\d+){1,3}")
_SEQ = re.compile(r"(\d+)\.(?:status|settings)(?:_.*)?")
_LEVELS = {"error": "error", "warning": "warning"}
_TEXT_MAX = 2000


def handler_from_path(path: str) -> tuple[str | None, str | None]:
    """(extension, version) from ``<Publisher.Type>-<version>/`` or ``Plugins/<Publisher.Type>/<version>/``."""
    parts = path.replace("\\", "/").split("/")
    for i, part in enumerate(parts[:-1]):
        m = _LINUX_DIR.fullmatch(part)
        if m:
            return m["name"], m["version"]
        if part.lower() == "plugins" and i + 2 < len(parts) - 1 and _VERSION.fullmatch(parts[i + 2]):
            return parts[i + 1], parts[i + 2]
    return None, None


def is_vmsnapshot(extension: str | None) -> bool:
    return bool(extension) and "vmsnapshot" in str(extension).lower()


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts is not None else None


def _short(value: Any) -> str | None:
    return value[:_TEXT_MAX] if isinstance(value, str) else None


def _code(value: Any) -> int | str | None:
    number = as_int(value)
    return number if number is not None else _short(value)


def public_summary(public: Any) -> dict[str, Any]:
    """The allow-listed public settings of one handler (never objectStr, URIs, commands or scripts)."""
    if isinstance(public, str):
        try:
            public = json.loads(public)
        except (ValueError, RecursionError):
            public = None
    if not isinstance(public, dict):
        public = {}
    ticks = public.get("commandStartTimeUTCTicks")
    start = from_dotnet_ticks(ticks) if isinstance(ticks, (int, str)) and str(ticks).strip() else None
    return {"task_id": _short(public.get("taskId")), "command_start": iso(start),
            "vm_type": _short(public.get("vmType")), "locale": _short(public.get("locale")),
            "public_keys": sorted(str(k)[:100] for k in public)[:100]}


def _message(status: dict[str, Any]) -> str | None:
    fm = status.get("formattedMessage")
    if isinstance(fm, dict):
        return _short(fm.get("message", fm.get("Message")))
    return _short(status.get("message"))


def status_record(status: dict[str, Any], extension: str | None, version: str | None, seq: int | None,
                  ts: datetime | None) -> dict[str, Any]:
    """The ``extension.status`` value of one status object (``.status`` file, status blob, substatus)."""
    telemetry = {str(d.get("Key"))[:100]: str(d.get("Value"))[:500] for d in status.get("telemetryData") or []
                 if isinstance(d, dict)} if isinstance(status.get("telemetryData"), list) else {}
    ticks = status.get("commandStartTimeUTCTicks")
    start = from_dotnet_ticks(ticks) if isinstance(ticks, (int, str)) and str(ticks).strip() else None
    return {"extension": extension or _short(status.get("name")),
            "version": version or telemetry.get("extensionVersion"),
            "seq": seq, "status": _short(status.get("status")), "code": _code(status.get("code")),
            "message": _message(status), "operation": _short(status.get("operation")), "ts": iso(ts),
            "task_id": _short(status.get("taskId")), "command_start": iso(start), "telemetry": telemetry}


def status_events(doc: Any, ctx: ParseContext, extension: str | None, version: str | None,
                  seq: int | None, republished: bool = False) -> Iterator[Event]:
    """Facts and events of a status document: a list of ``{version, timestampUTC, status}`` entries.

    A ``.status`` file is the end of the extension's run for ``seq``, dated by its ``timestampUTC``; its
    ``commandStartTimeUTCTicks`` (when present) dates the request (``vmsnapshot.invocation``, source
    ``status``). ``republished``: the agent's aggregate status or status blob, whose time is when the
    agent published it, not when the run ended (``attrs.republished``, no request fact)."""
    for entry in doc if isinstance(doc, list) else [doc]:
        status = entry.get("status") if isinstance(entry, dict) else None
        if not isinstance(status, dict):
            ctx.problem("problem.status_entry_no_status")
            continue
        ts = parse_utc(entry.get("timestampUTC"))
        rec = status_record(status, extension, version, seq, ts)
        if republished:
            rec["republished"] = True
        ctx.fact("extension.status", rec, ts=ts)
        if is_vmsnapshot(rec["extension"]) and rec["command_start"] and not republished:
            ctx.fact("vmsnapshot.invocation", {"ts": rec["command_start"], "seq": seq, "task_id": rec["task_id"],
                                               "source": "status"}, ts=parse_utc(rec["command_start"]))
        if ts is not None:
            extra: dict[str, Any] = {"republished": True} if republished else {}
            if rec["message"] and (code := error_code(rec["message"])):  # named, or its catalog message quoted
                extra["error_code"] = code
            yield ctx.event(ts, 1, f"{rec['extension']} {rec['operation'] or ''} status {rec['status']} "
                                   f"code {rec['code']}: {rec['message'] or ''}".replace("  ", " "),
                            level=_LEVELS.get(str(rec["status"]).lower(), "info"), component=rec["extension"] or "",
                            kind="extension.status", extension=rec["extension"], status=rec["status"],
                            code=rec["code"], seq=seq, task_id=rec["task_id"], **extra)
        for sub in status.get("substatus") or []:
            name = sub.get("name") if isinstance(sub, dict) else None
            if isinstance(name, str) and name.lstrip().startswith("[{"):  # VMSnapshot nests its own status here
                try:
                    nested = json.loads(name)
                except (ValueError, RecursionError):
                    ctx.problem("problem.substatus_json")
                    continue
                yield from status_events(nested, ctx, extension, version, seq, republished)


def settings_fact(public: Any, ctx: ParseContext, extension: str | None, version: str | None, seq: int | None,
                  source: str, line: int | None = None) -> dict[str, Any]:
    """Record the allow-listed public settings of one handler (``extension.settings``) and return them."""
    rec = {"extension": extension, "version": version, "seq": seq, **public_summary(public)}
    start = parse_utc(rec["command_start"])
    ctx.fact("extension.settings", rec, line=line, ts=start)
    if is_vmsnapshot(extension) and (rec["task_id"] or start):
        ctx.fact("vmsnapshot.invocation", {"ts": rec["command_start"], "seq": seq, "task_id": rec["task_id"],
                                           "source": source}, line=line, ts=start)
    return rec


def _settings(doc: dict[str, Any], ctx: ParseContext, extension: str | None, version: str | None,
              seq: int | None) -> Iterator[Event]:
    runtime = doc.get("runtimeSettings")
    for item in runtime if isinstance(runtime, list) else []:
        handler = item.get("handlerSettings") if isinstance(item, dict) else None
        if not isinstance(handler, dict):
            ctx.problem("problem.runtime_settings_no_handler")
            continue
        rec = settings_fact(handler.get("publicSettings"), ctx, extension, version, seq, "settings")
        start = parse_utc(rec["command_start"])
        if start is not None:
            yield ctx.event(start, 1, f"{extension} enable requested (seq {seq}, task {rec['task_id']})",
                            component=extension or "", kind="extension.enable", extension=extension,
                            version=version, seq=seq, task_id=rec["task_id"])


def _named(doc: list[Any], key: str) -> dict[str, Any]:
    first = doc[0] if doc and isinstance(doc[0], dict) else {}
    inner = first.get(key)
    return {"name": _short(first.get("name")), "version": first.get("version"),
            **(inner if isinstance(inner, dict) else {})}


def _json_file(doc: Any, ctx: ParseContext, extension: str | None, version: str | None,
               seq: int | None) -> Iterator[Event]:
    first = doc[0] if isinstance(doc, list) and doc and isinstance(doc[0], dict) else None
    if isinstance(doc, dict) and "runtimeSettings" in doc:
        yield from _settings(doc, ctx, extension, version, seq)
    elif first is not None and "handlerEnvironment" in first:
        env = _named(doc, "handlerEnvironment")
        ctx.fact("extension.handler_environment", {
            "extension": extension or env["name"], "version": version or str(env["version"]),
            "log_folder": _short(env.get("logFolder")), "config_folder": _short(env.get("configFolder")),
            "status_folder": _short(env.get("statusFolder")), "events_folder": _short(env.get("eventsFolder"))})
    elif first is not None and "handlerManifest" in first:
        man = _named(doc, "handlerManifest")
        ctx.fact("extension.handler_manifest", {
            "extension": extension or man["name"], "version": version or _short(man["version"]),
            "report_heartbeat": man.get("reportHeartbeat"), "enable_command": _short(man.get("enableCommand")),
            "update_mode": _short(man.get("updateMode"))})
    elif isinstance(doc, dict) and isinstance(doc.get("status"), str):  # config/HandlerStatus
        ctx.fact("extension.handler_status", {
            "extension": extension or _short(doc.get("name")), "version": version or _short(doc.get("version")),
            "status": doc["status"][:100], "code": _code(doc.get("code")), "message": _message(doc)})
    elif (first is not None and isinstance(first.get("status"), dict)) or (isinstance(doc, dict) and "status" in doc):
        yield from status_events(doc, ctx, extension, version, seq)
    else:
        ctx.problem("problem.extension_state_unknown_json")


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    data = read_state(stream, ctx)
    name = ctx.path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    extension, version = handler_from_path(ctx.path)
    m = _SEQ.fullmatch(name)
    seq = int(m.group(1)) if m else None
    if name == "handlerstate" or name.endswith(".handlerstate"):
        state = data.decode("utf-8", "replace").strip()
        if re.fullmatch(r"[A-Za-z]{1,40}", state):
            ctx.fact("extension.handler_state", {"extension": extension, "version": version, "state": state}, line=1)
        else:
            ctx.problem("problem.handler_state_word", 1)
    elif name == "seqnumber.txt":
        number = as_int(data.decode("utf-8", "replace").lstrip("\ufeff"))
        if number is None:
            ctx.problem("problem.seq_number_not_number", 1)
        else:
            ctx.fact("extension.seq_number", {"extension": extension, "version": version, "seq": number}, line=1)
    else:
        doc = load_json(data, ctx)
        if doc is not None:
            yield from _json_file(doc, ctx, extension, version, seq)
    if is_vmsnapshot(extension) and version and not ctx.problems:
        ctx.fact("vmsnapshot.version", version, text=f"folder {extension}-{version}")


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return ('"runtimeSettings"' in text or '"handlerEnvironment"' in text or '"handlerManifest"' in text
            or ('"timestampUTC"' in text and '"status"' in text and '"aggregateStatus"' not in text))


PARSER = Parser(name="extension_state", parse=parse, sniff=sniff,
                description="extension HandlerState/HandlerStatus, .status, .settings, HandlerEnvironment")
