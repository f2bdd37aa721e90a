"""Which extension a record is about: the one place where handler names in a record's text are read.

A warning of another extension (CustomScript, OMS, the Monitoring Agent...) says nothing about the backup
when the bundle shows backup runs to judge by; parsers mark such an alarm ``other_extension`` (with
:func:`about_other_extension`, applied to every alarm by ``ParseContext.event`` and the event-log record
builder) and the analysis reads only that attribute. The names are where agents write them:

>>> about_other_extension("[Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Enable failed with exit code 1")
True
>>> about_other_extension("Event: name=Microsoft.OSTCExtensions.VMAccessForLinux, op=Enable, message=failed")
True
>>> about_other_extension(r"Plugin C:\\Packages\\Plugins\\Microsoft.Compute.CustomScriptExtension\\1.10.15 failed")
True
>>> about_other_extension("OmsAgentForLinux: install failed")
True
>>> about_other_extension("Enable failed", ("Microsoft.Azure.RecoveryServices.VMSnapshotLinux",))
False
>>> about_other_extension("Fetch failed: [HttpError] timed out")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

#: the backup extension's names (its publisher, the Linux and the Windows handler): a record, a path or an
#: ``extension`` attribute that names one concerns the backup
BACKUP_EXTENSION = re.compile(r"VMSnapshot|RecoveryServices|IaaSBcdr", re.IGNORECASE)
HEAD = 4096  # characters of a record read for names (as much as the timeline keeps of a message)
_NAME = r"[A-Za-z]\w*(?:\.[A-Za-z]\w*)+"  # an extension handler's full name: Publisher.Type
# where records name a handler: the Linux agent's prefix ``[Name-1.2.3]`` or ``[Name] `` and ``Event: name=Name,``,
# the folders (``/var/lib/waagent/Name-1.2``, ``/var/log/azure/Name``, ``C:\Packages\Plugins\Name``,
# ``Logs\Plugins\Name``), the Windows agent's ``plugin Name_1.2`` / ``plugin 'Name'`` / ``Extension 'Name'``
_NAMED = re.compile(
    rf"\[({_NAME})-\d[\w.]*\]|^\[({_NAME})\] |\bname=({_NAME})\s*,"
    rf"|[/\\](?:waagent|azure|Plugins)[/\\]({_NAME})(?=[-_]\d|[/\\])"
    rf"|\bplugin\s+'?({_NAME})(?=_\d|'|\s|$)|\b(?:extension|handler)\s+'({_NAME})'", re.IGNORECASE)
# any bracketed or folder name with its version cut off (``[Name-1.2]``, ``/var/lib/waagent/Name/``)
_FOLDER = re.compile(r"(?:/var/lib/waagent/|/var/log/azure/|\[)([A-Z][\w.-]*)[/\]]")
_VERSION = re.compile(r"\d+(?:\.\d+)+")
# the type names of other extensions common on backed-up VMs, as records name them without their publisher
_OTHER_TYPES = re.compile(r"\b(?:CustomScript(?:Extension)?|OmsAgentForLinux|MicrosoftMonitoringAgent|"
                          r"AzureMonitor(?:Linux|Windows)Agent|DependencyAgent(?:Linux|Windows)|LinuxDiagnostic|"
                          r"IaaSDiagnostics|BGInfo|VMAccessAgent|VMAccessForLinux|RunCommand(?:Linux|Windows))\b")


def about_other_extension(text: str, names: Iterable[str] = ()) -> bool:
    """The record (its text, and the extension names its parser read from its fields) is about an extension
    other than the backup extension: it names a handler, and none of the names is the backup extension's."""
    return _about(text[:HEAD], tuple(n for n in names if n))


@lru_cache(maxsize=4096)
def _about(head: str, names: tuple[str, ...]) -> bool:
    """Remembered: an agent repeats its warnings word for word, and every alarm is judged (twice on some paths)."""
    named = list(names)
    if BACKUP_EXTENSION.search(" ".join(named)) or BACKUP_EXTENSION.search(head):
        return _folder_names_other(named, head)
    if any(re.fullmatch(_NAME, n) for n in named):
        return True
    return bool(_NAMED.search(head) or _OTHER_TYPES.search(head)) or _folder_names_other(named, head)


def _folder_names_other(named: list[str], head: str) -> bool:
    """The handler names of the record's fields, prefixes and folders (not the agent's own) are all of other
    extensions."""
    found = list(named)
    for name in _FOLDER.findall(head):
        base, _, version = name.rpartition("-")
        found.append(base if base and _VERSION.fullmatch(version) else name)
    found = [n for n in found if n != "WALinuxAgent" and "." in n]
    return bool(found) and not any(BACKUP_EXTENSION.search(n) for n in found)
