"""Bundle and Member: the objects intake hands to recognition and parsers."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from analyzer.intake.limits import IntakeError, Limits
from analyzer.intake.paths import normalize_path
from analyzer.intake.streams import Budget


@dataclass
class Member:
    """One file of the bundle. ``stream`` is readable only until the next member is requested."""

    path: str  # normalized relative POSIX path; nested members read "outer.zip/inner/path"
    size: int | None
    stream: BinaryIO
    origin: str = ""  # how it was reached, e.g. "logs.zip!history/x.zip!GoalState.xml"


@dataclass
class IntakeProblem:
    path: str
    message: str


@dataclass
class Bundle:
    """An opened input. Iterate :meth:`members` once."""

    input_path: Path
    limits: Limits
    name: str = ""
    sha256: str = ""
    bytes: int = 0
    problems: list[IntakeProblem] = field(default_factory=list)
    member_paths: list[str] = field(default_factory=list)
    budget: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = Budget(self.limits)

    def members(self) -> Iterator[Member]:
        from analyzer.intake import archives

        it = _walk_folder(self) if self.input_path.is_dir() else archives.iter_file(self, self.input_path)
        for m in it:
            self.member_paths.append(m.path)
            yield m

    def problem(self, path: str, message: str) -> None:
        self.problems.append(IntakeProblem(path, message))


def open_bundle(path: str | os.PathLike[str], limits: Limits | None = None) -> Bundle:
    """Open a folder or archive; raises :class:`IntakeError` when it cannot be opened at all."""
    p = Path(path)
    if not p.exists():
        raise IntakeError(f"{p}: no such file or folder")
    if not (p.is_dir() or p.is_file()):
        raise IntakeError(f"{p}: not a regular file or folder")
    b = Bundle(p, limits or Limits(), name=p.name)
    if p.is_file():
        b.bytes = p.stat().st_size
        if b.bytes == 0:
            raise IntakeError(f"{p}: the input file is empty")
        try:
            b.sha256 = _sha256(p)
        except OSError as exc:
            raise IntakeError(f"{p}: cannot read the input: {exc.strerror}") from None
    else:
        b.bytes = sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    return b


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _walk_folder(bundle: Bundle) -> Iterator[Member]:
    """Walk a folder without following links; regular files only (security.md section 3.8).

    ``lstat`` first, then ``open`` with ``O_NOFOLLOW | O_NONBLOCK`` (a link swapped in meanwhile fails,
    a fifo does not block), then ``fstat`` again: still a regular file on the input's own device.
    """
    from analyzer.intake import archives

    root = bundle.input_path
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
                bundle.problem(norm, "symbolic link refused (links are never followed)")
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
                yield from archives.expand(bundle, norm, f, st.st_size, norm)


def _rel(root: Path, full: str) -> str:
    rel = os.path.relpath(full, root)
    return normalize_path(rel) or rel
