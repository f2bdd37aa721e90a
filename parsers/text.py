"""Encoding sniff and a bounded line reader shared by every text parser.

Windows logs arrive as UTF-16LE with a BOM (``FF FE``), sometimes without one; Linux logs are UTF-8
or ASCII with backslash escapes. Invalid bytes never raise: they decode to U+FFFD. Lines longer than
the context's ``max_line`` (``Limits.max_line``, 64 KiB by default) are cut (the rest of the line is
skipped) and reported once per member, which also bounds the input any regular expression sees.

Every line a parser or a sniff reads is clean (:func:`clean_line`, :func:`clean_block`): terminal escape
sequences are dropped (``grep --color=always`` wraps each match in ``ESC[01;31mESC[K ... ESC[mESC[K``; so do
``journalctl``, ``systemctl status`` and ``less -R`` copies with colour forced), and so are the quote marks an
e-mail reply puts before each line of a pasted log (``> ``, ``>> ``, ``> > ``, a lone ``>`` on an empty line)::

    > 2025-12-01T03:01:14.000000Z ERROR ExtHandler ExtHandler Error fetching the goal state: ...

A quote mark counts only at the start of a line: a ``>`` inside a record is the record's text.

A log pasted as a Markdown code block, or indented by a tab, has a *margin*: every line of it opens with the same
spaces, perhaps after a few lines of its own (a reply's greeting, a note) that do not open as records do. That
margin is dropped from every line of the member that has it (:func:`margin`); a real log's first record opens at
its first column, so its indented continuation lines keep their indentation::

        2020/01/19 09:15:21.783005 ERROR ExtHandler ProtocolError processing goal state, giving up [...]
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from parsers.base import MAX_LINE, ParseContext

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# ECMA-48 escape sequences: CSI ``ESC [ parameters intermediates final`` (colours, erase ``ESC[K``, cursor moves),
# OSC ``ESC ] ... BEL`` or ``ESC ] ... ESC \\`` (window titles, hyperlinks; unterminated: to the end of the line, as a
# terminal swallows it), any other ``ESC`` with its intermediates and final byte (charset ``ESC(B``), a lone ``ESC``
_ESCAPE = r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[ -/]*[0-~])?"
_ESCAPE_TEXT = re.compile(_ESCAPE)
_ESCAPE_BYTES = re.compile(_ESCAPE.encode())
# the quote marks of an e-mail reply at the start of a line: ``>``, each with one space or tab after it
_QUOTE_TEXT = re.compile(r"(?:>[ \t]?)+")
_QUOTE_BYTES = re.compile(rb"(?:>[ \t]?)+")
_QUOTED_LINES = re.compile(rb"^(?:>[ \t]?)+", re.MULTILINE)


def clean_line(line: str) -> str:
    """``line`` without terminal escape sequences and without the e-mail quote marks that open it."""
    if "\x1b" in line:
        line = _ESCAPE_TEXT.sub("", line)
    if line[:1] == ">":
        line = line[_QUOTE_TEXT.match(line).end():]  # type: ignore[union-attr]
    return line


def clean_raw(raw: bytes) -> bytes:
    """:func:`clean_line` of one UTF-8 line as bytes (escape sequences and quote marks are ASCII)."""
    if 27 in raw:
        raw = _ESCAPE_BYTES.sub(b"", raw)
    if raw[:1] == b">":
        raw = raw[_QUOTE_BYTES.match(raw).end():]  # type: ignore[union-attr]
    return raw


def clean_block(block: bytes) -> bytes:
    """:func:`clean_line` of every line of a UTF-8 block (no newline is removed: line numbers stay); a block without
    an escape or a line opening with ``>`` is returned as it is, found by two substring searches."""
    if 27 in block:
        block = _ESCAPE_BYTES.sub(b"", block)
    if block[:1] == b">" or b"\n>" in block:
        block = _QUOTED_LINES.sub(b"", block)
    return block


_MAX_MARGIN = 16
_PREAMBLE = 12  # lines of a reply or a note that may stand at the first column before an indented paste
_RECORD_LIKE = re.compile(r"\d|\[|[A-Z][a-z]{2} [ \d]\d ")  # a line opening as a record does: a date, a thread id


def margin(head: str) -> str:
    """The indentation every non-empty line of a member's ``head`` (clean text) opens with from its first indented
    line on, when those are two lines or more and the lines before it (a reply's greeting, a note: at most
    ``_PREAMBLE``) do not open as records do; '' otherwise. The last line is left out when the head ends inside it."""
    lines = head.split("\n")
    if len(lines) > 1 and not head.endswith("\n"):
        lines.pop()
    texts = [line.rstrip("\r") for line in lines if line.strip()]
    first = next((i for i, text in enumerate(texts[:_PREAMBLE + 1]) if text[:1] in " \t"), None)
    if first is None or any(_RECORD_LIKE.match(text) for text in texts[:first]):
        return ""
    body = texts[first:]
    if len(body) < 2 or any(text[:1] not in " \t" for text in body):
        return ""
    indents = [text[:len(text) - len(text.lstrip(" \t"))] for text in body]
    common = min(indents, key=len)
    while common and not all(indent.startswith(common) for indent in indents):
        common = common[:-1]
    return common if len(common) <= _MAX_MARGIN else ""


def sniff_encoding(head: bytes) -> str:
    """Guess the encoding from the first bytes: a BOM, or NUL bytes in every other position."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:512]
    if len(sample) >= 4:
        odd_nuls = sample[1::2].count(0)
        even_nuls = sample[0::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.6 and even_nuls < half * 0.1:
            return "utf-16-le"
        if even_nuls > half * 0.6 and odd_nuls < half * 0.1:
            return "utf-16-be"
    return "utf-8"


def _clean_head(head: bytes, enc: str) -> str:
    """The head decoded and cleaned as its lines will be (for :func:`margin`)."""
    if enc.startswith("utf-16") or enc.startswith("utf-32"):
        head = head[: len(head) - len(head) % 4]
    text = head.decode(enc, "replace")
    if "\x1b" in text or text[:1] == ">" or "\n>" in text:
        text = "\n".join(clean_line(line) for line in text.split("\n"))
    return text


def peekable(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself when it can ``peek`` at its first bytes, else a buffered reader over it."""
    if isinstance(stream, io.BufferedIOBase) and hasattr(stream, "peek"):
        return stream
    return io.BufferedReader(_RawAdapter(stream))  # type: ignore[return-value]


def head_margin(head: bytes) -> str:
    """The margin (:func:`margin`) of a member whose first bytes are ``head``."""
    return margin(_clean_head(head, sniff_encoding(head)).lstrip("\ufeff"))


def head_text(head: bytes) -> str:
    """The first bytes of a member as text, for sniffs (never raises); its lines clean (:func:`clean_line`), a
    paste's margin dropped (:func:`margin`)."""
    text = _clean_head(head, sniff_encoding(head))
    if indent := margin(text.lstrip("\ufeff")):
        text = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in text.split("\n"))
    return text


def iter_lines(
    stream: BinaryIO, ctx: ParseContext | None = None, max_line: int | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` with line ends stripped; 1-based numbers.

    The encoding is sniffed from the first bytes. Over-long lines are truncated to ``max_line`` (default:
    the context's, which the pipeline sets from ``Limits.max_line``) and counted as one problem per member;
    then cleaned (:func:`clean_line`), and a paste's margin dropped (:func:`margin`).
    """
    if max_line is None:
        max_line = ctx.max_line if ctx is not None else MAX_LINE
    reader = peekable(stream)
    head = reader.peek(4096)[:4096]  # type: ignore[attr-defined]
    enc = sniff_encoding(head)
    indent = head_margin(head)
    truncated = 0
    if enc in ("utf-8", "utf-8-sig"):
        readline = reader.readline
        n = 0
        first = True
        while True:
            raw = readline(max_line)
            if not raw:
                break
            n += 1
            if first:
                first = False
                if raw.startswith(codecs.BOM_UTF8):
                    raw = raw[3:]
            if len(raw) >= max_line and not raw.endswith(b"\n"):
                truncated += 1
                while True:  # skip the rest of this line
                    rest = readline(max_line)
                    if not rest or rest.endswith(b"\n"):
                        break
            if 27 in raw or (62 in raw and raw[0] == 62):  # ESC, or ">" first: two memchr calls on a clean line
                raw = clean_raw(raw)
            if indent and raw.startswith(wide := indent.encode()):
                raw = raw[len(wide):]
            yield n, raw.rstrip(b"\r\n").decode("utf-8", "replace")
    else:
        text = io.TextIOWrapper(reader, encoding=enc, errors="replace", newline=None)
        n = 0
        while True:
            line = text.readline(max_line)
            if not line:
                break
            n += 1
            if len(line) >= max_line and not line.endswith("\n"):
                truncated += 1
                while True:
                    rest = text.readline(max_line)
                    if not rest or rest.endswith("\n"):
                        break
            line = clean_line(line.rstrip("\r\n").lstrip("\ufeff"))
            yield n, line[len(indent):] if indent and line.startswith(indent) else line
    if truncated and ctx is not None:
        ctx.problem("problem.lines_truncated", n=truncated, limit=max_line)


def read_blocks(stream: BinaryIO, size: int, max_line: int = MAX_LINE) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes cut after their last newline; the last one gets a newline if it lacks one.

    A line of ``max_line`` bytes or more is kept to its first ``max_line`` bytes (the rest is skipped, as
    :func:`iter_lines` does), so a file without newlines never grows a block past ``size + max_line``.
    Each block holds the carry of the block before and the next ``size`` bytes of the stream (fewer at its end),
    joined once from the pieces the readers under it hand out (:func:`uncopied`).
    """
    read = uncopied(stream)
    carry = b""
    dropping = False
    while parts := _pieces(read, size):
        if dropping:  # the rest of an over-long line, up to its newline
            while parts and parts[0].find(b"\n") < 0:
                del parts[0]
            if not parts:
                continue
            parts[0] = parts[0][parts[0].find(b"\n"):]
            dropping = False
        last = len(parts) - 1
        while last >= 0 and (cut := parts[last].rfind(b"\n") + 1) == 0:
            last -= 1
        if last < 0:  # no newline: all of it carried
            carry = b"".join((carry, *parts))
        else:
            end = parts[last]
            if not carry and last == 0 and cut == len(end):
                yield end
            else:
                yield b"".join((carry, *parts[:last], memoryview(end)[:cut]))
            carry = b"".join((end[cut:], *parts[last + 1:]))
        if len(carry) > max_line:
            carry, dropping = carry[:max_line], True
    if carry:
        yield carry + b"\n"


def _pieces(read: Callable[[int], bytes], size: int) -> list[bytes]:
    """The next ``size`` bytes of a stream (fewer at its end), as the pieces ``read`` gives (each at most the
    size asked)."""
    parts: list[bytes] = []
    have = 0
    while have < size and (data := read(size - have)):
        parts.append(data)
        have += len(data)
    return parts


def uncopied(stream: BinaryIO) -> Callable[[int], bytes]:
    """A function giving up to ``n`` bytes of ``stream`` at a call (none at its end), in the pieces the reader under
    it hands out when it can: a ``BufferedReader`` over a raw reader with ``read_uncopied`` (the intake's readers,
    :func:`replay`) copies each piece into its buffer; here, once the bytes it holds are taken (``peek`` gives
    them all), the raw reader's pieces come as they are. The caller is from then on the stream's only reader."""
    raw = getattr(stream, "raw", None)
    direct = getattr(raw, "read_uncopied", None)
    if direct is None or not isinstance(stream, io.BufferedReader):
        return getattr(stream, "read1", stream.read)  # type: ignore[no-any-return]
    held = stream.read(len(stream.peek()))

    def read(n: int) -> bytes:
        nonlocal held
        if held:
            data, held = held[:n], held[n:]
            return data
        return direct(n)  # type: ignore[no-any-return]
    return read


def read_text(stream: BinaryIO, limit: int = 64 * 1024 * 1024) -> str:
    """Read a whole (small) member as text with the sniffed encoding; bytes past ``limit`` are dropped."""
    data = stream.read(limit)
    enc = sniff_encoding(data[:4096])
    return data.decode(enc, "replace").lstrip("\ufeff")


def replay(head: bytes, stream: BinaryIO) -> BinaryIO:
    """A stream giving ``head`` and then what is left of ``stream``."""
    return io.BufferedReader(_RawAdapter(stream, head), 1 << 16)


class _RawAdapter(io.RawIOBase):
    """Lets any object with ``read`` sit under a BufferedReader; ``head`` comes first."""

    def __init__(self, stream: BinaryIO, head: bytes = b"") -> None:
        self._stream = stream
        self._head = head
        self._read: Callable[[int], bytes] | None = None  # made at the first read: the stream may be peeked before

    def readable(self) -> bool:
        return True

    def read_uncopied(self, n: int) -> bytes:
        if self._head:
            data, self._head = self._head[:n], self._head[n:]
            return data
        if self._read is None:
            self._read = uncopied(self._stream)
        return self._read(n)

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self.read_uncopied(len(b))
        n = len(data)
        b[:n] = data
        return n
