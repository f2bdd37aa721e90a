"""The Azure Backup error catalog's own messages, as an extension's log or status message repeats them: the one
place where such a text becomes its error code (reference error-codes.md, windows-formats.md 5.9).

A record that names the code (``ExtensionSnapshotBitlockerError``) gives it by name; one that only repeats the
message a portal shows, or the guest-side text the catalog quotes, gets it by its text:

>>> error_code("Enable failed: ExtensionFailedVssWriterInBadState")
'ExtensionFailedVssWriterInBadState'

>>> catalog_code("This drive is locked by BitLocker Drive Encryption. You must unlock this drive from the "
...              "Control Panel.")
'ExtensionSnapshotBitlockerError'
>>> catalog_code("Snapshot operation failed due to COM+ error")
'ExtensionSnapshotFailedCOM'
>>> catalog_code("Enable succeeded") is None
True
"""

from __future__ import annotations

import re

#: (text, lower case, as the catalog quotes it; its error code), the more specific texts first
CATALOG: tuple[tuple[str, str], ...] = (
    ("is locked by bitlocker drive encryption", "ExtensionSnapshotBitlockerError"),
    ("com+ was unable to talk to the microsoft distributed transaction coordinator",
     "ExtensionInstallationFailedMDTC"),
    ("operation failed due to a com+ error", "ExtensionInstallationFailedCOM"),
    ("failed due to com+ error", "ExtensionSnapshotFailedCOM"),
    ("vss writers were in a bad state", "ExtensionFailedVssWriterInBadState"),
    ("due to vss writers in bad state", "ExtensionFailedVssWriterInBadState"),
    ("vss (volume shadow copy) service in bad state", "ExtensionFailedVssServiceInBadState"),
    ("failure to install visual c++ redistributable", "ExtensionVCRedistInstallationFailure"),
    ("failure to create a secure network communication channel", "ExtensionSnapshotFailedNoSecureNetwork"),
    ("snapshot limit is exceeded for some of the disks", "ExtensionFailedSnapshotLimitReachedError"),
    ("snapshot call coincided with another snapshot request", "ExtensionFailedSnapshotRateExceededError"),
    ("failed due to inadequate vm resources", "ExtensionFailedTimeoutVMNetworkUnresponsive"),
    ("insufficient memory available in the virtual machine", "ExtensionFailedOutOfMemoryError"),
)


_NAMED = re.compile(r"\b((?:UserError|Extension|GuestAgent|VMRestorePoint|BCM)[A-Z]\w{5,})\b")


def error_code(text: str) -> str | None:
    """The error code a record names, or whose catalog message it holds; ``None`` when neither."""
    m = _NAMED.search(text[:4096])
    return m.group(1) if m else catalog_code(text)


def catalog_code(text: str) -> str | None:
    """The error code whose catalog message ``text`` holds, or ``None``."""
    low = text[:4096].lower()
    return next((code for needle, code in CATALOG if needle in low), None)
