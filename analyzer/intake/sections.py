"""Text files that hold several files: a SUSE supportconfig section file is split into the files it embeds.

``supportconfig`` writes what it collects into a few ``.txt`` files (``basic-environment.txt``,
``messages.txt``, plugin files such as ``plugin-azure.txt``), each a run of sections that open with a banner
line and a line naming what follows (supportutils ``scplugin.rc``: ``pconf_files``, ``plog_files``,
``plugin_command``)::

    #==[ Configuration File ]===========================#
    # /etc/waagent.conf
    AutoUpdate.Enabled=n

    #==[ Log File ]=====================================#
    # /var/log/messages - Last 10000 Lines
    2025-02-28T21:14:02.123456+00:00 hana-db-07 python[1620]: ...

    #==[ Command ]======================================#
    # /usr/sbin/waagent --version
    WALinuxAgent-2.2.45 running on sles 12.5

Each section becomes a member of its own, named after the file it holds (``plugin-azure.txt/etc/waagent.conf``:
the path decides its parser, as for the file itself) or, for a command's output and any other section,
``plugin-azure.txt/command 3: waagent --version`` (no path: its content decides). A section whose file was
not found (``# /etc/waagent.conf - File not found``) holds nothing. A file that does not open with a banner is
handed on as it is.

The split streams: a section is read while its parser reads it, up to the next banner line, and what a
parser leaves unread is skipped. Every byte is still read from the member's own reader, which charges it.
At most :data:`MAX_SECTIONS` sections are split out of one file; the rest stays in the last one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from analyzer.intake.members import Member

_BANNER = re.compile(rb"#==\[ *([^\]\r\n]{1,80}?) *\]=*#?[ \t]*\r?\n?$")
_NAMED = re.compile(rb"# (.{1,400}?)[ \t]*\r?\n?$")
_TAIL = re.compile(r" - (?:Last \d+ Lines|File not found)$")
_FILE_SECTIONS = (b"configuration file", b"log file")
MAX_SECTIONS = 2000
_LINE = 1 << 20  # a line is read in pieces of at most this many bytes; a banner is one short line


def sectioned(head: bytes) -> bool:
    """``head`` opens with a supportconfig banner (blank lines and a BOM before it aside)."""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    return _BANNER.match(first + b"\n") is not None


def sections(member: Member, head: bytes) -> Iterator[Member]:
    """The members ``member`` holds when it is a section file (``head``: its first bytes), else ``member``."""
    if not sectioned(head):
        yield member
        return
    lines = _Lines(member.stream)
    n = 0
    while lines.to_banner():
        banner = _BANNER.match(lines.banner or b"")
        lines.banner = None
        named = lines.next_line()
        m = _NAMED.match(named)
        if banner is None or m is None:  # a banner with no name line under it: nothing to read
            continue
        what = _TAIL.sub("", m.group(1).decode("utf-8", "replace"))
        if m.group(1).endswith(b" - File not found"):
            continue
        n += 1
        stream = io.BufferedReader(_SectionReader(lines, last=n >= MAX_SECTIONS), 1 << 16)
        yield Member(_name(member.path, banner.group(1).lower(), what, n), None, stream, member.origin)
        if n >= MAX_SECTIONS:
            return


def _name(path: str, kind: bytes, what: str, n: int) -> str:
    """The member name of section ``n``: the file it holds under ``path``, or its command."""
    if kind in _FILE_SECTIONS and what.startswith("/") and " " not in what:
        return f"{path}{what}"
    label = what.rsplit("/", 1)[-1] if what.startswith("/") else what
    return f"{path}/{kind.decode('ascii', 'replace')} {n}: {label.replace('/', '_')[:120]}".rstrip(": ")


class _Lines:
    """The member's lines, with the banner that ended the last section kept for the next."""

    def __init__(self, stream: BinaryIO) -> None:
        self.readline = getattr(stream, "readline", None) or io.BufferedReader(stream).readline  # type: ignore[arg-type]
        self.banner: bytes | None = None
        self.at_start = True  # the next piece starts a line
        self.source = stream

    def next_line(self) -> bytes:
        """The next piece of a line (b"" at the end); a banner stops here, kept in :attr:`banner`."""
        if self.banner is not None:
            return b""
        piece = self.readline(_LINE)
        start, self.at_start = self.at_start, piece.endswith(b"\n")
        if start and self.at_start and piece.startswith(b"#==[") and _BANNER.match(piece):  # a whole line
            self.banner = piece
            return b""
        return piece

    def to_banner(self) -> bool:
        """Skip to the next banner (what a parser left unread of a section); False at the end of the member."""
        while self.banner is None:
            if not self.next_line() and self.banner is None:
                return False
        return True


class _SectionReader(io.RawIOBase):
    """One section's bytes: its lines up to the next banner (to the end of the member when ``last``)."""

    def __init__(self, lines: _Lines, last: bool) -> None:
        self._lines = lines
        self._pending = b""
        self._last = last
        self.source = lines.source  # for the damage its member's reader met (streams.damage_of)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            piece = self._lines.next_line()
            if not piece:
                if self._last and self._lines.banner is not None:  # past the cap: the banner is text of the last
                    piece, self._lines.banner = self._lines.banner, None
                else:
                    return 0
            self._pending = piece
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
