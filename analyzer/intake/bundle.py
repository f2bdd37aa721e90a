"""Opening an input: a folder or an archive file becomes a :class:`Bundle` whose members are read once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.escape import escape_name
from analyzer.intake.archives import iter_file
from analyzer.intake.folder import census, file_paths, walk_folder
from analyzer.intake.limits import IntakeError, Limits
from analyzer.intake.members import IntakeProblem, Member
from analyzer.intake.streams import Budget
from parsers.base import Message, say


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
        it = walk_folder(self, self.input_path) if self.input_path.is_dir() else iter_file(self, self.input_path)
        for m in it:
            self.member_paths.append(m.path)
            yield m

    def unread(self) -> list[str] | None:
        """After reading stopped early: the files of a folder input it never reached (``None`` for an archive,
        whose remaining members are unknown without reading them)."""
        if not self.input_path.is_dir():
            return None
        files = file_paths(self.input_path)
        if not self.member_paths:
            return files
        last = self.member_paths[-1]
        reached = next((i for i, f in enumerate(files) if last == f or last.startswith(f + "/")), -1)
        return files[reached + 1:]

    def problem(self, path: str, message: Message | str) -> None:
        """A member refused or unreadable: the tool's message, or a library's error text shown as it is."""
        self.problems.append(IntakeProblem(path, message if isinstance(message, Message) else
                                           say("verbatim", text=message)))


def open_bundle(path: str | os.PathLike[str], limits: Limits | None = None) -> Bundle:
    """Open a folder or archive; raises :class:`IntakeError` when it cannot be opened at all."""
    p = Path(path)
    if not p.exists():
        raise IntakeError(say("intake.no_such_input", path=str(p)))
    if not (p.is_dir() or p.is_file()):
        raise IntakeError(say("intake.not_file_or_folder", path=str(p)))
    b = Bundle(p, limits or Limits(), name=escape_name(p.name))
    if p.is_file():
        b.bytes = p.stat().st_size
        if b.bytes == 0:
            raise IntakeError(say("intake.input_empty", path=str(p)))
        try:
            b.sha256 = _sha256(p)
        except OSError as exc:
            raise IntakeError(say("intake.input_unreadable", path=str(p), error=str(exc.strerror))) from None
    else:
        b.bytes = census(p).bytes
    return b


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
