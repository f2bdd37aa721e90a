"""Log templates in the spirit of Drain: records that differ only in their values group under one template.

A record's first line is cut, its values are masked, and it descends a prefix tree of fixed depth (the
number of tokens, then the first tokens) to a short list of templates; the most similar one takes it when
enough tokens agree, and the positions that differ become ``<*>``. Each record costs a bounded number of
steps (the line is cut, the tree has a fixed depth, a leaf holds few templates), so mining is linear in
the records and the memory is bounded by ``max_templates``. For example::

    Event: name=Microsoft.Azure.Extensions.CustomScript, op=Install, message=[ExtensionError] Non-zero exit code: 1, ...
    Event: name=<*>, op=Install, message=[ExtensionError] Non-zero exit code: <num>, ...

Masks: quoted values, URLs, timestamps, GUIDs, Windows and Unix paths, IP addresses, versions, hex values
(``0x...`` and long hex runs) and numbers (with a unit such as ``ms``). :class:`TemplateCounts` counts
records by template when only counts can be kept (the timeline's records beyond its cap).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsers.base import Event

MAX_CHARS = 1000  # of a record's first line, before masking
MAX_TOKENS = 64
EXAMPLE_CHARS = 400
WILDCARD = "<*>"
_SEEN_SIZE = 4096
_LEVEL_RANK = {"warning": 0, "error": 1, "critical": 2}

# the values inside one whitespace-separated token: the leftmost mask wins, the first alternative at the same
# place (URLs hold paths and IPs, a timestamp holds numbers); each alternative is bounded, so the scan is linear
_MASKS = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s'\"<>]+)"
    r"|(?P<time>\b\d{4}[-/]\d\d[-/]\d\dT\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?"
    r"|(?<![\w.])(?:\d{4}[-/]\d\d[-/]\d\d|\d{1,2}[/.]\d{1,2}[/.]\d{4})(?![\w.])|\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b)"
    r"|(?P<guid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<path>(?<![\w])[A-Za-z]:\\[^\s'\"<>|,;]*|\\\\[^\s'\"<>|,;]+|(?<![\w.:/-])/[\w.@%+~-]+(?:/[\w.@%+~-]*)+)"
    r"|(?P<ip>(?<![\w.-])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])"
    r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}(?![\w:])"
    r"|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{1,4}){0,6}::(?:[0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{1,4}(?![\w:]))"
    r"|(?P<version>(?<![\w.])v?\d+(?:\.\d+){1,4}(?![\w.]))"
    r"|(?P<hex>\b0x[0-9a-fA-F]+\b|(?<![\w-])(?=[0-9]*[a-fA-F])(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}(?![\w-]))"
    r"|(?P<num>(?<![A-Za-z0-9])\d+(?:\.\d+)?(?:ms|s|secs?|min|[KMG]i?B|B)?(?![A-Za-z0-9]))"
)
_TOKENS = {name: f"<{name}>" for name in _MASKS.groupindex}
# quoted values may hold blanks: masked on the whole line first
_QUOTED = re.compile(r"(?<![\w])'[^'\n]{1,200}'(?![\w])|\"[^\"\n]{1,200}\"")
# only a token (from a blank to a blank) holding a digit, a slash or a backslash can hold a value
_VALUE_CHAR = re.compile(r"[\d/\\]")
_BLANK = re.compile(r"[ \t]")
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")


def first_line(message: str) -> str:
    """The line a template is made of: a record's first non-empty line, cut at ``MAX_CHARS``."""
    if len(message) <= MAX_CHARS and "\n" not in message and "\r" not in message:
        return message.strip()
    for line in message[: MAX_CHARS * 4].splitlines():
        if line.strip():
            return line.strip()[:MAX_CHARS]
    return ""


def record_line(e: Event, line: str | None = None) -> str:
    """What a record is templated by: its first ``line``, after the Windows event's provider and id, or after
    the extension whose logger wrote it when the masked line does not name it (the agent writes the extension in
    the line's prefix), so that the same failure of two extensions or providers stays apart."""
    line = first_line(e.message) if line is None else line
    a = e.attrs
    if a.get("provider"):
        return f"{a['provider']} {a.get('event_id', '')}: {line}"
    ext = a.get("extension")
    if ext and isinstance(ext, str) and ext not in mask(line):  # not even in a path the mask hides
        return f"[{ext}] {line}"
    return line


