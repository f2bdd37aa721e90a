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

from analyzer.escape import escape_name
from analyzer.intake.folder import regular_files
from analyzer.intake.limits import IntakeError
from parsers.base import Message, say

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
    """One job: an attachment of a ticket. ``path`` is relative to the batch folder, POSIX style; ``ticket`` and
    ``path`` are text (:func:`escape_name`: a byte that is not UTF-8 is ``\\xHH``), ``location`` opens the file."""

    ticket: str
    path: str
    location: Path
    is_dir: bool
    error: Message | None = None  # why it cannot be read at all (recorded as failed, never analyzed)


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


def _regular_files(folder: Path) -> Iterator[tuple[str, int, os.stat_result]]:
    """(relative path, descriptor, fstat) of the regular files under ``folder``, sorted, never through a link
    (the intake's own walk: links, devices, other file systems and outside hard links are left out)."""
    return regular_files(folder, lambda _path, _why: None)


def _is_log_folder(folder: Path) -> bool:
    return next(iter(_regular_files(folder)), None) is not None


def _kind(entry: Path) -> str | None:
    """"dir", "file" or None (a link, a special file, or something that is not a bundle)."""
    st = os.lstat(entry)
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode) and is_archive(entry):
        return "file"
    return None


def discover(root: Path) -> tuple[list[Attachment], list[str]]:
    """Every bundle under ``root`` as an :class:`Attachment`, and the entries that were skipped (with why).

    A ticket folder or attachment that cannot be read is still an attachment, with its ``error``: it becomes
    a failed row, never a stopped batch."""
    jobs: list[Attachment] = []
    skipped: list[str] = []
    for entry in sorted(root.iterdir()):
        name = escape_name(entry.name)
        try:
            kind = _kind(entry)
            children = sorted(entry.iterdir()) if kind == "dir" else []
        except OSError as exc:
            jobs.append(Attachment(name, name, entry, True, say("intake.unreadable", error=str(exc.strerror))))
            continue
        if kind == "file":
            jobs.append(Attachment(ticket_of(name), name, entry, False))
        elif kind == "dir":
            for child in children:
                rel = f"{name}/{escape_name(child.name)}"
                try:
                    child_kind = _kind(child)
                    log_folder = child_kind == "dir" and _is_log_folder(child)
                except (OSError, IntakeError) as exc:
                    jobs.append(Attachment(name, rel, child, True, say("intake.unreadable",
                                                                       error=str(getattr(exc, "strerror", exc)))))
                    continue
                if child_kind == "file" or log_folder:
                    jobs.append(Attachment(name, rel, child, child_kind == "dir"))
                else:
                    skipped.append(f"{rel}: not an archive or a folder of logs")
        else:
            skipped.append(f"{name}: not an archive or a ticket folder")
    return jobs, skipped


def size_of(att: Attachment) -> int:
    """Bytes on disk: the file, or the sum of a folder's regular files."""
    if not att.is_dir:
        return os.lstat(att.location).st_size
    return sum(st.st_size for _, _, st in _regular_files(att.location))


def content_sha256(att: Attachment) -> str:
    """sha256 of an archive's bytes; for a folder, of its sorted relative file names and their contents."""
    h = hashlib.sha256()
    if not att.is_dir:
        fd = os.open(att.location, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            _feed(h, fd)
        finally:
            os.close(fd)
        return h.hexdigest()
    for rel, fd, st in _regular_files(att.location):
        name = rel.encode("utf-8", "surrogateescape")
        h.update(len(name).to_bytes(8, "big") + name + st.st_size.to_bytes(8, "big"))
        _feed(h, fd)
    return h.hexdigest()


def _feed(h: hashlib._Hash, fd: int) -> None:
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
