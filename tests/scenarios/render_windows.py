"""Write a :class:`WindowsVM` out: WaAppAgent.log format A or B, event logs in every export people make,
``.reg`` exports, ``systeminfo``, ``vssadmin list writers`` and ``sc qc`` output, plugin files.

Export formats (windows-formats §2): ``evtx`` (binary, ``evtx_writer.py``), ``xml`` (Event Viewer "Save as
XML", an ``<Events>`` root), ``wevtutil_xml`` (``wevtutil qe /f:xml``: fragments without a root), ``csv``
(Event Viewer "Save All Events As" CSV, local time in the exporting locale), ``txt`` (its tab-separated
sibling), ``wevtutil_text`` (``/f:text``, local ISO time), ``copied`` ("Copy details as text" blocks, some
with their ``Event Xml:``), ``formatlist`` (``Get-WinEvent | Format-List``), ``keyvalue`` (a ticket paste
in ``Key = value`` lines without a ``Log Name:`` header, issue 13 class 8). Local-time exports are written
in the VM's zone; the reveal axis decides how the bundle shows it (registry, systeminfo, a UTC twin).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from tests.scenarios.vm import VM
from tests.scenarios.windows import LEVEL_NAME, PLUGIN_LOGS, VMS, WindowsVM, WinEvent
from tests.scenarios.zones import registry_tzi

Files = dict[str, bytes]


def waa_lines(vm: WindowsVM) -> list[str]:
    """WaAppAgent.log: ``[TID] [MM/DD/YYYY HH:MM:SS.cc] [LEVEL]  msg`` (A) or ``[TID] ISO.fffZ [LEVEL] msg`` (B)."""
    out = []
    for t, level, msg, tid in sorted(vm.waa):
        u = t.astimezone(UTC)
        if vm.variant.waa == "A":
            pad = "  " if level in ("INFO", "WARN") else " "
            out.append(f"[{tid:08d}] [{u:%m/%d/%Y %H:%M:%S}.{u.microsecond // 10000:02d}] [{level}]{pad}{msg}")
        else:
            pad = "" if (tid + u.second) % 3 == 0 else " "  # the separator is not fixed (reference §1.3)
            out.append(f"[{tid:08d}] {u:%Y-%m-%dT%H:%M:%S}.{u.microsecond // 1000:03d}Z [{level}]{pad}{msg}")
    return out


def bcdr_lines(vm: WindowsVM) -> list[str]:
    pid = 1000 + vm.rng.randint(0, 8000)
    return [f"[{pid:08d}] {t.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z [{lvl}] {msg}"
            for t, lvl, msg in sorted(vm.bcdr)]


# --- events -----------------------------------------------------------------------------------------

def _ids(vm: WindowsVM) -> list[tuple[WinEvent, int]]:
    evs = sorted(vm.events, key=lambda e: e.t)
    return [(e, vm.record_id + i) for i, e in enumerate(evs)]


def event_xml(vm: WindowsVM, e: WinEvent, rid: int, rendering: bool = True) -> str:
    """One EvtRender-style record: single-quoted attributes, 7 fractional digits (windows-formats §2.2)."""
    u = e.t.astimezone(UTC)
    prov = f"<Provider Name='{escape(e.provider)}'"
    if e.guid:
        prov += f" Guid='{e.guid}'"
    if e.source_name:
        prov += f" EventSourceName='{escape(e.source_name)}'"
    prov += "/>"
    eid = f"<EventID Qualifiers='{e.qualifiers}'>{e.event_id}</EventID>" if e.qualifiers is not None else \
        f"<EventID>{e.event_id}</EventID>"
    data = "".join(f"<Data Name='{n}'>{escape(v)}</Data>" if n else f"<Data>{escape(v)}</Data>" for n, v in e.data)
    body = f"<EventData>{data}</EventData>" if e.data else "<EventData/>"
    render = (f"<RenderingInfo Culture='en-US'><Message>{escape(e.message)}</Message><Level>{LEVEL_NAME[e.level]}"
              f"</Level><Task></Task><Opcode></Opcode><Channel>{e.channel}</Channel><Provider>{escape(e.provider)}"
              "</Provider><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo>") if rendering else ""
    return (f"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>{prov}{eid}<Version>0"
            f"</Version><Level>{e.level}</Level><Task>{e.task}</Task><Opcode>0</Opcode><Keywords>{e.keywords}"
            f"</Keywords><TimeCreated SystemTime='{u:%Y-%m-%dT%H:%M:%S}.{u.microsecond:06d}0Z'/><EventRecordID>{rid}"
            f"</EventRecordID><Correlation/><Execution ProcessID='{700 + rid % 300}' ThreadID='{4000 + rid % 900}'/>"
            f"<Channel>{e.channel}</Channel><Computer>{vm.host}</Computer><Security/></System>{body}{render}</Event>")


def _us_time(t: datetime) -> str:
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def export(vm: WindowsVM, channel: str, fmt: str) -> str:
    evs = [(e, rid) for e, rid in _ids(vm) if e.channel == channel]
    local = vm.zone.local
    if fmt == "xml":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Events>' + "".join(event_xml(vm, e, r) for e, r in evs)
                + "</Events>\n")
    if fmt == "wevtutil_xml":
        return "".join(event_xml(vm, e, r, rendering=False) for e, r in evs) + "\n"
    newest = list(reversed(evs))  # Event Viewer lists the newest first
    if fmt == "csv":
        rows = ["Level,Date and Time,Source,Event ID,Task Category"]
        rows += [f"{LEVEL_NAME[e.level]},{_us_time(local(e.t))},{_csv_cell(e.provider)},{e.event_id},None,"
                 f"{_csv_cell(e.message)}" for e, _ in newest]
        return "\n".join(rows) + "\n"
    if fmt == "txt":  # the header ends in a tab on some exports (the message column's name is empty): odd seeds
        rows = ["Level\tDate and Time\tSource\tEvent ID\tTask Category" + "\t" * (vm.variant.seed % 2)]
        rows += [f"{LEVEL_NAME[e.level]}\t{_us_time(local(e.t))}\t{e.provider}\t{e.event_id}\tNone\t"
                 f"{_csv_cell(e.message)}" for e, _ in newest]
        return "\n".join(rows) + "\n"
    if fmt == "wevtutil_text":
        out = []
        for i, (e, _) in enumerate(evs):
            lt = local(e.t)
            out.append(f"Event[{i}]:\n  Log Name: {channel}\n  Source: {e.provider}\n  Date: "
                       f"{lt:%Y-%m-%dT%H:%M:%S}.{lt.microsecond // 1000:03d}\n  Event ID: {e.event_id}\n  Task: N/A\n"
                       f"  Level: {LEVEL_NAME[e.level]}\n  Opcode: Info\n  Keyword: Classic\n  User: {e.user}\n"
                       f"  User Name: {e.user}\n  Computer: {vm.host}\n  Description: \n{e.message}\n")
        return "\n".join(out)
    if fmt == "copied":
        out = []
        for k, (e, rid) in enumerate(newest):
            block = (f"Log Name:      {channel}\nSource:        {e.provider}\nDate:          {_us_time(local(e.t))}\n"
                     f"Event ID:      {e.event_id}\nTask Category: None\nLevel:         {LEVEL_NAME[e.level]}\n"
                     f"Keywords:      Classic\nUser:          {e.user}\nComputer:      {vm.host}\nDescription:\n"
                     f"{e.message}\n")
            if k % 2 == 0:
                block += "Event Xml:\n" + event_xml(vm, e, rid, rendering=False).replace("><", ">\n  <") + "\n"
            out.append(block)
        return "\n".join(out)
    if fmt == "formatlist":
        return "\n".join(f"\nTimeCreated  : {_us_time(local(e.t))}\nProviderName : {e.provider}\nId           : "
                         f"{e.event_id}\nLevelDisplayName : {LEVEL_NAME[e.level]}\nMessage      : "
                         + e.message.replace("\n", "\n               ") + "\n" for e, _ in newest)
    if fmt == "keyvalue":
        return "\n".join(f"Source = {e.provider}\nEvent ID = {e.event_id}\nLevel = {LEVEL_NAME[e.level]}\nDate = "
                         f"{_us_time(local(e.t))}\nComputer = {vm.host}\nDescription = {e.message}\n"
                         for e, _ in newest)
    raise ValueError(fmt)


# --- command output and registry ----------------------------------------------------------------------

def reg_export(vm: WindowsVM, keys: dict[str, list[tuple[str, str]]]) -> bytes:
    enc = vm.variant.encoding
    head = "REGEDIT4" if enc == "utf8" else "Windows Registry Editor Version 5.00"
    parts = [head, ""]
    for key, values in keys.items():
        parts.append(f"[{key}]")
        parts += [f'"{n}"={v}' for n, v in values]
        parts.append("")
    text = "\r\n".join(parts) + "\r\n"
    if enc == "utf16":
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode("utf-8")


def systeminfo(vm: WindowsVM) -> str:
    boot = vm.zone.local(vm.earliest - timedelta(hours=2))
    return ("\nHost Name:                 " + vm.host + "\n"
            f"OS Name:                   {vm.os_name}\n"
            "OS Version:                10.0.17763 N/A Build 17763\n"
            "OS Manufacturer:           Microsoft Corporation\n"
            "OS Configuration:          Standalone Server\n"
            f"System Boot Time:          {boot.month}/{boot.day}/{boot.year}, {_us_time(boot).split(' ', 1)[1]}\n"
            "System Manufacturer:       Microsoft Corporation\n"
            "System Model:              Virtual Machine\n"
            "System Type:               x64-based PC\n"
            f"Time Zone:                 {vm.zone.display}\n"
            "Total Physical Memory:     8,191 MB\n"
            "Domain:                    WORKGROUP\n")


def vssadmin(vm: WindowsVM, indent: bool) -> str:
    pad = "   " if indent else ""
    out = ["vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool",
           "(C) Copyright 2001-2013 Microsoft Corp.", ""]
    for name, wid, state, text, err in vm.writers:
        out += [f"Writer name: '{name}'", f"{pad}Writer Id: {{{wid}}}",
                f"{pad}Writer Instance Id: {{{vm.guid()}}}", f"{pad}State: [{state}] {text}", f"{pad}Last error: {err}",
                ""]
    return "\n".join(out)


def sc_qc(name: str, start: str) -> str:
    code = {"AUTO_START": 2, "DEMAND_START": 3, "DISABLED": 4}[start]
    return (f"[SC] QueryServiceConfig SUCCESS\n\nSERVICE_NAME: {name}\n"
            "        TYPE               : 10  WIN32_OWN_PROCESS\n"
            f"        START_TYPE         : {code}   {start}\n        ERROR_CONTROL      : 1   NORMAL\n"
            f"        BINARY_PATH_NAME   : C:\\Packages\\Plugins\\{VMS}\\1.0.92.0\\IaaSVmProvider.exe\n"
            f"        DISPLAY_NAME       : {name}\n        SERVICE_START_NAME : LocalSystem\n")


def _text(vm: WindowsVM, text: str) -> bytes:
    enc = vm.variant.encoding
    if enc == "utf16":
        return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")
    if enc == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    return text.encode("utf-8")


def render(vm: VM) -> Files:
    """Logical name -> bytes; ``members`` maps the names to bundle paths per layout."""
    assert isinstance(vm, WindowsVM)
    v = vm.variant
    out: Files = {}
    for path, content in vm.files.items():
        out[path] = content.encode() if isinstance(content, str) else content
    out["C:/WindowsAzure/Logs/WaAppAgent.log"] = ("\n".join(waa_lines(vm)) + "\n").replace("\n", "\r\n").encode()
    if vm.bcdr:
        out[f"{PLUGIN_LOGS}/{vm.ext_version}/IaaSBcdrExtension.log"] = ("\r\n".join(bcdr_lines(vm)) + "\r\n").encode()
    channels = sorted({e.channel for e in vm.events})
    fmts = {v.events}
    if v.layout == "tss":
        fmts = {"evtx", "csv", "txt"}
    if v.reveal == "twin":
        fmts.add("evtx" if v.layout != "flat" else "xml")
    for channel in channels:
        for fmt in sorted(fmts):
            if fmt == "evtx":
                from tests.scenarios.evtx_writer import write_evtx

                out[f"events/{channel}.evtx"] = write_evtx(vm, [(e, r) for e, r in _ids(vm) if e.channel == channel])
            else:
                out[f"events/{channel}.{fmt}"] = _text(vm, export(vm, channel, fmt))
    keys = dict(vm.registry)
    if v.reveal == "registry":
        keys["HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\TimeZoneInformation"] = registry_tzi(
            vm.zone, vm.collected)
    for key, values in keys.items():
        out[f"registry/{key.rsplit(chr(92), 1)[-1]}.reg"] = reg_export(vm, {key: values})
    if v.reveal == "systeminfo":
        out["cmd/systeminfo.txt"] = _text(vm, systeminfo(vm))
    if vm.writers:
        out["cmd/vssadmin_list_writers.txt"] = _text(vm, vssadmin(vm, indent=vm.rng.random() < 0.5))
    if vm.services.get("IaaSVmProvider", ("", "AUTO_START"))[1] != "AUTO_START":
        out["cmd/sc_qc_IaaSVmProvider.txt"] = _text(vm, sc_qc("IaaSVmProvider", vm.services["IaaSVmProvider"][1]))
    return out


_EXT = {"evtx": "evtx", "xml": "xml", "wevtutil_xml": "xml", "csv": "csv", "txt": "txt", "wevtutil_text": "txt",
        "copied": "txt", "formatlist": "txt", "keyvalue": "txt"}


def members(vm: VM, files: Files, layout: str) -> dict[str, bytes | tuple[str, str]]:
    """Bundle member names per Windows layout (module docstring of ``layouts.py``)."""
    rng = vm.rng
    out: dict[str, bytes | tuple[str, str]] = {}
    root = rng.choice(["", "C/", f"{vm.host}/C/", "C_/"]) if layout == "guest" else ""
    for path, data in files.items():
        if path.startswith("C:/"):
            rel = path[3:]
            if layout == "flat":
                if "/RuntimeSettings/" in rel or "/Status/" in rel or rel.endswith("SeqNumber.txt"):
                    continue
                out[rel.rsplit("/", 1)[-1]] = data
            else:
                out[root + rel] = data
            continue
        kind, name = path.split("/", 1)
        if kind == "events":
            channel, fmt = name.rsplit(".", 1)
            ext = _EXT[fmt]
            if layout == "guest" and fmt == "evtx":
                out[root + f"Windows/System32/winevt/Logs/{channel}.evtx"] = data
            elif layout == "tss":
                out[f"{vm.host}_evt_{channel}.{ext}"] = data
            else:
                pick = rng.choice([f"{channel}.{ext}", f"{channel.lower()}_events.{ext}", f"{channel}-log.{ext}"])
                if fmt in ("copied", "keyvalue", "formatlist"):
                    pick = rng.choice([f"{channel}_pasted.txt", f"event_{channel.lower()}.txt", f"{channel}.txt"])
                out[(root if layout == "guest" else "") + ("EventLogs/" if layout == "guest" else "") + pick] = data
        elif kind == "registry":
            out[(root if layout == "guest" else "") + name] = data
        else:
            out[(root if layout == "guest" else "") + name] = data
    return out