def mask(text: str) -> str:
    """``text`` with its values replaced by ``<num>``, ``<guid>``, ``<path>`` and the other mask tokens. Words
    are most tokens: only tokens with a digit, a slash or a backslash are scanned, and their masked form is
    remembered (tokens repeat)."""
    if "'" in text or '"' in text:
        text = _QUOTED.sub("<quoted>", text)
    found = _VALUE_CHAR.search(text)
    if found is None:
        return text
    out: list[str] = []
    done = 0
    while found is not None:
        at = found.start()
        start = max(text.rfind(" ", done, at), text.rfind("\t", done, at)) + 1
        blank = _BLANK.search(text, at)
        end = blank.start() if blank else len(text)
        out += (text[done:start], _mask_token(text[start:end]))
        done = end
        found = _VALUE_CHAR.search(text, end)
    out.append(text[done:])
    return "".join(out)


@lru_cache(maxsize=1 << 14)
def _mask_token(token: str) -> str:
    return _MASKS.sub(lambda m: _TOKENS[m.lastgroup or "num"], token)


def tokens(message: str) -> list[str]:
    """The masked tokens of a record's first line (at most ``MAX_TOKENS``)."""
    return mask(first_line(message)).split()[:MAX_TOKENS]


def _variable(token: str) -> bool:
    return (token.startswith("<") and token.endswith(">")) or bool(_DIGIT.search(token))


@dataclass
class Template:
    id: int
    tokens: list[str]
    size: int = 0  # records it took

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class TemplateMiner:
    """A fixed-depth prefix tree of templates (Drain): token count, then the first ``depth - 2`` tokens, then a
    leaf of at most ``leaf_size`` templates. A record joins the leaf's most similar template when at least
    ``similarity`` of its tokens agree (``<*>`` positions count as not agreeing), else it starts a new one;
    once ``max_templates`` exist, it joins the most similar template of its leaf, or the catch-all ``<*>``."""

    def __init__(self, depth: int = 4, similarity: float = 0.6, max_children: int = 64, leaf_size: int = 32,
                 max_templates: int = 500) -> None:
        self.depth = max(3, depth)
        self.similarity = similarity
        self.max_children = max_children
        self.leaf_size = leaf_size
        self.max_templates = max_templates
        self._root: dict[int, _Node] = {}
        self.templates: list[Template] = []
        self._catch_all: Template | None = None
        # a line seen before with other digits, or once masked -> its template: repeated shapes skip masks and tree
        self._seen: dict[str, Template] = {}

    def add(self, text: str) -> Template:
        """The template that takes this record's text (updated to fit it)."""
        line = first_line(text)
        shape = _DIGITS.sub("0", line)
        best = self._seen.get(shape)
        if best is None:
            masked = mask(line)
            best = self._seen.get(masked) or self._place(masked.split()[:MAX_TOKENS])
            if len(self._seen) >= _SEEN_SIZE:
                self._seen.clear()
            self._seen[shape] = self._seen[masked] = best
        best.size += 1
        return best

    def _place(self, toks: list[str]) -> Template:
        leaf = self._leaf(toks)
        best, score = None, -1.0
        for t in leaf:
            s = _similarity(t.tokens, toks)
            if s > score:
                best, score = t, s
        if best is not None and (score >= self.similarity or len(self.templates) >= self.max_templates
                                 or len(leaf) >= self.leaf_size):
            best.tokens = [a if a == b else WILDCARD for a, b in zip(best.tokens, toks, strict=True)]
        elif len(self.templates) < self.max_templates:
            best = Template(len(self.templates), toks)
            self.templates.append(best)
            leaf.append(best)
        else:
            best = self._all()
        return best

    def _all(self) -> Template:
        if self._catch_all is None:
            self._catch_all = Template(len(self.templates), [WILDCARD])
            self.templates.append(self._catch_all)
        return self._catch_all

    def _leaf(self, toks: list[str]) -> list[Template]:
        node = self._root.setdefault(len(toks), _Node())
        for tok in toks[: self.depth - 2]:
            key = WILDCARD if _variable(tok) else tok
            if key not in node.children and len(node.children) >= self.max_children:
                key = WILDCARD
            node = node.children.setdefault(key, _Node())
        return node.templates


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)  # at the depth of the tree: the leaf


