"""Safe loading of the small structured state files (XML, JSON) and their time stamps.

Shared by the state and config parsers. XML from a bundle is untrusted: a DOCTYPE is refused (so no
entity is ever declared, let alone resolved), the parser never touches the network and has no
huge-tree mode. A document that is not well-formed is recorded as a problem and then read again in
lxml's recover mode, so that a truncated ``ExtensionsConfig`` still gives the plugins before the cut.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, BinaryIO

from lxml import etree

from parsers.base import ParseContext
from parsers.text import sniff_encoding

MAX_STATE_BYTES = 16 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!\s*doctype", re.IGNORECASE)


def _xml_parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           recover=recover, remove_comments=True, remove_pis=True)


def read_state(stream: BinaryIO, ctx: ParseContext) -> bytes:
    """The member's bytes up to ``MAX_STATE_BYTES`` (a larger state file is cut, and said so)."""
    data = stream.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        ctx.problem("problem.file_too_large", limit=MAX_STATE_BYTES)
        data = data[:MAX_STATE_BYTES]
    return data


_PREFIX = re.compile(rb"(</?)[A-Za-z][\w.-]*:(?=[A-Za-z])")


def parse_xml(data: bytes, ctx: ParseContext, drop_prefixes: bool = False) -> Any | None:
    """The root element with namespaces stripped from tags, or None (with a problem) when unreadable.

    ``drop_prefixes`` removes tag prefixes before parsing, for writers that use undeclared ones (wicked).
    """
    if _DOCTYPE.search(data):
        ctx.problem("problem.xml_doctype")
        return None
    enc = sniff_encoding(data[:4096])
    if enc != "utf-8" and not data.startswith(b"\xef\xbb\xbf"):
        # lxml reads UTF-16 only with a BOM or declaration; normalise to UTF-8 without the declaration
        data = re.sub(r"^\s*<\?xml[^>]*\?>", "", data.decode(enc, "replace").lstrip("\ufeff")).encode("utf-8")
    if drop_prefixes:
        data = _PREFIX.sub(rb"\1", data)
    root = None
    try:
        root = etree.fromstring(data, _xml_parser(recover=False))
    except (etree.XMLSyntaxError, ValueError) as exc:
        ctx.problem("problem.xml_malformed", error=str(exc)[:200])
        try:
            root = etree.fromstring(data, _xml_parser(recover=True))
        except (etree.XMLSyntaxError, ValueError):
            root = None
    if root is None:
        return None
    for el in root.iter():
        if isinstance(el.tag, str):
            el.tag = _local_name(el.tag)
    return root


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _local_name(tag: str) -> str:
    """``{ns}name`` -> ``name``; recover mode also keeps undeclared prefixes (``a:b``, ``a:0``) as tags."""
    local = tag.rpartition("}")[2].rpartition(":")[2]
    return local if _NAME.fullmatch(local) else "_"


def load_json(data: bytes, ctx: ParseContext) -> Any | None:
    """Decoded JSON (encoding sniffed, BOM dropped), or None with a problem."""
    text = data.decode(sniff_encoding(data[:4096]), "replace").lstrip("\ufeff").strip()
    if not text:
        ctx.problem("problem.empty_file")
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        ctx.problem("problem.json_unreadable", error=str(exc)[:200])
        return None


def parse_utc(value: Any) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SS[.f]Z`` or ``/Date(<ms>)/`` (both UTC) to an aware datetime; None otherwise."""
    if not isinstance(value, str) or not value:
        return None
    m = re.fullmatch(r"\\?/Date\((-?\d{1,15})\)\\?/", value.strip())
    try:
        if m:
            return datetime.fromtimestamp(int(m.group(1)) / 1000, UTC)
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


# history/2022-04-19T21-03-01__5-<etag>/ (>= 2.8), 2018-04-06T08:21:37.142697_incarnation_5/ and
# 2019-07-16T17:31:45.158427.zip members (older agents): the directory name is the UTC time of the goal state.
_HISTORY = re.compile(r"(?:^|/)history/(\d{4}-\d\d-\d\dT\d\d[-:]\d\d[-:]\d\d)(?:\.\d+)?(?:__|_incarnation_|\.zip|/)",
                      re.IGNORECASE)


def history_time(path: str) -> datetime | None:
    """UTC time of a goal-state history entry from its directory name, when the path has one."""
    m = _HISTORY.search(path)
    if not m:
        return None
    stamp = m.group(1)
    try:
        ts = datetime.strptime(stamp[:10] + "T" + stamp[11:].replace("-", ":"), "%Y-%m-%dT%H:%M:%S")
        return ts.replace(tzinfo=UTC)
    except ValueError:
        return None


def text_of(el: Any, path: str) -> str | None:
    """Stripped text of the first element at ``path`` under ``el`` (None when absent or empty)."""
    found = el.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
