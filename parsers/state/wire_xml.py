"""WireServer goal-state XML: GoalState, ExtensionsConfig, HostingEnvironmentConfig, SharedConfig,
Certificates, ovf-env and the extension / agent version manifests.

The document element decides what a file is, whatever its name. A GoalState reads like::

    <GoalState ...><Version>2010-12-15</Version><Incarnation>1</Incarnation> ...
      <InstanceId>b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0</InstanceId>

Agents >= 2.9.0.4 keep ``GoalState.1.xml`` as ``<xml>empty placeholder file</xml>``: no data, no
incarnation. Secrets stay in the file: the StatusUploadBlob / InVMArtifactsProfileBlob SAS URLs
(only their presence is recorded), ``protectedSettings`` and any public setting outside the
allow-list of :func:`parsers.state.extension_state.public_summary`, Certificates ``Data``, ovf-env
``UserPassword`` and ``CustomData``, HostingEnvironmentConfig ``ApplicationSettings``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from parsers._structured import as_int, history_time, parse_xml, read_state, text_of
from parsers.base import Event, ParseContext, Parser
from parsers.state.extension_state import settings_fact
from parsers.text import head_text

_MANIFEST_NAME = re.compile(r"(.+?)(?:\.\d+)?\.(?:manifest|agentsmanifest)\b", re.IGNORECASE)
_SNIFF = ("<GoalState", "<Extensions ", "<Extensions>", "<HostingEnvironmentConfig", "<SharedConfig",
          "<CertificateFile", "<PluginVersionManifest", "ProvisioningSection", "<ExtensionImage",
          "<xml>empty placeholder file</xml>")


def _bool(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").strip().lower())


def _goal_state(root: Any, ctx: ParseContext) -> Iterator[Event]:
    incarnation = as_int(text_of(root, "Incarnation"))
    if incarnation is not None:
        ctx.fact("goalstate.incarnation", incarnation, line=root.find("Incarnation").sourceline)
    container = root.find("Container/ContainerId")
    if container is not None and container.text:
        ctx.fact("deployment.container_id", container.text.strip(), line=container.sourceline)
    for inst in root.iterfind("Container/RoleInstanceList/RoleInstance/InstanceId"):
        if inst.text:
            ctx.fact("role.instance", inst.text.strip(), line=inst.sourceline)
    ts = history_time(ctx.path)
    if ts is not None:
        yield ctx.event(ts, 1, f"goal state incarnation {incarnation} saved to history", component="agent",
                        kind="goalstate.fetched", incarnation=incarnation)


def _extensions_config(root: Any, ctx: ParseContext) -> None:
    incarnation = as_int(root.get("goalStateIncarnation"))
    if incarnation is not None:
        ctx.fact("goalstate.incarnation", incarnation, line=root.sourceline)
    for fam in root.iterfind("GuestAgentExtension/GAFamilies/GAFamily"):
        ctx.fact("agent.ga_family", {"name": text_of(fam, "Name"), "version": text_of(fam, "Version"),
                                     "from_rsm": _bool(text_of(fam, "IsVersionFromRSM")),
                                     "rsm_enabled": _bool(text_of(fam, "IsVMEnabledForRSMUpgrades"))},
                 line=fam.sourceline)
    blob = root.find("StatusUploadBlob")
    if blob is not None:
        ctx.fact("status_upload_blob", {"type": blob.get("statusBlobType"), "present": bool((blob.text or "").strip()),
                                        "redacted": "***REDACTED***" in (blob.text or "")}, line=blob.sourceline)
    seqs: dict[tuple[str | None, str | None], int | None] = {}
    for plugin in root.iterfind("PluginSettings/Plugin"):
        name, version = plugin.get("name"), plugin.get("version")
        for rs in plugin.iterfind("RuntimeSettings"):
            seq = as_int(rs.get("seqNo"))
            seqs[(name, version)] = seq
            _runtime_settings(rs.text or "", ctx, name, version, seq, rs.sourceline)
    for plugin in root.iterfind("Plugins/Plugin"):
        name, version = plugin.get("name"), plugin.get("version")
        ctx.fact("extension.plugin", {"name": name, "version": version, "state": plugin.get("state"),
                                      "seq": seqs.get((name, version)),
                                      "auto_upgrade": _bool(plugin.get("autoUpgrade"))}, line=plugin.sourceline)


def _runtime_settings(text: str, ctx: ParseContext, name: str | None, version: str | None, seq: int | None,
                      line: int | None) -> None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        ctx.problem("problem.runtime_settings_json", line, name=name)
        return
    runtime = doc.get("runtimeSettings") if isinstance(doc, dict) else None
    for item in runtime if isinstance(runtime, list) else []:
        handler = item.get("handlerSettings") if isinstance(item, dict) else None
        if isinstance(handler, dict):
            settings_fact(handler.get("publicSettings"), ctx, name, version, seq, "extensions_config", line)


def _deployment(root: Any, ctx: ParseContext) -> None:
    """HostingEnvironmentConfig and SharedConfig: cloud service (deployment), role, role instances."""
    dep = root.find("Deployment")
    if dep is not None and dep.get("name"):
        ctx.fact("deployment.name", dep.get("name"), line=dep.sourceline)
    role = root.find("Role")
    if role is not None and role.get("name"):
        ctx.fact("role.name", role.get("name"), line=role.sourceline)
    instances = root.findall("Instances/Instance") if root.tag == "SharedConfig" else root.findall("Incarnation")
    for inst in instances:
        ident = inst.get("id") or inst.get("instance")
        if ident:
            ctx.fact("role.instance", ident, line=inst.sourceline)


def _certificates(root: Any, ctx: ParseContext) -> None:
    ctx.fact("certificates.meta", {"format": text_of(root, "Format"),
                                   "incarnation": as_int(text_of(root, "Incarnation")),
                                   "version": text_of(root, "Version"), "has_data": text_of(root, "Data") is not None},
             line=root.sourceline)


def _ovf_env(root: Any, ctx: ParseContext) -> None:
    for el in root.iter("ProvisionGuestAgent"):
        value = _bool(el.text)
        if value is None:
            ctx.problem("problem.provision_guest_agent_value", el.sourceline)
        else:
            ctx.fact("ovf.provision_guest_agent", value, line=el.sourceline)
    for el in root.iter("HostName"):
        if el.text and el.text.strip():
            ctx.fact("host.name", el.text.strip(), line=el.sourceline, text="ovf-env.xml HostName")


def _manifest(root: Any, ctx: ParseContext) -> None:
    base = ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    m = _MANIFEST_NAME.match(base)
    uris = " ".join(u.text or "" for u in root.iter("Uri"))
    agent = "agentsmanifest" in base.lower() or "WALinuxAgent" in uris or "LinuxAgent" in uris
    ctx.fact("manifest.versions", {
        "name": m.group(1) if m else base, "kind": "agent" if agent else "extension",
        "versions": [v for v in (text_of(p, "Version") for p in root.iterfind("Plugins/Plugin")) if v],
        "internal_versions": [v for v in (text_of(p, "Version") for p in root.iterfind("InternalPlugins/Plugin")) if v],
    }, line=root.sourceline)


def _extension_image(root: Any, ctx: ParseContext) -> None:
    name = ".".join(v for v in (text_of(root, "ProviderNameSpace"), text_of(root, "Type")) if v)
    ctx.fact("extension.image", {"name": name or None, "version": text_of(root, "Version")}, line=root.sourceline)


_HANDLERS: dict[str, Callable[[Any, ParseContext], Iterator[Event] | None]] = {
    "GoalState": _goal_state, "Extensions": _extensions_config, "HostingEnvironmentConfig": _deployment,
    "SharedConfig": _deployment, "CertificateFile": _certificates, "Environment": _ovf_env,
    "PluginVersionManifest": _manifest, "ExtensionImage": _extension_image,
}


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[Event]:
    root = parse_xml(read_state(stream, ctx), ctx)
    if root is None:
        return
    if root.tag == "xml" and (root.text or "").strip() == "empty placeholder file":
        return  # agents >= 2.9.0.4: the goal state is in history/, this file says nothing
    handler = _HANDLERS.get(root.tag)
    if handler is None:
        ctx.problem("problem.goal_state_unknown_document", root.sourceline, tag=str(root.tag)[:60])
        return
    events = handler(root, ctx)
    if events is not None:
        yield from events


def sniff(path: str, head: bytes) -> bool:
    text = head_text(head)
    return any(s in text for s in _SNIFF)


PARSER = Parser(name="wire_xml", parse=parse, sniff=sniff,
                description="GoalState, ExtensionsConfig, HostingEnvironmentConfig, SharedConfig, Certificates, "
                            "ovf-env, manifests")