def _similarity(template: list[str], toks: list[str]) -> float:
    if not toks:
        return 1.0
    same = sum(1 for a, b in zip(template, toks, strict=True) if a == b and a != WILDCARD)
    return same / len(toks)


# --- counting records by template where the records themselves cannot be kept ---------------------------------


@dataclass
class Counted:
    """Records of one template counted without being kept: how many, when, one example."""

    source: str
    template: Template
    text: str  # what the newest record is templated by (record_line)
    example: str  # the first line of the newest record, cut at EXAMPLE_CHARS
    path: str
    line: int
    level: str
    count: int = 0
    copies: int = 0  # copies of records of another log (attrs via): counted only when no own record is
    other_extension: bool = False  # the newest record is about another extension (its parser's attr)
    first: datetime | None = None  # naive or aware as the records came; see resolve()
    first_local: bool = False
    last: datetime | None = None
    last_local: bool = False

    @property
    def records(self) -> int:
        return self.count or self.copies


@dataclass
class TemplateCounts:
    """Records counted by (source, template), bounded by ``max_templates``; records of further templates are
    only counted in ``other``. Times are kept as they came and converted once by :meth:`resolve`."""

    max_templates: int = 500
    miner: TemplateMiner = field(default_factory=lambda: TemplateMiner(max_templates=500))
    other: int = 0
    _by_key: dict[tuple[str, int], Counted] = field(default_factory=dict)

    def add(self, e: Event, records: int = 1, first: datetime | None = None, first_local: bool = False) -> None:
        """Count ``e`` (or ``records`` records of its message, ``e`` the newest, the oldest dated ``first``)."""
        line = first_line(e.message)
        text = record_line(e, line)
        t = self.miner.add(text)
        c = self._by_key.get((e.source, t.id))
        if c is None:
            if len(self._by_key) >= self.max_templates:
                self.other += 1
                return
            c = self._by_key[(e.source, t.id)] = Counted(e.source, t, text, line[:EXAMPLE_CHARS], e.path, e.line,
                                                        e.level)
            c.other_extension = bool(e.attrs.get("other_extension"))
        if e.attrs.get("via"):  # a copy (syslog, CommandExecution.log) of a record counted from the agent's log
            c.copies += records
        else:
            c.count += records
        if _LEVEL_RANK.get(e.level, 0) > _LEVEL_RANK.get(c.level, 0):
            c.level = e.level
        ts = e.ts
        if ts is None:
            return
        oldest, oldest_local = (ts, e.local) if records == 1 or first is None else (first, first_local)
        if c.first is None or _earlier(oldest, c.first):
            c.first, c.first_local = oldest, oldest_local
        if c.last is None or not _earlier(ts, c.last):
            c.last, c.last_local = ts, e.local
            c.text, c.example, c.path, c.line = text, line[:EXAMPLE_CHARS], e.path, e.line
            c.other_extension = bool(e.attrs.get("other_extension"))

    def resolve(self, to_utc: Callable[[datetime, bool], datetime]) -> None:
        """Convert the kept times to aware UTC with ``to_utc(naive wall clock, local)``."""
        for c in self._by_key.values():
            if c.first is not None:
                c.first, c.first_local = to_utc(c.first.replace(tzinfo=None), c.first_local), False
            if c.last is not None:
                c.last, c.last_local = to_utc(c.last.replace(tzinfo=None), c.last_local), False

    def __iter__(self) -> Iterator[Counted]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


def _earlier(a: datetime, b: datetime) -> bool:
    """``a < b``; a local (naive) and a UTC time compare as wall clocks, as the timeline's cap does."""
    if (a.tzinfo is None) is (b.tzinfo is None):
        return a < b
    return a.replace(tzinfo=None) < b.replace(tzinfo=None)
