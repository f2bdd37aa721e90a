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
        b.sha256 = _sha256(p)
    else:
        b.bytes = sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    return b


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _walk_folder(bundle: Bundle) -> Iterator[Member]:
    """Walk a folder without following links; regular files only."""
    from analyzer.intake import archives

    root = bundle.input_path
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, root)
            norm = normalize_path(rel) or rel
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                bundle.problem(norm, "symbolic link refused (links are never followed)")
                continue
            if not stat.S_ISREG(st.st_mode):
                bundle.problem(norm, "not a regular file (device, socket or fifo) refused")
                continue
            count += 1
            if count > bundle.limits.max_members:
                raise IntakeError(f"{norm}: more than max_members={bundle.limits.max_members} files")
            with open(full, "rb") as f:
                yield from archives.expand(bundle, norm, f, st.st_size, depth=0)
