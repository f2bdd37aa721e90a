"""``display()``: bundle text made safe to show in a terminal, a table cell or an HTML page.

Control characters (C0 except tab, DEL, C1 including the 8-bit CSI), bidi overrides, zero-width
characters, the BOM and lone surrogates become visible ``\\xNN``/``\\uNNNN`` escapes, so no escape
sequence, clipboard write, fake hyperlink or reordered text reaches the reader (security.md 5.3).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff"
    "\ud800-\udfff]"
)
_UNSAFE_OR_NEWLINE = re.compile(_UNSAFE.pattern[:-1] + "\n]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def display(text: object, limit: int = 4000, newlines: bool = False) -> str:
    """Neutralize ``text`` and cut it at ``limit`` characters; ``newlines=True`` keeps line breaks."""
    s = "" if text is None else str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    return (_UNSAFE if newlines else _UNSAFE_OR_NEWLINE).sub(_escape, s)
