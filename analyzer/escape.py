"""Text from a bundle or the filesystem, escaped for the place it goes (security.md 5.3-5.5).

- :func:`escape_name`: a name read from an archive, a folder or a batch folder (``surrogateescape`` text)
  as clean text with a lossless, reversible escape: an undecodable byte is ``\\xHH`` (HH >= 80), a C0
  control ``\\xHH`` (HH < 20), any other character no output may show raw (C1, bidi and zero-width
  characters, the BOM, a lone UTF-16 surrogate) ``\\uHHHH``, and a backslash ``\\\\``.
  :func:`unescape_name` gives the original back (``os.fsencode`` of it gives the bytes), so every name
  is valid, displayable Unicode before it reaches SQLite, CSV, JSON, Parquet, HTML or a terminal.
- :func:`machine_text`: a CSV or Parquet cell or a database field: the same characters as visible
  ``\\xHH``/``\\uHHHH`` escapes, so no terminal or spreadsheet that shows the file runs or reorders them.
- :func:`to_json_text`: strict JSON (no ``NaN``/``Infinity``: a non-finite number becomes ``null``)
  that is valid UTF-8, with those same characters as JSON ``\\uHHHH`` escapes (they decode back).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# the characters no machine output keeps raw; tab, LF and CR are kept (CSV quotes them, JSON escapes them)
UNSAFE_CLASS = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
                "\u2060-\u2069\ufeff\ud800-\udfff")
_UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME_UNSAFE = re.compile(f"[\\\\\t\n\r{UNSAFE_CLASS}]")
_NAME_ESCAPE = re.compile(r"\\(?:\\|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def _name_char(m: re.Match[str]) -> str:
    c = m.group(0)
    if c == "\\":
        return "\\\\"
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: an undecodable byte, code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def escape_name(name: str) -> str:
    """``name`` as clean Unicode; :func:`unescape_name` reverses it (plain names pass unchanged)."""
    return _NAME_UNSAFE.sub(_name_char, name)


def unescape_name(text: str) -> str:
    """The ``surrogateescape`` text :func:`escape_name` was given (``os.fsencode`` turns it into the bytes)."""

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            code = int(m.group(1), 16)
            return chr(code if code < 0x80 else 0xDC00 + code)
        if m.group(2):
            return chr(int(m.group(2), 16))
        return "\\"

    return _NAME_ESCAPE.sub(one, text)


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def machine_text(text: str) -> str:
    """A field of a CSV, Parquet or database output with the unsafe characters made visible."""
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def json_safe(obj: Any) -> Any:
    """A copy of a JSON-like value fit for strict JSON: non-finite floats become None, lone surrogates
    are escaped as in names; anything else that is not JSON becomes its ``str``."""
    if isinstance(obj, str):
        return escape_name(obj) if _SURROGATE.search(obj) else obj
    if isinstance(obj, bool | int) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {json_safe(k if isinstance(k, str) else str(k)): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(x) for x in obj]
    return json_safe(str(obj))


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def to_json_text(obj: Any, indent: int | None = None) -> str:
    """Strict JSON of ``obj`` (see :func:`json_safe`), readable UTF-8, unsafe characters as ``\\u`` escapes."""
    text = json.dumps(json_safe(obj), indent=indent, ensure_ascii=False, allow_nan=False)
    return _JSON_UNSAFE.sub(_json_escape, text)
