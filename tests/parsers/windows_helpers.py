"""Helpers of the Windows parser tests: run a parser over bytes, build Windows-encoded files."""

from __future__ import annotations

import codecs
import io

from parsers import get_parser
from parsers.base import Event, ParseContext


def run(name: str, data: bytes, path: str = "bundle/file") -> tuple[list[Event], ParseContext]:
    ctx = ParseContext(path, name)
    events = list(get_parser(name).parse(io.BytesIO(data), ctx))
    return events, ctx


def utf16(text: str, bom: bool = True) -> bytes:
    """``text`` as Windows writes it: CRLF line ends, UTF-16LE, with a BOM unless told otherwise."""
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-16-le")
    return codecs.BOM_UTF16_LE + data if bom else data


def facts(ctx: ParseContext, name: str) -> list[object]:
    return [f.value for f in ctx.facts if f.name == name]
