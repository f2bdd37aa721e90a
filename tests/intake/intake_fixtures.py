"""Builders of real archives from the shared reference data, for the intake tests.

Every bundle is built in the test's tmp_path from reference-data files (see the SOURCES.md files
beside them) plus a short agent log; nothing binary is checked in.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from analyzer.intake import Bundle, Limits, open_bundle
from analyzer.locale import word
from tests.conftest import REFDATA

WAAGENT_LOG = (
    b"2024-01-05T12:00:00.000000Z INFO Daemon Daemon Azure Linux Agent Version: 2.9.1.1\n"
    b"2024-01-05T12:00:05.000000Z WARNING ExtHandler ExtHandler Fetch failed: [HttpError] [HTTP Failed] GET "
    b"http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made\n"
)

# bundle path -> reference-data file (or None for WAAGENT_LOG)
LAYOUT: dict[str, str | None] = {
    "var/log/waagent.log": None,
    "etc/waagent.conf": "linux/config/waagent.conf.sample",
    "var/lib/waagent/GoalState.1.xml": "linux/wire/GoalState.1.sample.xml",
    "var/lib/waagent/ExtensionsConfig.9.xml": "linux/wire/ExtensionsConfig.9.sample.xml",
    "var/lib/dhcp/dhclient.eth0.leases": "linux/dhcp/dhclient.eth0.leases.sample",
}


def files() -> dict[str, bytes]:
    return {p: WAAGENT_LOG if src is None else (REFDATA / src).read_bytes() for p, src in LAYOUT.items()}


def tar_bytes(entries: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def seven_zip(path: Path, entries: dict[str, bytes], **kwargs: object) -> Path:
    import py7zr

    with py7zr.SevenZipFile(path, "w", **kwargs) as z:  # type: ignore[arg-type]
        for name, data in entries.items():
            z.writestr(data, name)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read_all(path: Path, limits: Limits | None = None) -> tuple[Bundle, dict[str, str]]:
    """Open and walk a bundle; member path -> sha256 of its content (duplicates keep the last)."""
    bundle = open_bundle(path, limits)
    out = {m.path: hashlib.sha256(m.stream.read()).hexdigest() for m in bundle.members()}
    return bundle, out


def digests(entries: dict[str, bytes]) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}


def problems(bundle: Bundle) -> dict[str, str]:
    return {p.path: word(p.message) for p in bundle.problems}
