"""Which attachments under a batch folder are bundles, which ticket each belongs to, and its content hash.

``DIR/<ticket>/<attachment>``: every attachment that is an archive (recognized by its magic bytes, not
its name) or a folder holding regular files is a job. ``DIR/<archive>``: a loose archive is a ticket
of its own, named after the file without its archive suffixes. Links and special files (FIFOs,
devices) are never opened, so a hostile batch folder cannot hang or mislead discovery.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\x1f\x8b"),  # gzip
    (0, b"BZh"),  # bzip2
    (0, b"\xfd7zXZ\x00"),  # xz
    (0, b"PK\x03\x04"),  # zip
    (0, b"PK\x05\x06"),  # empty zip
    (0, b"7z\xbc\xaf\x27\x1c"),  # 7z
    (257, b"ustar"),  # tar (POSIX and GNU)
)
_ARCHIVE_SUFFIXES = (".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2", ".xz", ".zip", ".7z")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Attachment:
    """One job: an attachment of a ticket. ``path`` is relative to the batch folder, POSIX style."""

    ticket: str
    path: str
    location: Path
    is_dir: bool


def is_archive(path: Path) -> bool:
    """True when a regular file starts like an archive this tool reads."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.pread(fd, 262, 0)
    finally:
        os.close(fd)
    return any(head[offset:offset + len(magic)] == magic for offset, magic in _MAGIC)


def ticket_of(name: str) -> str:
    """``T123.tar.gz`` -> ``T123``: a loose archive's name without its archive suffixes."""
    stem = name
    while stem.lower().endswith(_ARCHIVE_SUFFIXES):
        stem = stem[: stem.lower().rfind(".")]
    return stem or name


def _regular_files(folder: Path) -> Iterator[Path]:
    """Regular files under ``folder``, sorted, never through a link."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath, fn)
            if stat.S_ISREG(os.lstat(p).st_mode):
                yield p


def _is_log_folder(folder: Path) -> bool:
    return next(_regular_files(folder), None) is not None


def _kind(entry: Path) -> str | None:
    """"dir", "file" or None (a link, a special file, or something that is not a bundle)."""
    st = os.lstat(entry)
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode) and is_archive(entry):
        return "file"
    return None


def discover(root: Path) -> tuple[list[Attachment], list[str]]:
    """Every bundle under ``root`` as an :class:`Attachment`, and the entries that were skipped (with why)."""
    jobs: list[Attachment] = []
    skipped: list[str] = []
    for entry in sorted(root.iterdir()):
        kind = _kind(entry)
        if kind == "file":
            jobs.append(Attachment(ticket_of(entry.name), entry.name, entry, False))
        elif kind == "dir":
            for child in sorted(entry.iterdir()):
                rel = f"{entry.name}/{child.name}"
                child_kind = _kind(child)
                if child_kind == "file" or (child_kind == "dir" and _is_log_folder(child)):
                    jobs.append(Attachment(entry.name, rel, child, child_kind == "dir"))
                else:
                    skipped.append(f"{rel}: not an archive or a folder of logs")
        else:
            skipped.append(f"{entry.name}: not an archive or a ticket folder")
    return jobs, skipped


def size_of(att: Attachment) -> int:
    """Bytes on disk: the file, or the sum of a folder's regular files."""
    if not att.is_dir:
        return os.lstat(att.location).st_size
    return sum(os.lstat(p).st_size for p in _regular_files(att.location))


def content_sha256(att: Attachment) -> str:
    """sha256 of an archive's bytes; for a folder, of its sorted relative file names and their contents."""
    h = hashlib.sha256()
    if not att.is_dir:
        _feed(h, att.location)
        return h.hexdigest()
    for p in _regular_files(att.location):
        rel = p.relative_to(att.location).as_posix().encode("utf-8", "surrogateescape")
        h.update(len(rel).to_bytes(8, "big") + rel + os.lstat(p).st_size.to_bytes(8, "big"))
        _feed(h, p)
    return h.hexdigest()


def _feed(h: hashlib._Hash, path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
