"""The error catalog's messages (reference error-codes.md 2.1-2.3, windows-formats.md 5.9) in an extension's log or
status message: the parsers give their code, and the finding whose codes list it explains the failure."""

from __future__ import annotations

import json

import pytest

from analyzer.detectors import all_detectors, run_detectors
from analyzer.detectors.scope import Scope
from parsers.error_messages import CATALOG, error_code
from parsers.windows_agent.vmsnapshot_windows_log import classify
from tests.detectors.helpers import analysis, attempt, ev
from tests.parsers.linux_helpers import run_as

# the messages as the catalog quotes them (portal texts and the guest-side texts it names)
MESSAGES = {
    "ExtensionSnapshotBitlockerError": "The snapshot operation failed with the Volume Shadow Copy Service (VSS) "
    "operation error This drive is locked by BitLocker Drive Encryption. You must unlock this drive from the Control "
    "Panel.",
    "ExtensionInstallationFailedMDTC": 'Extension installation failed with the error "COM+ was unable to talk to the '
    'Microsoft Distributed Transaction Coordinator"',
    "ExtensionInstallationFailedCOM": "Extension installation/operation failed due to a COM+ error",
    "ExtensionSnapshotFailedCOM": "Snapshot operation failed due to COM+ error",
    "ExtensionFailedVssWriterInBadState": "Snapshot operation failed because VSS writers were in a bad state.",
    "ExtensionFailedVssServiceInBadState": "Snapshot operation failed due to VSS (Volume Shadow Copy) service in bad "
    "state.",
    "ExtensionVCRedistInstallationFailure": "The snapshot operation failed because of failure to install Visual C++ "
    "Redistributable for Visual Studio 2012.",
    "ExtensionSnapshotFailedNoSecureNetwork": "The snapshot operation failed because of failure to create a secure "
    "network communication channel.",
    "ExtensionFailedSnapshotLimitReachedError": "Snapshot operation failed as snapshot limit is exceeded for some of "
    "the disks attached",
    "ExtensionFailedSnapshotRateExceededError": "Backup operation failed as the snapshot call coincided with another "
    "snapshot request from a different client",
    "ExtensionFailedTimeoutVMNetworkUnresponsive": "Snapshot operation failed due to inadequate VM resources.",
    "ExtensionFailedOutOfMemoryError": "The operation failed: insufficient memory available in the Virtual Machine",
}
BITLOCKER_ALONE = ("This drive is locked by BitLocker Drive Encryption. You must unlock this drive from the Control "
                   "Panel.")


def test_every_catalog_entry_has_its_message_here() -> None:
    assert {code for _, code in CATALOG} == set(MESSAGES)


@pytest.mark.parametrize("code", sorted(MESSAGES))
@pytest.mark.parametrize("casing", [str, str.upper])
def test_the_message_gives_its_code(code: str, casing: object) -> None:
    assert error_code(casing(MESSAGES[code])) == code  # type: ignore[operator]
    _, attrs = classify(MESSAGES[code], "error")
    assert attrs["error_code"] == code


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_a_status_message_gives_its_code(code: str) -> None:
    doc = [{"version": 1.0, "timestampUTC": "2024-06-10T02:01:00Z", "status": {
        "name": "Microsoft.Azure.RecoveryServices.VMSnapshot", "operation": "Enable", "status": "error", "code": 1,
        "formattedMessage": {"lang": "en-US", "message": MESSAGES[code]}}}]
    events, _ = run_as(json.dumps(doc).encode(),
                       "Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.92.0/Status/3.status")
    assert [e.attrs.get("error_code") for e in events] == [code]


@pytest.mark.parametrize(("code", "message"), [*sorted(MESSAGES.items()),
                                               ("ExtensionSnapshotBitlockerError", BITLOCKER_ALONE)])
def test_the_finding_that_lists_the_code_explains_it(code: str, message: str) -> None:
    kind, attrs = classify(message, "error")
    a = analysis([attempt(0), ev(1, kind, message, "error", source="vmsnapshot_windows_log",
                                 path="Logs/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.92.0/"
                                      "IaaSBcdrExtension.log", **attrs)],
                 present=("vmsnapshot_windows_log", "windows_events"), os="windows")
    findings, _ = run_detectors(a, scope=Scope.of(a))
    listing = {d.id for d in all_detectors() if code in d.error_codes}
    assert listing, code
    assert {f.id for f in findings if f.severity in ("warning", "error", "critical")} & listing, \
        (code, [(f.id, f.severity) for f in findings])
