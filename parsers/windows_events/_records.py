"""Windows event records: one normalized shape for every export, and the event-id -> kind mapping.

The ``.evtx``, event XML, Event Viewer CSV/TXT and ``wevtutil /f:text`` parsers each read their own
format into a :class:`WinRecord` and hand it to :func:`to_event`, so that a Service Control Manager
7034 for ``WindowsAzureGuestAgent`` becomes the same ``service.crash`` event whichever way the
customer exported the log. Binary and XML exports carry structured ``EventData``; CSV and TXT
exports carry only the rendered message, so service names, start types and images are taken from
the data when present and from the message text otherwise. For example the EvtRender record::

    <EventID Qualifiers='16384'>7036</EventID> ... <Data Name='param1'>Volume Shadow Copy</Data>
    <Data Name='param2'>stopped</Data>

becomes kind ``service.state`` with ``attrs.service == "VSS"`` and ``attrs.state == "stopped"``.

Also here: level names, start-type names, HRESULT extraction (hex and signed decimal) and the
locale-aware reading of the local times that Event Viewer and PowerShell exports write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from parsers.base import GENERIC_KIND, Event, ParseContext
from parsers.extension_names import about_other_extension

# --- levels ------------------------------------------------------------------------------------

_LEVEL_NUMBERS = {0: "info", 1: "critical", 2: "error", 3: "warning", 4: "info", 5: "verbose"}
_LEVEL_WORDS = {
    "information": "info", "informational": "info", "info": "info", "logalways": "info",
    "audit success": "info", "successaudit": "info", "audit failure": "warning", "failureaudit": "warning",
    "warning": "warning", "error": "error", "critical": "critical", "verbose": "verbose",
    # common non-English Event Viewer exports
    "informationen": "info", "warnung": "warning", "fehler": "error", "kritisch": "critical",
    "avertissement": "warning", "erreur": "error", "critique": "critical",
    "informace": "info", "upozornění": "warning", "chyba": "error", "kritická": "critical",
}
_LEVEL_RANK = {name: i for i, name in enumerate(("debug", "verbose", "info", "warning", "error", "critical"))}


def level_of(value: int | str | None) -> tuple[str, int | None]:
    """A level number (``System/Level``) or display name to (normalized level, number or None)."""
    if isinstance(value, int):
        return _LEVEL_NUMBERS.get(value, "info"), value
    if value is None or value == "":
        return "info", None
    if value.strip().isdigit():
        n = int(value)
        return _LEVEL_NUMBERS.get(n, "info"), n
    return _LEVEL_WORDS.get(value.strip().lower(), "info"), None


# --- services ----------------------------------------------------------------------------------

#: display names of the services that detectors care about -> service (key) name
_SERVICE_DISPLAY = {
    "windows azure guest agent": "WindowsAzureGuestAgent",
    "rdagent": "RdAgent",
    "windows azure telemetry service": "WindowsAzureTelemetryService",
    "iaasvmprovider": "IaaSVmProvider",
    "volume shadow copy": "VSS",
    "sql server vss writer": "SQLWriter",
    "com+ system application": "COMSysApp",
    "com+ event system": "EventSystem",
    "distributed transaction coordinator": "MSDTC",
    "microsoft software shadow copy provider": "swprv",
    "windows installer": "msiserver",
    "dhcp client": "Dhcp",
    "cng key isolation": "KeyIso",
}
_SERVICE_KEYS = {v.lower(): v for v in _SERVICE_DISPLAY.values()}


def service_name(name: str) -> str:
    """The canonical service (key) name of a display or key name; unknown names are kept as written."""
    name = name.strip()
    low = name.lower()
    known = _SERVICE_KEYS.get(low) or _SERVICE_DISPLAY.get(low)
    if known:
        return known
    m = _DISPLAY_WITH_KEY.match(name)  # "AppX Deployment Service (AppXSVC)"
    return service_name(m.group(1)) if m else name


_DISPLAY_WITH_KEY = re.compile(r"^.+ \((\w+)\)$")
#: a known service named anywhere in a message in any language (``Der Dienst "Windows Azure Guest Agent" wurde
#: unerwartet beendet.``): service names are not translated, the sentence around them is
_KNOWN_NAMES = "|".join(re.escape(name) for name in sorted({*_SERVICE_DISPLAY, *_SERVICE_KEYS}, key=len, reverse=True))
_KNOWN_SERVICE = re.compile(rf"\b(?:{_KNOWN_NAMES})\b", re.I)


_START_TYPES = {
    "0": (0, "boot"), "boot": (0, "boot"), "boot start": (0, "boot"), "boot_start": (0, "boot"),
    "1": (1, "system"), "system": (1, "system"), "system start": (1, "system"), "system_start": (1, "system"),
    "2": (2, "auto"), "auto": (2, "auto"), "auto start": (2, "auto"), "auto_start": (2, "auto"),
    "automatic": (2, "auto"), "automatic (delayed start)": (2, "auto"), "autodelayed": (2, "auto"),
    "3": (3, "manual"), "manual": (3, "manual"), "demand start": (3, "manual"), "demand_start": (3, "manual"),
    "4": (4, "disabled"), "disabled": (4, "disabled"),
}


#: the start types and states of SCM 7040 and 7036 in the languages Windows writes them when an export has only the
#: rendered message (Event Viewer CSV/TXT of a Windows in another language: no EventData): lower-cased words,
#: the longer first
_LOCALIZED_START = tuple(sorted({
    "automatisch starten": "auto", "bei bedarf starten": "manual", "deaktiviert": "disabled",  # de
    "démarrage automatique": "auto", "démarrage à la demande": "manual", "désactivé": "disabled",  # fr
    "inicio automático": "auto", "inicio a petición": "manual", "inicio a pedido": "manual",  # es
    "deshabilitado": "disabled", "deshabilitada": "disabled",
    "avvio automatico": "auto", "avvio su richiesta": "manual", "disabilitato": "disabled",  # it
    "início automático": "auto", "início sob demanda": "manual", "desabilitado": "disabled",  # pt
    "desativado": "disabled",
    "starten bij aanvraag": "manual", "uitgeschakeld": "disabled",  # nl
    "automatické spuštění": "auto", "spuštění na vyžádání": "manual", "zakázáno": "disabled",  # cs
    "автоматически": "auto", "вручную": "manual", "отключена": "disabled", "отключено": "disabled",  # ru
    "自動開始": "auto", "要求に応じて開始": "manual", "無効": "disabled",  # ja
    "自动启动": "auto", "按需启动": "manual", "已禁用": "disabled", "禁用": "disabled",  # zh
}.items(), key=lambda kv: -len(kv[0])))
_LOCALIZED_STATE = tuple(sorted({
    "wird ausgeführt": "running", "beendet": "stopped",  # de
    "en cours d'exécution": "running", "arrêté": "stopped",  # fr
    "en ejecución": "running", "detenido": "stopped",  # es
    "in esecuzione": "running", "interrotto": "stopped",  # it
    "em execução": "running", "parado": "stopped",  # pt
    "wordt uitgevoerd": "running", "gestopt": "stopped",  # nl
    "spuštěno": "running", "zastaveno": "stopped",  # cs
    "работает": "running", "остановлена": "stopped",  # ru
    "実行中": "running", "停止": "stopped",  # ja
    "正在运行": "running", "已停止": "stopped",  # zh
}.items(), key=lambda kv: -len(kv[0])))


def _localized(message: str, words: tuple[tuple[str, str], ...]) -> list[str]:
    """The ``words`` a localized message holds, in the order it holds them (a longer word wins over one it holds)."""
    low = message[:2048].lower()
    found: list[tuple[int, int, str]] = []
    for word, value in words:
        start = low.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(s < end and start < e for s, e, _ in found):
                found.append((start, end, value))
            start = low.find(word, end)
    return [value for _, _, value in sorted(found)]


def start_type(value: int | str) -> tuple[int, str] | None:
    """A start type as number, SCM text (``auto start``), sc text (``AUTO_START``) or Get-Service word."""
    return _START_TYPES.get(str(value).strip().lower())


# --- HRESULTs ----------------------------------------------------------------------------------

_HRESULT = re.compile(r"(?<![0-9A-Za-z])(?:0x([0-9A-Fa-f]{8})|(-2\d{9}))(?![0-9A-Za-z])")
#: the VSS errors detectors judge, written by name (vsserror.h) or in the words of their message (windows-formats
#: §5.1): as their HRESULT
_VSS_NAMED = {"vss_e_unexpected_provider_error": "0x8004230F", "vss_e_flush_writes_timeout": "0x80042313",
              "vss_e_hold_writes_timeout": "0x80042314", "vss_e_writererror_timeout": "0x800423F2",
              "timed out while holding writes": "0x80042314"}
_RESTART = re.compile(r"restart|reboot", re.IGNORECASE)  # User32 1074 "restart", a message saying it reboots
_VSS_NAME = re.compile("|".join(map(re.escape, _VSS_NAMED)))  # over the lower-cased text


def _starts(text: str, first: str, second: str) -> list[int]:
    """Where ``first + second`` starts in ``text``, in order. Found by the rarer ``second`` (one-character
    searches are the fastest, and a long run of zeros holds no ``x``)."""
    found: list[int] = []
    at = text.find(second, 1)
    while at >= 0:
        if text[at - 1] == first:
            found.append(at - 1)
        at = text.find(second, at + 1)
    return found


def hresults(text: str) -> list[str]:
    """HRESULT-like codes in ``text`` as ``0x8004230F``; signed decimals (``-2147023143``) and the VSS errors
    written by name or message (``VSS_E_FLUSH_WRITES_TIMEOUT``) included."""
    low = text.lower()  # one C pass; the expressions below run only on texts that hold their first characters
    out: list[str] = []
    if "vss_e_" in low or "holding writes" in low:
        out += dict.fromkeys(_VSS_NAMED[m.group()] for m in _VSS_NAME.finditer(low))
    starts = _starts(text, "0", "x")
    if minus := _starts(text, "-", "2"):
        starts = sorted(starts + minus)
    end = 0
    for at in starts:  # every match of the expression starts at one of them: no scan of the whole text
        if at < end or (m := _HRESULT.match(text, at)) is None:  # the look-behind sees the text before ``at``
            continue
        end = m.end()
        if m.group(1):
            code = f"0x{m.group(1).upper()}"
        else:
            n = int(m.group(2))
            if n < -(2**31):
                continue
            code = f"0x{n & 0xFFFFFFFF:08X}"
        if code[2] in "89ABCDEF" and code not in out:  # failure codes only
            out.append(code)
    return out


# --- local times -------------------------------------------------------------------------------

_LOCAL_TS = re.compile(
    r"(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})[ T,]+"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
)


class LocalTimes:
    """Reads the local, locale-formatted times of one export file (``10/7/2016 06:38:24 PM``,
    ``07.09.2023 14:23:28``, ``2020-12-14T17:09:08.940``).

    Slash dates are read month-first until a date proves the file day-first (first field > 12);
    dotted dates are day-first. The reading then stays fixed for the file.
    """

    def __init__(self) -> None:
        self.day_first: bool | None = None

    def parse(self, text: str, at_start: bool = False) -> datetime | None:
        """The first date-time in ``text`` (with ``at_start``, only one that opens it, after ``[`` or blanks)."""
        if at_start:
            text = text.lstrip("[ \t")
        m = _LOCAL_TS.match(text) if at_start else _LOCAL_TS.search(text)
        if m is None:
            return None
        a, b, c = m.group("a"), m.group("b"), m.group("c")
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            year = int(c) + (2000 if len(c) <= 2 else 0)
            x, y = int(a), int(b)
            if self.day_first is None and (x > 12 or text[m.start("b") - 1] == "."):
                self.day_first = True
            elif self.day_first is None and y > 12:
                self.day_first = False
            day, month = (x, y) if self.day_first else (y, x)
        hour = int(m.group("h"))
        ampm = (m.group("ampm") or "").lower()
        if ampm.startswith("p") and hour < 12:
            hour += 12
        elif ampm.startswith("a") and hour == 12:
            hour = 0
        frac = (m.group("f") or "0")[:6].ljust(6, "0")
        try:
            return datetime(year, month, day, hour, int(m.group("mi")), int(m.group("s") or 0), int(frac))
        except ValueError:
            return None


# --- records -----------------------------------------------------------------------------------


@dataclass(slots=True)
class WinRecord:
    """One Windows event as any export gives it. ``ts`` is aware UTC, or naive local when ``local``."""

    provider: str
    event_id: int | None
    ts: datetime | None
    level: int | str | None = None
    local: bool = False
    qualifiers: int | None = None
    channel: str = ""
    computer: str = ""
    record_id: int | None = None
    data: dict[str, Any] | list[Any] | None = None
    message: str = ""  # the rendered message, when the export has one
    task: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def data_values(data: dict[str, Any] | list[Any] | None) -> list[str]:
    if data is None:
        return []
    values = data.values() if isinstance(data, dict) else data
    return ["" if v is None else str(v) for v in values]


def data_text(data: dict[str, Any] | list[Any] | None) -> str:
    """EventData as one line: ``name=value, ...`` for named data, values for unnamed."""
    if isinstance(data, dict):
        return ", ".join([f"{k}={v}" for k, v in data.items() if v is not None and v != ""])
    return ", ".join([v for v in data_values(data) if v])


def _arg(data: dict[str, Any] | list[Any] | None, index: int, *names: str) -> str:
    """Data item by name (first that exists) or by position."""
    if isinstance(data, dict):
        for n in names:
            if data.get(n) not in (None, ""):
                return str(data[n])
    values = data_values(data)
    return values[index] if index < len(values) else ""


@cache
def _family(provider: str) -> str:
    low = provider.strip().lower()
    if low.startswith("mssql$") or low in ("mssqlserver", "sqlvdi", "sqlwriter"):
        return "sql"
    return _FAMILIES.get(low.removeprefix("microsoft-windows-"), low)


_FAMILIES = {
    "service control manager": "scm",
    "eventlog": "eventlog",
    "kernel-power": "kernel-power",
    "user32": "user32",
    "vss": "vss",
    "volsnap": "volsnap",
    "volumesnapshot-driver": "volsnap",
    "dhcp-client": "dhcp",
    "dhcp": "dhcp",
    "resource-exhaustion-detector": "resource",
    "application error": "app-error",
    "application hang": "app-error",
    ".net runtime": "dotnet",
    "applocker": "applocker",
    "msiinstaller": "msi",
    "backup": "wsbackup",  # Microsoft-Windows-Backup: Windows Server Backup, another backup product
    "com+ soap services": "complus-soap",
}

# SCM ids: what the record says about the service named by %1 (7009/7011 name it as %2)
_SCM_STATES = {
    7000: "failed_to_start", 7001: "dependency_failed", 7009: "start_timeout", 7011: "transaction_timeout",
    7022: "hung_on_start", 7023: "terminated_with_error", 7024: "terminated_with_error",
    7032: "recovery_failed", 7036: "", 7040: "start_type_changed", 7043: "preshutdown_timeout", 7045: "installed",
}
_SCM_CRASH = {7031, 7034}
_SCM_TEXT = (
    re.compile(r"^The start type of the (?P<service>.+?) service was changed from (?P<old>.+?) to (?P<new>.+?)\.?$",
               re.M),
    re.compile(r"Service Name:\s+(?P<service>.+?)\s*$.*?Service Start Type:\s+(?P<new>.+?)\s*$", re.M | re.S),
    re.compile(r"while waiting for (?:a transaction response from )?the (?P<service>.+?) service"),
    re.compile(r"after the unexpected termination of the (?P<service>.+?) service"),
    re.compile(r"^The (?P<service>.+?) service (?:entered the (?P<state>\S+) state"
               r"|failed to start|depends on|hung on starting|terminated|did not shut down)"),
)
_VSS_IDS = {8193, 8194, 8213, 8229, 8230, 12289, 12290, 12292, 12293, 12297, 12298, 12301, 12302, 12310,
            11, 12, 13, 20, 22, 38, 39, 40, 4003}
_VOLSNAP_IDS = {1, 8, 20, 24, 25, 27, 35, 36, 39}
_SQL_IDS = {1, 24583, 3041, 18210, 3197, 3198, 18264}
_DHCP_ERRORS = {1000, 1001, 1002, 1003, 1005, 1006}
_DHCP_SHUTDOWN = {50103, 50104, 50105, 50106}
#: the image named by Application Error 1000/1002 and .NET Runtime 1026, in English and the common localized
#: messages (German, French, Spanish, Czech, Japanese): ``Name der fehlerhaften Anwendung: WaAppAgent.exe, ...``
_APP_IMAGE = re.compile(
    r"(?:Faulting application name|Hanging application|Application|Name der fehlerhaften Anwendung|"
    r"Anwendung|Nom de l[’']application défaillante|Nombre de la aplicación con errores|Aplicación|"
    r"Název chybující aplikace|Aplikace|障害が発生しているアプリケーション名|アプリケーション)\s*:?\s*"
    r"(?P<image>[^\s,:]+\.exe)\b", re.I)
#: known benign noise (windows-formats §5.9): the backup extension re-installing its assemblies into the GAC
_GAC_NOISE = re.compile(r"iaasvm(?:snapshotmessage|azurestorage)", re.I)
#: images of the guest agent (windows-formats §1.1): their crash or hang is the agent's
_AGENT_IMAGES = {"waappagent.exe": "RdAgent", "windowsazureguestagent.exe": "WindowsAzureGuestAgent"}
_EXTENSION_IMAGE = "iaasbcdrextension.exe"

#: message templates (Windows message tables) for records that come without a rendered message
_TEMPLATES = {
    ("scm", 7000): "The %1 service failed to start due to the following error: %2",
    ("scm", 7001): "The %1 service depends on the %2 service which failed to start because of the following error: %3",
    ("scm", 7009): "A timeout was reached (%1 milliseconds) while waiting for the %2 service to connect.",
    ("scm", 7011): "A timeout (%1 milliseconds) was reached while waiting for a transaction response from the %2 "
                   "service.",
    ("scm", 7022): "The %1 service hung on starting.",
    ("scm", 7023): "The %1 service terminated with the following error: %2",
    ("scm", 7024): "The %1 service terminated with the following service-specific error: %2",
    ("scm", 7031): "The %1 service terminated unexpectedly.  It has done this %2 time(s).",
    ("scm", 7034): "The %1 service terminated unexpectedly.  It has done this %2 time(s).",
    ("scm", 7036): "The %1 service entered the %2 state.",
    ("scm", 7040): "The start type of the %1 service was changed from %2 to %3.",
    ("scm", 7045): "A service was installed in the system. Service Name: %1 Service File Name: %2 "
                   "Service Type: %3 Service Start Type: %4 Service Account: %5",
    ("eventlog", 6005): "The Event log service was started.",
    ("eventlog", 6006): "The Event log service was stopped.",
    ("eventlog", 6008): "The previous system shutdown at %1 on %2 was unexpected.",
    ("kernel-power", 41): "The system has rebooted without cleanly shutting down first.",
    ("kernel-power", 109): "The kernel power manager has initiated a shutdown transition.",
    ("user32", 1074): "The process %1 has initiated the %5 of computer %2 on behalf of user %7 for the following "
                      "reason: %3 Reason Code: %4 Comment: %6",
}
#: each template split at its placeholders: literal text at even places, the 1-based data index at odd ones
_TEMPLATE_PARTS = {key: [int(part) if i % 2 else part for i, part in enumerate(re.split(r"%(\d+)", template))]
                   for key, template in _TEMPLATES.items()}


def render(family: str, rec: WinRecord) -> tuple[str, bool]:
    """The record's own message, a template filled with its data, or ``provider id: data``; True for the last,
    a message that holds the whole data text."""
    if rec.message:
        return rec.message, False
    parts = _TEMPLATE_PARTS.get((family, rec.event_id or 0))
    if parts is not None and (values := data_values(rec.data)):
        n = len(values)
        return "".join([part if type(part) is str else values[part - 1] if part <= n else "" for part in parts]), False
    head = f"{rec.provider} {rec.event_id}" if rec.event_id is not None else rec.provider
    text = data_text(rec.data)
    return (f"{head}: {text}" if text else head), True


def _app_crash(rec: WinRecord, message: str) -> tuple[str, dict[str, Any]]:
    """Application Error 1000/1002 or .NET Runtime 1026: a crash (or hang) of the image it names. The guest
    agent's images make it ``agent.crash`` (the agent died, windows-formats §5.9 and §1.3), the backup
    extension's ``security.block`` (a crash of IaaSBcdrExtension.exe is antivirus restricting it), any
    other ``service.crash``."""
    m = _APP_IMAGE.search(message) or _APP_IMAGE.search("Application: " + _arg(rec.data, 0))
    if m is None:
        return "service.crash", {}
    image = m.group("image").rsplit("\\", 1)[-1]
    attrs: dict[str, Any] = {"image": image}
    if service := _AGENT_IMAGES.get(image.lower()):
        return "agent.crash", {**attrs, "service": service, "role": "windows"}
    if image.lower() == _EXTENSION_IMAGE:
        return "security.block", attrs
    return "service.crash", attrs


def _scm(eid: int, data: dict[str, Any] | list[Any] | None, message: str) -> tuple[str, dict[str, Any]]:
    attrs: dict[str, Any] = {}
    raw = _arg(data, 1, "param2") if eid in (7009, 7011) else _arg(data, 0, "param1", "ServiceName")
    if eid == 7032:
        raw = _arg(data, 2, "param3")
    old = new = ""
    state = _SCM_STATES.get(eid, "")
    if eid == 7036:
        state = _arg(data, 1, "param2")
    elif eid == 7040:
        old, new = _arg(data, 1, "param2"), _arg(data, 2, "param3")
        key = _arg(data, 3, "param4")
        raw = key or raw
    elif eid == 7045:
        new = _arg(data, 3, "StartType", "param4")
    if not raw and message:
        for rx in _SCM_TEXT:
            m = rx.search(message)
            if m and m.groupdict().get("service"):
                d = m.groupdict()
                raw, old, new = d["service"], d.get("old") or old, d.get("new") or new
                state = d.get("state") or state
                break
        else:
            raw = m.group(0) if (m := _KNOWN_SERVICE.search(message)) else ""
            if raw and eid == 7040 and (types := _localized(message, _LOCALIZED_START)):
                old, new = (types[0] if len(types) > 1 else ""), types[-1]  # "from <old> to <new>" in any language
            elif raw and eid == 7036 and (states := _localized(message, _LOCALIZED_STATE)):
                state = states[-1]
    if raw:
        attrs["service"] = service_name(raw)
        if attrs["service"] != raw:
            attrs["display_name"] = raw
    if state:
        attrs["state"] = state.lower()
    if new:
        st = start_type(new)
        attrs["start_type"] = st[1] if st else new
        if old:
            st_old = start_type(old)
            attrs["old_start_type"] = st_old[1] if st_old else old
    return ("service.crash" if eid in _SCM_CRASH else "service.state"), attrs


#: the families :func:`classify` has rules for (and :func:`_facts`: SQL Server)
_CLASSIFIED_FAMILIES = frozenset({*_FAMILIES.values(), "sql"})


def _plain_kind(level: str) -> str:
    """The kind of a record no rule maps: warnings and above stay visible to detectors."""
    return "windows.event" if _LEVEL_RANK[level] >= _LEVEL_RANK["warning"] else GENERIC_KIND


def classify(rec: WinRecord, level: str, message: str) -> tuple[str, dict[str, Any]]:
    """The event kind of a record and the attrs that kind carries (see docs/vocabulary.md)."""
    fam = _family(rec.provider)
    if fam not in _CLASSIFIED_FAMILIES:
        return _plain_kind(level), {}
    eid = rec.event_id if rec.event_id is not None else -1
    attrs: dict[str, Any] = {}
    kind = ""
    if fam == "scm" and (eid in _SCM_STATES or eid in _SCM_CRASH):
        kind, attrs = _scm(eid, rec.data, message)
    elif (fam == "vss" and eid in _VSS_IDS) or (fam == "volsnap" and eid in _VOLSNAP_IDS):
        kind = "vss.error"
        if fam == "vss" and eid in (11, 12):
            attrs["pressure"] = "cpu" if eid == 11 else "memory"
    elif fam == "sql" and (eid in _SQL_IDS or _LEVEL_RANK[level] >= _LEVEL_RANK["warning"]):
        kind = "sql.backup"
    elif fam == "dhcp" and eid in _DHCP_ERRORS:
        kind = "dhcp.error"
    elif (fam, eid) in (("eventlog", 6006), ("kernel-power", 109), ("user32", 1074)) or (
            fam == "dhcp" and eid in _DHCP_SHUTDOWN):
        kind = "system.shutdown"
        if fam == "user32":
            reason = _arg(rec.data, 2, "param3")
            attrs.update(process=_arg(rec.data, 0, "param1"), reason=reason, action=_arg(rec.data, 4, "param5"),
                         user=_arg(rec.data, 6, "param7"), planned="(planned)" in (reason or message).lower())
        else:
            attrs["marker"] = fam
        attrs["restart"] = bool(_RESTART.search(f"{message} {attrs.get('reason') or ''} {attrs.get('action') or ''}"))
    elif (fam, eid) in (("eventlog", 6008), ("kernel-power", 41)):
        kind = "system.unexpected_shutdown"
    elif (fam, eid) == ("eventlog", 6005):
        kind = "system.boot"
    elif fam == "resource" and eid == 2004:
        kind = "system.resource_exhaustion"
    elif (fam == "app-error" and eid in (1000, 1002)) or (fam == "dotnet" and eid == 1026):
        kind, attrs = _app_crash(rec, message)
    elif fam == "applocker" and _LEVEL_RANK[level] >= _LEVEL_RANK["warning"]:
        kind = "security.block"
    elif fam == "wsbackup":
        kind = "backup.other"  # its failures say nothing about Azure Backup (windows-formats §5.7)
    elif fam == "complus-soap" and _GAC_NOISE.search(message):
        kind, attrs["benign"] = GENERIC_KIND, True
    elif fam == "msi" and "visual c++" in message.lower() and "error" in message.lower():
        kind = "extension.install.failed"
        attrs["component"] = "vcredist"
    if kind in ("vss.error", "sql.backup"):
        codes = hresults(message + " " + " ".join(data_values(rec.data)))
        if codes:
            attrs["hresult"] = codes[0]
    return kind or _plain_kind(level), attrs


def known_provider(provider: str) -> bool:
    """A provider some rule of :func:`classify` is about (SCM, VSS, .NET Runtime, Application Error, ...)."""
    return _family(provider) in _CLASSIFIED_FAMILIES


def is_sql_provider(provider: str) -> bool:
    return _family(provider) == "sql"


#: families whose records :func:`classify` may map by their message (msi) or that give a fact (SQL Server)
_NOT_BY_ID = frozenset({"msi", "sql"})


@lru_cache(maxsize=4096)  # bounded: a crafted log may name a new provider or id in every record
def ordinary(provider: str, event_id: int | None, level: int | str | None) -> bool:
    """Whether every record of ``provider``, ``event_id`` and ``level`` is ordinary whatever its data and message:
    kind ``log`` below warning, no attrs, no fact. So is a provider no rule of :func:`classify` is about; of the
    others, a family whose rules decide by the id alone maps none to this one (:func:`classify` says so of a
    record without data or message)."""
    name = level_of(level)[0]
    if _LEVEL_RANK[name] >= _LEVEL_RANK["warning"]:
        return False
    family = _family(provider)
    if family not in _CLASSIFIED_FAMILIES:
        return True
    return family not in _NOT_BY_ID and classify(WinRecord(provider, event_id, None, level), name, "") == (
        GENERIC_KIND, {})


def to_event(ctx: ParseContext, rec: WinRecord, line: int) -> Event:
    """The timeline event of a record: kind mapped, message rendered, every export field in attrs."""
    level, level_value = level_of(rec.level)
    fam = _family(rec.provider)
    message, holds_data = render(fam, rec)
    kind, attrs = classify(rec, level, message)
    if attrs.pop("benign", False):
        level = "info"
    common = {"provider": rec.provider, "event_id": rec.event_id, "qualifiers": rec.qualifiers,
              "channel": rec.channel, "computer": rec.computer, "record_id": rec.record_id,
              "level_value": level_value, "data": rec.data}
    if attrs:
        attrs.update(common)
    else:
        attrs = common
    if rec.task:
        attrs["task"] = rec.task
    if rec.extra:
        attrs.update(rec.extra)
    if _LEVEL_RANK[level] >= _LEVEL_RANK["warning"] and (
            codes := hresults(message if holds_data else f"{message} {data_text(rec.data)}")):
        attrs["hresults"] = codes  # a message that holds the data text once has the codes of both
    if fam == "sql" or "service" in attrs:
        _facts(ctx, fam, kind, attrs, line, rec)
    if _LEVEL_RANK[level] >= _LEVEL_RANK["warning"]:
        if unrelated(fam, rec.event_id, kind, attrs, message):
            attrs["unrelated"] = True
        extension = attrs.get("extension")
        if about_other_extension(message, (extension,) if isinstance(extension, str) else ()):
            attrs["other_extension"] = True
    return Event(rec.ts, ctx.source, ctx.path, line, level, rec.provider, kind, message, attrs, rec.local)


#: families whose every warning concerns the backup's path (shadow copies, the network), mapped id or not
_BACKUP_PATH_FAMILIES = frozenset({"vss", "volsnap", "dhcp"})
#: images whose crash concerns the backup: the guest agent's, the backup extension's, VSS and its SQL writer
_BACKUP_IMAGES = frozenset({*_AGENT_IMAGES, _EXTENSION_IMAGE, "vssvc.exe", "sqlwriter.exe"})
_BACKUP_FILES = re.compile(r"IaaSBcdr|VMSnapshot|WindowsAzure|WaAppAgent|Packages\\Plugins", re.I)


def unrelated(fam: str, event_id: int | None, kind: str, attrs: dict[str, Any], message: str) -> bool:
    """A warning or error that the backup does not depend on (``attrs.unrelated``; never an unexplained error):
    a provider no rule reads (DCOM, DNS client, disks, ...), an id no rule maps outside the shadow-copy and
    network families, a service or program other than the agent's, the extension's, VSS's and SQL Server's,
    an installer or AppLocker record about another product, a SQL Server record other than a backup one."""
    if fam not in _CLASSIFIED_FAMILIES or kind == "backup.other":  # another backup product's own failures
        return True
    if kind in ("windows.event", GENERIC_KIND):
        return fam not in _BACKUP_PATH_FAMILIES
    if fam == "scm":
        service = str(attrs.get("service", "")).lower()
        return service not in _SERVICE_KEYS and not service.startswith(("mssql$", "mssqlserver"))
    if kind == "service.crash":
        return str(attrs.get("image", "")).rsplit("\\", 1)[-1].lower() not in _BACKUP_IMAGES
    if fam in ("applocker", "msi"):
        return kind != "extension.install.failed" and not _BACKUP_FILES.search(message)
    if fam == "sql":
        return event_id not in _SQL_IDS
    return False


def _facts(ctx: ParseContext, fam: str, kind: str, attrs: dict[str, Any], line: int, rec: WinRecord) -> None:
    """Facts a record proves (of SQL Server records and service records): SQL Server on the VM, and
    start types of the services detectors check."""
    service = str(attrs.get("service", ""))
    if (fam == "sql" or service in ("SQLWriter", "MSSQLSERVER") or service.upper().startswith("MSSQL$")) and not any(
            f.name == "sql.present" for f in ctx.facts):
        why = f"{rec.provider} {rec.event_id}" + (f" ({service})" if service else "")
        ctx.fact("sql.present", True, line=line, ts=rec.ts, text=f"SQL Server seen in the event log: {why}")
    if kind == "service.state" and service.lower() in _SERVICE_KEYS and attrs.get("start_type"):
        st = start_type(attrs["start_type"])
        if st is not None:
            ctx.fact("service.start_type", {"service": service, "start": st[0], "start_name": st[1],
                                            "source": f"event {rec.event_id}"}, line=line, ts=rec.ts)
