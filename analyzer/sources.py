"""One row per source: where it sits in a bundle, which parser reads it, what it proves, how to collect it.

Detectors speak of evidence by name (``waagent_log``, ``agent_log``, ``windows_events``; the names are
listed in docs/vocabulary.md): a row proves its own name and the names in ``proves``, so a new export
format of Windows events is one row that proves ``windows_events``, and every detector that needs
Windows events reads it. When a detector cannot judge, the missing-evidence list names the first row
that proves what it needed and has a command for the bundle's OS (``analyzer/detectors/missing.py``);
``bundle-analyze rules --sources`` prints the table with the detectors that need each row.

Bundles put files under arbitrary roots (``var/...``, ``./var/...``, ``C/WindowsAzure/...``,
``hostname-2024/var/...``), so a pattern matches any *suffix* of the normalized member path that starts
at a ``/`` boundary (the same row serves every layout: a collect-logs zip, the seed article's tarball,
sosreport, disk-inspect, a flat folder); ``*`` does not cross ``/`` and ``**`` does. Matching ignores
case (Windows paths are case-insensitive; Linux names here do not collide). Members no pattern claims get
a cheap content sniff (the first 4 KiB) by every parser that has one. Private keys are recognized so that
their presence is recorded while their content is never read.

A collect command is pasted as it is: bash with sudo on Linux, an elevated PowerShell on Windows (``sc.exe``,
never the ``sc`` alias; ``;`` between commands, as Windows PowerShell 5.1 has no ``&&``). What to do with
the result is prose, worded at render time (``then``: a message of the locale files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from analyzer.model import Message, say
from parsers import get_parser, parser_names


@dataclass(frozen=True)
class Collect:
    """How to collect a source on one OS: a pasteable command, and what to do with its result."""

    command: str
    then: Message | None = None


@dataclass(frozen=True)
class Source:
    name: str  # abstract source name: the evidence this row proves, detectors and missing evidence use it
    parser: str  # module in parsers/ ("" = recognized, never read)
    patterns: tuple[str, ...]
    os: str = "any"  # linux | windows | any
    proves: tuple[str, ...] = ()  # evidence names it proves besides its own name (docs/vocabulary.md)
    linux: Collect | None = None
    windows: Collect | None = None
    note: str = ""  # message key (analyzer/locale) saying why a recognized member is not read
    guess: bool = False  # the name only suggests the format (pasted text, exports): the content decides
    log: bool = False  # a log of the agents, extensions, system or Windows events: its warnings and errors that no
    # finding explains are leads (analyzer/unexplained.py); state files, configuration and listings are not

    def collect(self, os_name: str) -> Collect | None:
        return self.windows if os_name == "windows" else self.linux if os_name == "linux" else None

    @property
    def evidence(self) -> tuple[str, ...]:
        return (self.name, *self.proves)


def _attach(file: str) -> Message:
    return say("collect.attach", file=file)


_VMS_LINUX = "var/log/azure/microsoft.azure.recoveryservices.vmsnapshotlinux"
_VMS_WIN_LOGS = "windowsazure/logs/plugins/microsoft.azure.recoveryservices.vmsnapshot"
_LINUX_BUNDLE = Collect("sudo waagent -collect-logs -full", _attach("/var/lib/waagent/logcollector/logs.zip"))
_LINUX_XML = Collect("sudo tar czf waagent-xml.tgz /var/lib/waagent/*.xml", _attach("waagent-xml.tgz"))
_LINUX_VMS_STATE = Collect("sudo tar czf vmsnapshot-state.tgz "
                           "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshot*",
                           _attach("vmsnapshot-state.tgz"))
_WIN_LOGS = Collect(r"Copy-Item -Recurse C:\WindowsAzure\Logs WindowsAzureLogs; "
                    r"Compress-Archive WindowsAzureLogs WindowsAzureLogs.zip", _attach("WindowsAzureLogs.zip"))
_WIN_PLUGIN_STATE = Collect(r"Copy-Item -Recurse C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot "
                            r"VMSnapshotPlugin; Compress-Archive VMSnapshotPlugin VMSnapshotPlugin.zip",
                            _attach("VMSnapshotPlugin.zip"))
_WIN_EVENTS = Collect("wevtutil epl System System.evtx; wevtutil epl Application Application.evtx",
                      _attach("System.evtx, Application.evtx"))
_WINDOWS_EVENTS = ("windows_events",)

SOURCES: tuple[Source, ...] = (
    # --- never read: private keys and certificate payloads (secrets.md) ---------------------
    Source("private_key", "", ("var/lib/waagent/*.prv", "*.pfx", "*.p12", "var/lib/waagent/*.pem",
                               "var/lib/waagent/*.p7m", "*.key"), "any", note="source.private_key"),
    # --- Linux agent ------------------------------------------------------------------------
    Source("waagent_log", "waagent_log", ("var/log/waagent.log*", "waagent.log*", "var/log/waagent-*.log*"), "linux",
           ("agent_log",), linux=_LINUX_BUNDLE, log=True),
    Source("extension_command_log", "waagent_log", ("var/log/azure/*/commandexecution*.log*",
                                                    "var/log/azure/*/*/commandexecution*.log*"), "linux",
           linux=_LINUX_BUNDLE, log=True),
    Source("vmsnapshot_log", "vmsnapshot_log", (f"{_VMS_LINUX}/extension.log*", f"{_VMS_LINUX}/*/extension.log*",
                                                f"{_VMS_LINUX}/shell.log*", f"{_VMS_LINUX}/*/shell.log*"), "linux",
           linux=Collect("sudo tar czf vmsnapshot-logs.tgz "
                         "/var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux",
                         _attach("vmsnapshot-logs.tgz")), log=True),
    Source("journal_export", "journal_export", ("journal*.export", "journal*.json", "journalctl*.export",
                                                "journalctl*.json", "sos_commands/logs/journalctl*-o_export*",
                                                "sos_commands/logs/journalctl*-o_json*"), "linux",
           proves=("syslog",), linux=Collect("sudo journalctl --since -3days -o export > journal.export",
                                             _attach("journal.export")), log=True),
    Source("syslog", "syslog", ("var/log/syslog*", "var/log/messages*", "var/log/kern.log*", "var/log/kern*",
                                "var/log/dmesg*", "var/log/boot.log*", "var/log/cloud-init.log*",
                                "sos_commands/logs/journalctl*", "journal*.txt", "journalctl*"), "linux",
           linux=Collect("sudo journalctl --since -3days > journal.txt", say("collect.attach_journal")), log=True),
    Source("goal_state_xml", "wire_xml", ("var/lib/waagent/goalstate*.xml", "history/*/goalstate*.xml",
                                          "goalstate*.xml"), "linux", linux=_LINUX_XML),
    Source("extensions_config_xml", "wire_xml", ("extensionsconfig*.xml", "history/*/extensionsconfig*.xml"), "linux",
           linux=_LINUX_XML),
    Source("hosting_environment_xml", "wire_xml", ("hostingenvironmentconfig*.xml",), "linux"),
    Source("shared_config_xml", "wire_xml", ("sharedconfig*.xml",), "linux"),
    Source("certificates_xml", "wire_xml", ("var/lib/waagent/certificates.xml", "certificates*.xml"), "linux"),
    Source("ovf_env_xml", "wire_xml", ("ovf-env.xml",), "linux",
           linux=Collect("sudo cp /var/lib/waagent/ovf-env.xml .", _attach("ovf-env.xml"))),
    Source("manifest_xml", "wire_xml", ("var/lib/waagent/*.manifest.xml", "*.agentsmanifest",
                                        "history/*/*.manifest.xml"), "linux"),
    Source("vm_settings_json", "agent_state", ("vmsettings*.json", "history/*/vmsettings.json"), "linux"),
    Source("waagent_status_json", "agent_state", ("waagent_status*.json",), "linux", linux=_LINUX_BUNDLE),
    Source("agent_error_json", "agent_state", ("var/lib/waagent/error.json", "var/lib/waagent/*/error.json"), "linux"),
    Source("certificates_json", "agent_state", ("history/*/certificates.json",), "linux"),
    Source("agent_lib_file", "agent_state", ("var/lib/waagent/incarnation", "var/lib/waagent/wireserverendpoint",
                                             "var/lib/waagent/protocol", "var/lib/waagent/provisioned"), "linux"),
    Source("handler_state", "extension_state", ("*/config/handlerstate", "*/config/*.handlerstate",
                                                "*/config/handlerstatus", "*/config/*.handlerstatus"), "any",
           linux=_LINUX_VMS_STATE, windows=_WIN_PLUGIN_STATE),
    Source("extension_status", "extension_state", ("*/status/*.status", "*/status/*.status_*"), "any",
           linux=_LINUX_VMS_STATE, windows=_WIN_PLUGIN_STATE),
    Source("extension_settings", "extension_state", ("*/config/*.settings", "*/runtimesettings/*.settings"), "any"),
    Source("handler_environment", "extension_state", ("handlerenvironment.json", "handlermanifest.json"), "any"),
    Source("collector_results", "collector_results", ("results.txt",), "linux"),
    Source("waagent_conf", "waagent_conf", ("etc/waagent.conf", "waagent.conf"), "linux",
           linux=Collect("cp /etc/waagent.conf .", _attach("waagent.conf"))),
    Source("vmbackup_conf", "vmbackup_conf", ("etc/azure/vmbackup.conf", "vmbackup.conf"), "linux"),
    Source("vmsnapshot_script_config", "vmbackup_conf", ("etc/azure/vmsnapshotscriptpluginconfig.json",), "linux"),
    Source("dhcp_lease", "dhcp_lease", ("var/lib/dhcp/*.lease*", "var/lib/dhclient/*.lease*",
                                        "var/lib/networkmanager/*.lease*", "var/lib/wicked/lease*",
                                        "run/systemd/netif/leases/*", "*.leases", "dhclient*.lease*"), "linux",
           linux=Collect("sudo tar czf leases.tgz --ignore-failed-read /var/lib/dhcp /var/lib/dhclient "
                         "/var/lib/NetworkManager /var/lib/wicked /run/systemd/netif/leases", _attach("leases.tgz"))),
    Source("network_config", "network_config", (
        "etc/netplan/*.yaml", "etc/netplan/*.yml", "etc/sysconfig/network-scripts/ifcfg-*",
        "etc/sysconfig/network/ifcfg-*", "etc/networkmanager/system-connections/*", "etc/network/interfaces",
        "etc/network/interfaces.d/*"), "linux"),
    Source("host_info", "host_info", ("etc/os-release", "etc/*-release", "etc/hostname", "hostname",
                                      "sos_commands/azure/instance_metadata.json", "systeminfo*.txt"), "any"),
    # a bare "timezone" / "localtime" is /etc's, copied flat
    Source("time_zone", "time_zone", ("etc/timezone", "etc/localtime", "timezone", "localtime", "etc/sysconfig/clock",
                                      "sos_commands/*/timedatectl*", "sos_commands/date/date*",
                                      "sos_commands/general/date*", "sos_commands/date/hwclock*",
                                      "sos_commands/general/hwclock*", "timedatectl*.txt"), "linux"),
    # --- Windows ----------------------------------------------------------------------------
    Source("wa_app_agent_log", "wa_app_agent_log", ("windowsazure/logs/waappagent.log*",
                                                    "windowsazure/logs/transparentinstaller.log*",
                                                    "windowsazure/logs/telemetry.log*",
                                                    "windowsazure/logs/appagentruntime.log*",
                                                    "waappagent*.log", "transparentinstaller*.log"), "windows",
           ("agent_log",), windows=_WIN_LOGS, log=True),
    Source("vmsnapshot_windows_log", "vmsnapshot_windows_log", (f"{_VMS_WIN_LOGS}/*/iaasbcdrextension*.log*",
                                                                f"{_VMS_WIN_LOGS}/*/commandexecution*.log*",
                                                                "iaasbcdrextension*.log"), "windows",
           windows=_WIN_LOGS, log=True),
    Source("plugin_log", "wa_app_agent_log", ("windowsazure/logs/plugins/*/*/commandexecution*.log*",), "windows",
           log=True),
    Source("vmsnapshot_seq_number", "extension_state", ("packages/plugins/*/*/seqnumber.txt",), "windows"),
    Source("aggregate_status_json", "agent_state", ("windowsazure/logs/aggregatestatus/*.json",), "windows"),
    Source("evtx", "evtx", ("*.evtx",), "windows", _WINDOWS_EVENTS, windows=_WIN_EVENTS, log=True),
    Source("event_xml", "event_xml", ("winevt/logs/*.xml", "*evt*.xml", "*event*.xml"), "windows", _WINDOWS_EVENTS,
           guess=True, log=True),
    Source("event_csv", "event_csv", ("*evt*.csv", "*event*.csv"), "windows", _WINDOWS_EVENTS, guess=True, log=True),
    Source("event_text", "event_text", ("*evt*.txt", "*event*.txt"), "windows", _WINDOWS_EVENTS, guess=True, log=True),
    Source("registry_export", "registry_export", ("*.reg",), "windows",
           windows=Collect(r"reg export HKLM\SOFTWARE\Microsoft\BcdrAgent bcdr.reg /y; "
                           r"reg export HKLM\SYSTEM\CurrentControlSet\Services\IaaSVmProvider iaasvmprovider.reg /y",
                           _attach("bcdr.reg, iaasvmprovider.reg"))),
    Source("service_listing", "service_listing", ("*services*.txt", "sc_query*.txt", "sc_qc*.txt",
                                                  "get-service*.txt"), "windows",
           windows=Collect("sc.exe qc IaaSVmProvider > sc_qc_iaasvmprovider.txt", _attach("sc_qc_iaasvmprovider.txt")),
           guess=True),
    Source("vss_writers", "service_listing", ("*vssadmin*.txt", "*vss_writers*.txt"), "windows",
           windows=Collect("vssadmin list writers > vssadmin_writers.txt", _attach("vssadmin_writers.txt")),
           guess=True),
)


@dataclass(frozen=True)
class Recognized:
    source: str
    parser: str
    how: str  # "path" or "sniff"
    note: str = ""  # message key: why the member is not read
    evidence: tuple[str, ...] = ()  # the evidence names its row proves
    guess: bool = False  # by a name that only suggests the format: confirm it with recognize_content


#: parsers of the rows marked ``log``: their warnings and errors no finding explains are leads, their newest
#: record is the collection time
LOG_PARSERS = frozenset(s.parser for s in SOURCES if s.log)


def _glob_to_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@cache
def _table() -> list[tuple[re.Pattern[str], Source]]:
    return [(re.compile(r"(?:^|/)" + _glob_to_regex(p) + r"$"), s) for s in SOURCES for p in s.patterns]


def recognize_path(path: str) -> Recognized | None:
    """The first source whose pattern matches a suffix of ``path`` (table order decides)."""
    low = path.lower()
    for rx, src in _table():
        if rx.search(low):
            return Recognized(src.name, src.parser, "path", src.note, src.evidence, src.guess)
    return None


@cache
def _sniffers() -> list[tuple[str, str]]:
    """(source, parser) for every parser with a sniff, in SOURCES order."""
    seen: list[tuple[str, str]] = []
    available = set(parser_names())
    for s in SOURCES:
        if s.parser and s.parser in available and all(p != s.parser for _, p in seen):
            seen.append((s.name, s.parser))
    return seen


def recognize_content(path: str, head: bytes, guess: Recognized | None = None) -> Recognized | None:
    """Ask each parser's cheap sniff about a member no path pattern claimed, or whose name only suggested
    ``guess`` (``events.txt`` holding ``vssadmin`` output): the guess stands when its parser accepts the
    content or no other parser does."""
    if guess is not None:
        own = get_parser(guess.parser).sniff
        if own is None or own(path, head):
            return guess
    for source, parser_name in _sniffers():
        parser = get_parser(parser_name)
        if parser.sniff is not None and parser.sniff(path, head):
            row = source_row(source)
            return Recognized(source, parser_name, "sniff", evidence=row.evidence if row else (source,))
    return guess


def source_os(source: str) -> str:
    row = source_row(source)
    return row.os if row is not None else "any"


def source_row(name: str) -> Source | None:
    return next((s for s in SOURCES if s.name == name), None)


def rows_proving(evidence: str) -> list[Source]:
    """The rows that prove an evidence name (its own row first, then the others in table order)."""
    return sorted((s for s in SOURCES if evidence in s.evidence), key=lambda s: s.name != evidence)


# --- layouts -----------------------------------------------------------------------------------

LAYOUTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (layout, markers: every marker must match some member path suffix)
    ("waagent-collect-logs", ("results.txt", "var/log/waagent.log*")),
    ("sosreport", ("sos_commands/*/*",)),  # files are one plugin folder down: sos_commands/<plugin>/<file>
    ("azure-disk-inspect", ("manifest*.txt", "*/var/lib/waagent/*")),
    ("windows-guest-logs", ("windowsazure/logs/*",)),
    ("windows-event-logs", ("*.evtx",)),
    ("manual-tarball", ("var/log/waagent.log*",)),
    ("manual-tarball", ("var/lib/waagent/*",)),
    ("linux-flat", ("waagent.log*",)),
)


def detect_layout(paths: list[str]) -> str:
    """Name the bundle layout from its member paths; ``flat`` when no marker set matches."""
    lows = [p.lower() for p in paths]
    for layout, markers in LAYOUTS:
        if all(any(re.search(r"(?:^|/)" + _glob_to_regex(m) + r"$", p) for p in lows) for m in markers):
            return layout
    return "flat" if paths else "empty"
