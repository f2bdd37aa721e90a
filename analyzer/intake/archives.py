"""Archive readers (placeholder: plain files only until the archive readers land).

``iter_file`` opens the input file; ``expand`` yields a member as is, or the members inside it when it
is an archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from analyzer.intake.members import Bundle, Member


def iter_file(bundle: Bundle, path: Path) -> Iterator[Member]:
    with path.open("rb") as f:
        yield from expand(bundle, path.name, f, path.stat().st_size, depth=0)


def expand(bundle: Bundle, name: str, stream: BinaryIO, size: int | None, depth: int) -> Iterator[Member]:
    from analyzer.intake.members import Member

    yield Member(name, size, stream, name)
