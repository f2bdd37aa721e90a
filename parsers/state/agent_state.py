"""The agent's own state files in ``/var/lib/waagent`` (and the Windows AggregateStatus JSON).

* ``waagent_status*.json`` in three generations: 2.2.34-2.4 ``{"agent_name": "WALinuxAgent",
  "current_version": "2.2.45", "goal_state_version": "2.2", "distro_details": "ubuntu:18.04", ...}``;
  2.5-2.7 the status blob plus ``_metadataNotSentToCRP``; 2.8+ the status blob alone
  (``{"version": "1.1", "timestampUTC": ..., "aggregateStatus": {"guestAgentStatus": ...}}``);
* ``history/*/VmSettings.json`` (FastTrack goal state), ``history/*/Certificates.json`` (thumbprints);
* ``WALinuxAgent-<ver>/error.json`` ``{"last_failure": 1700000000.0, "failure_count": 3, "was_fatal": false,
  "reason": "..."}``;
* InVMArtifactsProfile ``{"onHold": true}``;
* one-line files ``Incarnation``, ``WireServerEndpoint``, ``Protocol``, ``provisioned``.

SAS URLs (``statusUploadBlob``) and ``protectedSettings`` are never copied: only their presence.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from parsers._structured import as_int, load_json, parse_utc, read_state
from parsers.base import Event, ParseContext, Parser
from parsers.state.extension_state import handler_from_path, iso, settings_fact, status_events
from parsers.text import head_text

_ONE_LINE = ("incarnation", "wireserverendpoint", "protocol", "provisioned")
_STATUS_INCARNATION = re.compile(r"waagent_status\.(\d+)\.json", re.IGNORECASE)


def _str(value: Any, limit: int = 300) -> str | None:
    return str(value)[:limit] if isinstance(value, (str, int, float)) and str(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _message(obj: dict[str, Any]) -> str | None:
    fm = _dict(obj.get("formattedMessage"))
    return _str(fm.get("message", fm.get("Message")), 2000)


def _one_line(name: str, data: bytes, ctx: ParseContext) -> None:
    lines = data.decode("utf-8", "replace").lstrip("\ufeff").splitlines()
    value = lines[0].strip() if lines else ""
    if name == "provisioned":
        ctx.fact("agent.provisioned", True, line=1, text="provisioned marker file present")
    elif name == "incarnation":
        number = as_int(value)
        if number is None:
            ctx.problem("problem.incarnation_not_number", 1)
        else:
            ctx.fact("goalstate.incarnation", number, line=1)
    elif name == "wireserverendpoint":
        try:
            ctx.fact("wireserver.endpoint", str(ipaddress.ip_address(value)), line=1)
        except ValueError:
            ctx.problem("problem.wireserver_endpoint_not_ip", 1)
    elif value:
        ctx.fact("agent.protocol", value[:100], line=1)
    else:
        ctx.problem("problem.protocol_empty", 1)


def _legacy_status(doc: dict[str, Any], ctx: ParseContext) -> Iterator[Event]:
    """2.2.34-2.4: ``current_version`` is the running (goal-state) agent; ``goal_state_version`` the protocol."""
    version = _str(doc.get("current_version"), 50)
    if version:
        ctx.fact("agent.goal_state_version", version)
    python = _str(doc.get("python_version"), 100)
    if python:
        ctx.fact("agent.python_version", python.removeprefix("Python:").strip())
    distro = _str(doc.get("distro_details"), 100)
    if distro:
        ctx.fact("host.distro", distro.replace(":", " ").strip())
    upload = parse_utc(doc.get("last_successful_status_upload_time"))
    ctx.fact("agent.status", {"version": version, "status": None, "message": None, "last_upload": iso(upload)},
             ts=upload)
    for ext in _list(doc.get("extensions_status")):
        if isinstance(ext, dict):
            ctx.fact("extension.handler_status", {
                "extension": _str(ext.get("name")), "version": _str(ext.get("version"), 50),
                "status": _str(ext.get("status"), 100), "code": ext.get("code"), "message": _str(ext.get("message"))})
    if upload is not None:
        yield ctx.event(upload, 1, f"agent {version} last successful status upload", component="agent",
                        kind="agent.status", version=version)


def _status_blob(doc: dict[str, Any], ctx: ParseContext) -> Iterator[Event]:
    """The status blob the agent uploads (2.5+ ``waagent_status*.json``; Windows AggregateStatus)."""
    ts = parse_utc(doc.get("timestampUTC"))
    agg = _dict(doc.get("aggregateStatus"))
    ga = _dict(agg.get("guestAgentStatus"))
    version = _str(ga.get("version"), 50)
    status = _str(ga.get("status"), 100)
    windows = "windowsazure/" in ctx.path.lower().replace("\\", "/")
    if version:
        ctx.fact("agent.windows_version" if windows else "agent.goal_state_version", version, ts=ts)
    ctx.fact("agent.status", {"version": version, "status": status, "message": _message(ga), "last_upload": iso(ts)},
             ts=ts)
    meta = _dict(doc.get("_metadataNotSentToCRP"))
    if _str(meta.get("daemonVersion")):
        ctx.fact("agent.daemon_version", _str(meta.get("daemonVersion"), 50))
    if _str(meta.get("pythonVersion")):
        ctx.fact("agent.python_version", str(meta["pythonVersion"]).removeprefix("Python:").strip()[:50])
    os_info = _dict(doc.get("guestOSInfo"))
    if _str(os_info.get("computerName")):
        ctx.fact("host.name", _str(os_info.get("computerName"), 100))
    distro = " ".join(v for v in (_str(os_info.get("osName"), 60), _str(os_info.get("osVersion"), 60)) if v)
    if distro:
        ctx.fact("host.distro", distro)
    if ts is not None:
        yield ctx.event(ts, 1, f"agent {version} status {status}: {_message(ga) or ''}".strip(),
                        level="warning" if status and status.lower() != "ready" else "info", component="agent",
                        kind="agent.status", version=version, status=status)
    for handler in _list(agg.get("handlerAggregateStatus")):
        if not isinstance(handler, dict):
            continue
        name, hversion = _str(handler.get("handlerName")), _str(handler.get("handlerVersion"), 50)
        ctx.fact("extension.handler_status", {"extension": name, "version": hversion,
                                              "status": _str(handler.get("status"), 100), "code": handler.get("code"),
                                              "message": _message(handler)}, ts=ts)
        runtime = _dict(handler.get("runtimeSettingsStatus"))
        settings_status = runtime.get("settingsStatus")
        if isinstance(settings_status, dict):
            yield from status_events(settings_status, ctx, name, hversion, as_int(runtime.get("sequenceNumber")),
                                     republished=True)


def _vm_settings(doc: dict[str, Any], ctx: ParseContext) -> None:
    ctx.fact("vmsettings", {"host_ga_plugin_version": _str(doc.get("hostGAPluginVersion"), 50),
                            "schema_version": _str(doc.get("vmSettingsSchemaVersion"), 20),
                            "source": _str(doc.get("extensionGoalStatesSource"), 50),
                            "in_svd_seq_no": as_int(doc.get("inSvdSeqNo")), "on_hold": doc.get("onHold")})
    blob = _dict(doc.get("statusUploadBlob"))
    value = str(blob.get("value") or "")
    ctx.fact("status_upload_blob", {"type": _str(blob.get("statusBlobType"), 50), "present": bool(value),
                                    "redacted": "***REDACTED***" in value})
    vm = _dict(doc.get("inVMMetadata"))
    if vm:
        ctx.fact("azure.vm", {"name": _str(vm.get("vmName")), "vm_id": _str(vm.get("vmId")),
                              "location": _str(vm.get("location")), "vm_size": _str(vm.get("vmSize")),
                              "os_type": _str(vm.get("osType")), "subscription_id": _str(vm.get("subscriptionId")),
                              "resource_group": _str(vm.get("resourceGroupName"))})
    for family in _list(doc.get("gaFamilies")):
        if isinstance(family, dict):
            ctx.fact("agent.ga_family", {"name": _str(family.get("name"), 50),
                                         "version": _str(family.get("version"), 50),
                                         "from_rsm": family.get("isVersionFromRSM"),
                                         "rsm_enabled": family.get("isVMEnabledForRSMUpgrades")})
    for ext in _list(doc.get("extensionGoalStates")):
        if not isinstance(ext, dict):
            continue
        name, version, seq = _str(ext.get("name")), _str(ext.get("version"), 50), as_int(ext.get("settingsSeqNo"))
        ctx.fact("extension.plugin", {"name": name, "version": version, "state": _str(ext.get("state"), 50),
                                      "seq": seq, "auto_upgrade": ext.get("autoUpgrade")})
        for setting in _list(ext.get("settings")):
            if isinstance(setting, dict):
                settings_fact(setting.get("publicSettings"), ctx, name, version, seq, "vmsettings")


def _error_json(doc: dict[str, Any], ctx: ParseContext) -> Iterator[Event]:
    _, version = handler_from_path(ctx.path)
    last = doc.get("last_failure")
    when = None
    if isinstance(last, (int, float)) and last > 0:
        try:
            when = datetime.fromtimestamp(last, UTC)
        except (OverflowError, OSError, ValueError):
            ctx.problem("problem.last_failure_time")
    count, fatal, reason = as_int(doc.get("failure_count")), doc.get("was_fatal") is True, _str(doc.get("reason"), 2000)
    ctx.fact("agent.error_json", {"version": version, "failure_count": count, "was_fatal": fatal, "reason": reason,
                                  "last_failure": iso(when)}, ts=when)
    if when is not None:
        blacklisted = fatal or (count or 0) >= 3
        yield ctx.event(when, 1, f"agent {version} failure #{count} (fatal={fatal}): {reason or ''}".strip(),
                        level="error" if blacklisted else "warning", component="agent", kind="agent.crash",
                        version=version, failure_count=count, was_fatal=fatal, blacklisted=blacklisted)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    data = read_state(stream, ctx)
    name = ctx.path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name in _ONE_LINE:
        _one_line(name, data, ctx)
        return
    doc = load_json(data, ctx)
    if doc is None:
        return
    if isinstance(doc, list) and doc and all(isinstance(c, dict) and "thumbprint" in c for c in doc):
        for cert in doc:  # history Certificates.json: thumbprints only, never key material
            ctx.fact("certificates.thumbprint", {"thumbprint": _str(cert.get("thumbprint"), 100),
                                                 "has_private_key": cert.get("hasPrivateKey")})
    elif not isinstance(doc, dict):
        ctx.problem("problem.agent_state_unknown_json")
    elif "aggregateStatus" in doc:
        m = _STATUS_INCARNATION.search(name)
        if m:
            ctx.fact("goalstate.incarnation", int(m.group(1)))
        yield from _status_blob(doc, ctx)
    elif "current_version" in doc or "agent_name" in doc:
        yield from _legacy_status(doc, ctx)
    elif "extensionGoalStates" in doc or "hostGAPluginVersion" in doc:
        _vm_settings(doc, ctx)
    elif "onHold" in doc:  # InVMArtifactsProfile: extension processing held back (VM over-provisioning)
        ctx.fact("goalstate.on_hold", doc["onHold"] is True, text=f"onHold={doc['onHold']}"[:100])
    elif "last_failure" in doc or "failure_count" in doc:
        yield from _error_json(doc, ctx)
    else:
        ctx.problem("problem.agent_state_unknown_json")


_SNIFF_KEYS = ('"aggregateStatus"', '"extensionGoalStates"', '"hostGAPluginVersion"', '"hasPrivateKey"', '"onHold"')


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return (any(k in text for k in _SNIFF_KEYS) or ('"failure_count"' in text and '"last_failure"' in text)
            or ('"agent_name"' in text and '"current_version"' in text))


PARSER = Parser(name="agent_state", parse=parse, sniff=sniff,
                description="waagent_status*.json, VmSettings.json, error.json, Incarnation and other agent state")
