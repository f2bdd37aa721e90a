"""Folder inputs: every regular file under the root, walked by directory file descriptors (security.md 3.8).

Each folder is opened relative to its parent's descriptor with ``O_NOFOLLOW | O_DIRECTORY``, and each file
relative to its folder's with ``O_NOFOLLOW | O_NONBLOCK``; ``fstat`` then decides on the opened object
itself. So a folder swapped for a symbolic link while the walk runs is refused, not followed (a path
walk checks only the last component), a FIFO cannot block the open, and nothing on another file system
(a mount point inside the folder) is read. A hard link is read only when every one of its names is
inside the root: a census of the root counts the names of each multiply-linked inode first, and a file
with more links than the census found (a link to a file outside the folder) is refused.

Anything that cannot be read (a folder without permission, a link, a device) is a row for the caller;
the walk goes on. Names are text with :func:`~analyzer.escape.escape_name` (bytes that are not UTF-8
stay recoverable).
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.escape import escape_name
from analyzer.intake.archives import expand
from analyzer.intake.limits import IntakeError
from analyzer.intake.members import Member, Sink
from analyzer.intake.paths import normalize_path
from parsers.base import Message, say

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
MAX_DEPTH = 128  # folder levels; one descriptor is open per level

Problem = Callable[[str, Message], None]  # (relative path, why it is not read)


@dataclass
class Census:
    """What the root holds: bytes of its regular files and the names each multiply-linked inode has inside it."""

    bytes: int = 0
    names: Counter[tuple[int, int]] = field(default_factory=Counter)


def open_root(root: Path) -> int:
    """The root folder (the caller named it, so a link there is the caller's choice; below it none is followed)."""
    try:
        return os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError as exc:
        raise IntakeError(say("intake.folder_unopenable", path=escape_name(str(root)),
                              error=str(exc.strerror))) from None


def census(root: Path) -> Census:
    """Bytes and hard-link names under ``root`` (links, devices and other file systems not counted)."""
    fd = open_root(root)
    try:
        found = Census()
        dev = os.fstat(fd).st_dev
        for _, st in _entries(fd, "", dev, lambda _p, _m: None, 0):
            found.bytes += st.st_size
            if st.st_nlink > 1:
                found.names[(st.st_dev, st.st_ino)] += 1
        return found
    finally:
        os.close(fd)


def file_paths(root: Path) -> list[str]:
    """The relative paths of the regular files under ``root``, in the order :func:`walk_folder` reads them."""
    fd = open_root(root)
    try:
        return [_rel(rel) for rel, _ in _entries(fd, "", os.fstat(fd).st_dev, lambda _p, _m: None, 0)]
    finally:
        os.close(fd)


def regular_files(root: Path, problem: Problem) -> Iterator[tuple[str, int, os.stat_result]]:
    """(relative path, open descriptor, its fstat) of every regular file under ``root``, sorted, files of a
    folder before its subfolders. The caller owns each descriptor until the next one is requested (it is
    closed then); refusals go to ``problem``."""
    names = census(root).names
    fd = open_root(root)
    try:
        dev = os.fstat(fd).st_dev
        opened = [-1]
        for rel, st in _entries(fd, "", dev, problem, 0, names, opened):
            yield rel, opened[0], st
    finally:
        os.close(fd)


def _entries(dir_fd: int, rel: str, dev: int, problem: Problem, depth: int,
             names: Counter[tuple[int, int]] | None = None,
             opened: list[int] | None = None) -> Iterator[tuple[str, os.stat_result]]:
    """Walk one folder. Without ``opened`` only ``lstat`` is used (the census); with it every accepted file is
    opened and its descriptor put in ``opened[0]`` while it is yielded."""
    try:
        with os.scandir(dir_fd) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        problem(rel or ".", say("intake.folder_unreadable", error=str(exc.strerror)))
        return
    folders = []
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            problem(path, say("intake.unreadable", error=str(exc.strerror)))
            continue
        if stat.S_ISDIR(st.st_mode):
            folders.append((entry.name, path))
        elif stat.S_ISLNK(st.st_mode):
            problem(path, say("intake.folder_symlink", target=repr(_target(entry.name, dir_fd))))
        elif not stat.S_ISREG(st.st_mode):
            problem(path, say("intake.folder_special"))
        elif opened is None:
            yield path, st
        else:
            yield from _opened(dir_fd, entry.name, path, dev, problem, names or Counter(), opened)
    for name, path in folders:
        if depth + 1 >= MAX_DEPTH:
            problem(path, say("intake.folder_too_deep", limit=MAX_DEPTH))
            continue
        try:
            sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            problem(path, _not_opened(exc, folder=True))
            continue
        try:
            if os.fstat(sub).st_dev != dev:
                problem(path, say("intake.folder_mount"))
                continue
            yield from _entries(sub, path, dev, problem, depth + 1, names, opened)
        finally:
            os.close(sub)


def _opened(dir_fd: int, name: str, path: str, dev: int, problem: Problem, names: Counter[tuple[int, int]],
            opened: list[int]) -> Iterator[tuple[str, os.stat_result]]:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        problem(path, _not_opened(exc, folder=False))
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            problem(path, say("intake.file_changed"))
        elif st.st_dev != dev:
            problem(path, say("intake.other_filesystem"))
        elif st.st_nlink > 1 and st.st_nlink > names[(st.st_dev, st.st_ino)]:
            problem(path, say("intake.folder_hardlink"))
        else:
            opened[0] = fd
            yield path, st
    finally:
        opened[0] = -1
        os.close(fd)


def _target(name: str, dir_fd: int) -> str:
    """What a link names (read from the link itself, never followed)."""
    try:
        return escape_name(os.readlink(name, dir_fd=dir_fd)[:1024])
    except OSError:
        return "?"


def _not_opened(exc: OSError, folder: bool) -> Message:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a link swapped in since the folder was listed
        return say("intake.folder_replaced_by_link" if folder else "intake.file_replaced_by_link")
    return say("intake.folder_unreadable" if folder else "intake.file_unreadable", error=str(exc.strerror))


def walk_folder(bundle: Sink, root: Path) -> Iterator[Member]:
    """The members of a folder input: every accepted regular file, as is or as the archive it is."""
    for raw, fd, st in regular_files(root, lambda p, why: bundle.problem(_rel(p), why)):
        norm = _rel(raw)
        bundle.budget.add_member(norm)
        with os.fdopen(os.dup(fd), "rb") as f:
            yield from expand(bundle, norm, f, st.st_size, norm)


def _rel(raw: str) -> str:
    return escape_name(normalize_path(raw) or raw)
