"""Small real-format Linux bundles for the batch tests and benchmark, built from the shared reference data.

The waagent.log lines are verbatim examples from reference/linux-formats.md (section 2.2); the
SharedConfig is the reference sample with the deployment name and instance id of the VM put in; the
VMSnapshot settings file is the reference 0.settings with the public settings of one backup attempt.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

REFERENCE_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "reference-data"
_SAMPLE_DEPLOYMENT = "db00a7755a5e4e8a8fe4b19bc3b330c3"
_VMSNAPSHOT_DIR = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9218.0"

WAAGENT_LINES = (
    "2020-10-08T17:10:35.189020Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.1] Target handler state: "
    "enabled [incarnation 2]",
    "2020-10-08T17:10:37.365590Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.2.51 is running as the "
    "goal state agent [DEBUG HeartbeatCounter: 1;Heartb...",
    "2023-10-27T08:36:49.318851Z INFO ExtHandler ExtHandler Fetching the goal state recovered from previous errors. "
    "Fetched etag_13848932411473871259",
)  # no "Enable extension" line: the one backup attempt of a bundle is the one its settings file states


def dotnet_ticks(t: datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01 UTC), as in commandStartTimeUTCTicks."""
    delta = t - datetime(1, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def bundle_files(host: str, deployment: str | None = None, backup_at: datetime | None = None,
                 extra_line: str = "") -> dict[str, bytes]:
    """Member path -> content of one VM's bundle (``waagent -collect-logs`` layout)."""
    log = "\n".join((*WAAGENT_LINES, extra_line) if extra_line else WAAGENT_LINES) + "\n"
    files = {"var/log/waagent.log": log.encode(), "etc/hostname": f"{host}\n".encode()}
    if deployment is not None:
        shared = (REFERENCE_DATA / "linux/wire/SharedConfig.sample.xml").read_text(encoding="utf-8")
        shared = shared.replace(_SAMPLE_DEPLOYMENT, deployment).replace("MachineRole_IN_0", f"{host}_IN_0")
        files["var/lib/waagent/SharedConfig.xml"] = shared.encode()
    if backup_at is not None:
        settings = json.loads((REFERENCE_DATA / "linux/extension/0.settings.sample").read_text(encoding="utf-8"))
        settings["runtimeSettings"][0]["handlerSettings"]["publicSettings"] = {
            "commandToExecute": "snapshot", "locale": "en-us", "taskId": f"task-{host}",
            "commandStartTimeUTCTicks": str(dotnet_ticks(backup_at)), "vmType": "microsoft.compute/virtualmachines"}
        files[f"{_VMSNAPSHOT_DIR}/config/0.settings"] = json.dumps(settings).encode()
    return files


def write_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 5, 0, 0, 0)), data)
    return path


def write_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path
