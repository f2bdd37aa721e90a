"""Folder inputs: every regular file under the root, links and devices refused (security.md section 3.8)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from analyzer.intake.archives import expand
from analyzer.intake.members import Member, Sink
from analyzer.intake.paths import normalize_path

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def walk_folder(bundle: Sink, root: Path) -> Iterator[Member]:
    """Walk a folder without following links; regular files only (security.md section 3.8).

    ``lstat`` first, then ``open`` with ``O_NOFOLLOW | O_NONBLOCK`` (a link swapped in meanwhile fails,
    a fifo does not block), then ``fstat`` again: still a regular file on the input's own device.
    """
    root_dev = os.stat(root).st_dev
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                bundle.problem(_rel(root, full), "symbolic link to a folder refused (links are never followed)")
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            norm = _rel(root, full)
            bundle.budget.add_member(norm)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                bundle.problem(norm, f"symbolic link to {_target(full)!r} refused (links are never followed)")
                continue
            if not stat.S_ISREG(st.st_mode):
                bundle.problem(norm, "not a regular file (device, socket or fifo) refused")
                continue
            try:
                fd = os.open(full, _OPEN_FLAGS)
            except OSError as exc:
                bundle.problem(norm, f"cannot open: {exc.strerror}")
                continue
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_dev != root_dev:
                    bundle.problem(norm, "changed while read, or on another file system: refused")
                    continue
                yield from expand(bundle, norm, f, st.st_size, norm)


def _target(link: str) -> str:
    """What a link names (read from the link itself, never followed)."""
    try:
        return os.readlink(link)[:1024]
    except OSError:
        return "?"


def _rel(root: Path, full: str) -> str:
    rel = os.path.relpath(full, root)
    return normalize_path(rel) or rel
