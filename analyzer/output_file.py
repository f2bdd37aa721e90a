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
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from analyzer.errors import MessageError
from parsers.base import say

MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


STDOUT = "-"  # ``-o -``: standard output


class OutputError(MessageError):
    """An output path that may not be written (a link, a folder, a special file, a missing or read-only folder);
    its message is an ``output.*`` key naming the path."""


def is_stdout(path: Path | str | None) -> bool:
    return path is not None and str(path) == STDOUT


def check_output(path: Path) -> None:
    """Raise :class:`OutputError` naming ``path`` when it cannot be written: it exists as anything but a regular
    file, or its folder is missing, not a folder, or not writable (permissions, a read-only file system).
    Called before any work, so that a long analysis never ends in an unwritable path."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(say("output.unwritable", path=str(path), error=str(exc.strerror))) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise OutputError(say("output.symlink", path=str(path)))
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(say("output.is_folder", path=str(path), example=str(path / "report.html")))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(say("output.not_regular", path=str(path)))
    folder = path.parent
    if not folder.is_dir():
        key = "output.folder_missing" if not folder.exists() else "output.folder_not_folder"
        raise OutputError(say(key, path=str(path), folder=str(folder)))
    # the file is written beside the target and renamed over it: the folder itself must take new files. Tried
    # for real (a probe created and removed): permission bits do not tell a read-only mount, /proc or root
    probe = folder / f".{path.name}.{secrets.token_hex(6)}.probe"
    try:
        os.close(create_private(probe))
    except OSError as exc:
        raise OutputError(say("output.folder_unwritable", path=str(path), folder=str(folder),
                                      error=str(exc.strerror or exc))) from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


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


@contextlib.contextmanager
def open_destination(path: Path, binary: bool = False, **text_options: Any) -> Iterator[IO[Any]]:
    """:func:`open_output`, or standard output for ``-`` (flushed, never closed)."""
    if not is_stdout(path):
        with open_output(path, binary, **text_options) as f:
            yield f
        return
    out: IO[Any] = sys.stdout.buffer if binary else sys.stdout
    yield out
    out.flush()


def private_folder(path: Path) -> None:
    """``path`` as a folder of our own (created 0700), refused when it is a link or another kind of file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.mkdir(path, 0o700)
        return
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(say("output.not_folder", path=str(path)))
