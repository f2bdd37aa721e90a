"""Files the tool writes (reports, timeline exports, the batch catalog, the fleet report and exports).

Reports hold customer data, so every output file is created with mode 0600 and never through a link:
:func:`open_output` writes into a new file created beside the target with
``O_CREAT | O_EXCL | O_NOFOLLOW`` and renames it over the target when the writing succeeded. The
rename replaces the directory entry itself, so a link planted at the path is never followed, and an
export that fails half-way leaves no truncated file. A target that already exists as a symbolic link,
a folder or a special file is refused (:class:`OutputError`), as ``O_NOFOLLOW`` would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class OutputError(Exception):
    """An output path that may not be written (a link, a folder, a special file, a missing folder)."""


def check_output(path: Path) -> None:
    """Raise :class:`OutputError` when ``path`` exists as anything but a regular file, or its folder is missing."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputError(f"{path}: the folder to write into does not exist") from None
        return
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{path}: is a symbolic link; refused (outputs are never written through a link)")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{path}: exists and is not a regular file; refused")


def create_private(path: Path) -> int:
    """A new file at ``path`` (mode 0600, never through a link); raises ``FileExistsError`` if anything is there."""
    return os.open(path, _CREATE, MODE)


@contextlib.contextmanager
def open_output(path: Path, binary: bool = False, **text_options: Any) -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` when the block ends without an error."""
    check_output(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = create_private(tmp)
    try:
        if binary:
            f: IO[Any] = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding="utf-8", **text_options)
        with f:
            yield f
        check_output(path)  # still no link or folder there
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: Path, text: str) -> None:
    with open_output(path) as f:
        f.write(text)


def private_folder(path: Path) -> None:
    """``path`` as a folder of our own (created 0700), refused when it is a link or another kind of file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.mkdir(path, 0o700)
        return
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: exists and is not a folder (or is a symbolic link); refused")
