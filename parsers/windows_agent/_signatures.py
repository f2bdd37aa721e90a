"""Wordings of the Windows guest agent (``WaAppAgent.log``) and of the backup extension
(``IaaSBcdrExtension*.log``): message -> kind, signal and attrs (windows-formats.md §1, §3).

The same :class:`~parsers.signatures.SignatureTable` as the Linux agent's: detectors match the kinds,
signals and attributes, never these texts. A line such as

    [00000007] 2024-06-10T02:03:11.112Z [ERROR] GetVersions() failed with exception: System.Net.WebException

becomes ``wireserver.error``. The extension's log has no public sample, so its table matches in any case.
"""

from __future__ import annotations

from parsers.base import GENERIC_KIND
from parsers.signatures import Attrs, Sig, SignatureTable


def _seq_number(kind: str, attrs: Attrs, text: str) -> str:
    if "seq" in attrs:
        attrs["seq"] = int(attrs["seq"])
    if "status" in attrs:
        attrs["status"] = str(attrs["status"]).lower()
    return kind


WA_APP_AGENT: tuple[Sig, ...] = (
    Sig("agent.start", ("WindowsAzureGuestAgent starting. Version",),
        r"WindowsAzureGuestAgent starting\. Version (?P<version>\d+(?:\.\d+){1,3})", attrs={"role": "windows"}),
    Sig("agent.crash", ("WindowsAzureGuestAgent could not be stopped",), signal="agent_not_stopped"),
    # every stop of the service writes it (at WARN, windows-formats.md 1.3): a restart when the agent starts again
    Sig("agent.service", ("WindowsAzureGuestAgent stopping",), r"^WindowsAzureGuestAgent stopping\.?\s*$",
        attrs={"action": "Stopping", "service": "WindowsAzureGuestAgent"}),
    Sig("agent.crash", ("RdCrypt Initialization failed", "Installing certificates in the LocalMachine store failed"),
        signal="agent_certificates_failed"),
    Sig("dhcp.error", ("Empty DHCP option data returned",)),
    Sig("dhcp.error", ("Did not discover fabric address",),
        r"Did not discover fabric address(?: on interface (?P<interface>.+?))?\s*$"),
    Sig("extension.status", ("is not available",),
        r"Status file (?P<file>.*?\\(?P<extension>[^\\]+)\\(?P<version>\d+(?:\.\d+)+)\\Status\\(?P<seq>\d+)\.status)"
        r" is not available", attrs={"status": "missing"}, post=_seq_number, signal="status_file_missing"),
    # the agent's report of a plugin's status for a sequence number (not quoted by the reference; read as that
    # run's end when a bundle has it): ``Plugin <name>_<version> reported status 'success' for sequence number 12.``
    Sig("extension.status", ("reported status",),
        r"Plugin (?P<extension>[\w.]+?)_(?P<version>\d+(?:\.\d+)+) reported status '(?P<status>\w+)' for sequence "
        r"number (?P<seq>\d+)", post=_seq_number),
    Sig("extension.install.failed", ("InstallPlugins() failed",), signal="install_plugins_failed"),
    # documented WireServer / HostGAPlugin failures, at any level
    Sig("wireserver.error", ("GetVersions() failed", "fetching supported versions from HostGAPlugin",
                             "HostGAPluginServiceClient is not initialized",
                             "Error state triggered for caller:GAPluginPinger")),
    # written at WARN level by a healthy agent (windows-formats.md 1.3): waiting for the first boot's setup at
    # start, fetching the VM settings of a new goal state
    Sig(GENERIC_KIND, ("Waiting for OOBE to Complete", "Trying to download VMSettingsProfile with etag"),
        r"^(?:Waiting for OOBE to Complete|Trying to download VMSettingsProfile with etag)", attrs={"routine": True}),
    # the agent's guest-log collection declining to upload a zip above its size limit (TransparentInstaller.log,
    # windows-formats.md 1.4): about the diagnostics upload, not the backup path
    Sig(GENERIC_KIND, ("exceeds the max file size limit",), r"exceeds the max file size limit .* not uploading",
        attrs={"unrelated": True}),
)

IAASBCDR: tuple[Sig, ...] = (
    Sig("snapshot.timeout", ("crp timeout limit has reached",), signal="crp_timeout"),
    Sig("snapshot.limit", ("snapshot count against this blob has been exceeded",), signal="snapshot_count_limit"),
    Sig("snapshot.limit", ("rate of snapshot blob calls is exceeded",), signal="snapshot_rate_exceeded"),
    Sig("snapshot.concurrent", ("another backup operation is currently in progress",), signal="backup_in_progress"),
    # the VSS provider of VM backup not running, not startable or not registered (W§5.8 0x80042304, W§6.2)
    Sig(GENERIC_KIND, ("iaasvmprovider", "iaas vm provider"),
        r"(?i)(?:iaasvmprovider|iaas vm provider)\b.*(?:not running|not available|not registered|disabled|"
        r"cannot be started|fail)|(?:fail\w*|cannot|unable)\b.*(?:iaasvmprovider|iaas vm provider)",
        signal="provider_unavailable"),
    # the VC++ runtime the extension installs first would not install (W§5.9: ExtensionVCRedistInstallationFailure)
    Sig(GENERIC_KIND, ("vcredist",), r"(?i)vcredist\w*\.exe\b.*(?:fail|exit code [1-9])|(?:fail|error)\w*\b.*vcredist",
        signal="vcredist_failed"),
    # TLS to Azure Storage: the extension's .NET client without strong cryptography (W§5.8); no kind of its own
    Sig(GENERIC_KIND, ("secure channel", "schusestrongcrypto"), signal="secure_channel_failed"),
)

WA_APP_AGENT_TABLE = SignatureTable(WA_APP_AGENT)
SUCCEEDED = ("snapshotall ends", "enable succeeded", "snaphotting (host) completed")  # a snapshot that succeeded
IAASBCDR_TABLE = SignatureTable(IAASBCDR, ignore_case=True, marks={"succeeded": SUCCEEDED})
