"""Signature tables: the one place where the agents' message texts become event kinds and attributes.

A parser of a log whose records are free text (the Linux agent, VMSnapshotLinux, the kernel; the Windows
guest agent and IaaSBcdrExtension) classifies each record with a :class:`SignatureTable` of :class:`Sig`
rows: plain data, a needle (a literal the record contains), an optional expression for the attributes,
the kind, and a ``signal``, the stable name of what the wording means (``crp_timeout``,
``manifest_fetch_failed``). Detectors match kinds, signals and attributes, never the texts
(``tests/test_one_home.py``), so a new wording of an agent is one more row or needle in its parser's table.

Speed matters (one check per log record): a single regular expression built as a character trie of every
row's needles rejects ordinary lines after one scan; only lines that contain a needle try the rows'
expressions, in table order (first match wins).

**The row contract.** A row's *candidates* are the texts holding one of its needles; the first candidate row
(in table order) whose ``pattern`` matches (a row without one always matches) gives the kind, ``post`` may
change it. Each row says what it can yield (:attr:`Sig.kinds`: the row's kind and what its ``post``
declares with :func:`yields`) and whether its needles alone decide its kind (:attr:`Sig.decisive`: no
``pattern`` and a ``post`` that keeps the kind). The block scan of large agent logs
(``parsers.linux_agent._block_scan``) counts the records of a decisive row by its needles without reading
them; every other row's records are read. Optional fields go in ``extract``, not in ``pattern``, so that
the row stays decisive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from parsers.base import GENERIC_KIND

Attrs = dict[str, Any]
Post = Callable[[str, Attrs, str], str]  # (kind, attrs, text) -> kind; may add attrs
#: in :func:`yields`, the row's own kind
SAME = ""
Refine = Callable[[str, str, Attrs, str], str]  # (row kind, kind, attrs, text) -> kind; may add attrs
_CACHED_LEN = 2048  # messages up to this length (a record with a short traceback) are remembered with their result
_CACHE_SIZE = 8192


def yields(*kinds: str, attrs: tuple[str, ...] = (), digit_blind: bool = False) -> Callable[[Post], Post]:
    """Declares what a post-function can return (:data:`SAME`: the row's own kind) and which attrs it may set
    besides the row's groups (``"*"``: any name, read from the text). A post without it may return anything.
    ``digit_blind``: the post tells no digit from another: with other digits in the text it returns the same kind
    and sets the same attrs, but for the digits their names and values copy from the text (a value is a piece of
    the text or a constant)."""

    def mark(post: Post) -> Post:
        post.kinds = kinds  # type: ignore[attr-defined]
        post.attrs = attrs  # type: ignore[attr-defined]
        post.digit_blind = digit_blind  # type: ignore[attr-defined]
        return post

    return mark


@dataclass
class Sig:
    """One row: the records that contain one of ``needles`` (and match ``pattern``, when given) are ``kind``
    with ``attrs``; ``signal`` names what the wording means, for detectors (docs/vocabulary.md)."""

    kind: str
    needles: tuple[str, ...]
    pattern: str | None = None
    attrs: Attrs = field(default_factory=dict)
    post: Post | None = None
    extract: tuple[str, ...] = ()  # optional expressions: their groups become attrs when they match
    signal: str = ""
    rx: re.Pattern[str] | None = field(init=False, default=None)
    rx_extract: tuple[re.Pattern[str], ...] = field(init=False, default=())
    #: the kinds this row can yield; None when its post declares nothing (it may return anything)
    kinds: frozenset[str] | None = field(init=False, default=None)
    #: the attrs this row can set ("*": any name)
    attr_names: frozenset[str] = field(init=False, default=frozenset())
    #: a text holding one of the needles gets this row's kind whatever else it says (no pattern to fail,
    #: no post that changes the kind), so that when this row is the first candidate the needles decide
    decisive: bool = field(init=False, default=False)
    #: the row tells no digit from another (:func:`digit_blind`): texts that differ only in which digits they hold
    #: get the same kind and the same attrs, but for the digits of the values copied from them
    digit_blind: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.rx = re.compile(self.pattern) if self.pattern else None
        self.rx_extract = tuple(re.compile(p) for p in self.extract)
        if self.signal:
            self.attrs = {**self.attrs, "signal": self.signal}
        declared = getattr(self.post, "kinds", None) if self.post else (SAME,)
        self.kinds = None if declared is None else frozenset(k or self.kind for k in declared)
        groups = {g for rx in (self.rx, *self.rx_extract) if rx is not None for g in rx.groupindex}
        self.attr_names = frozenset({*self.attrs, *groups, *(getattr(self.post, "attrs", ("*",)) if self.post else ())})
        self.decisive = self.rx is None and self.kinds == {self.kind}
        self.digit_blind = (all(digit_blind(rx.pattern) for rx in (self.rx, *self.rx_extract) if rx is not None)
                            and (self.post is None or getattr(self.post, "digit_blind", False)))


class SignatureTable:
    """Signatures in priority order behind one trie-shaped gate expression. ``ignore_case``: needles match in
    any case (write them in lower case; a row's ``pattern`` then starts with ``(?i)``). ``marks``: attributes
    set to True on a record that contains one of their needles, whichever row classifies it (a record no
    row classifies is then a plain ``log`` record with the mark). ``refine``: a step every classified record
    takes after its row's ``post`` (a rule of the whole table, such as "the inner error decides"); the rows of
``refine_kinds`` are then never decisive."""

    def __init__(self, sigs: Iterable[Sig], ignore_case: bool = False,
                 marks: dict[str, tuple[str, ...]] | None = None, refine: Refine | None = None,
                 refine_kinds: frozenset[str] = frozenset()) -> None:
        self.sigs = tuple(sigs)
        self.ignore_case = ignore_case
        self.marks = dict(marks or {})
        self.refine = refine
        for sig in self.sigs:
            if sig.kind in refine_kinds:  # ``refine`` may change their kind: their records are always read
                sig.decisive, sig.kinds = False, None
            if any(not digit_blind(n) for ns in self.marks.values() for n in ns):  # a mark's needle has a digit
                sig.digit_blind = False
        needles = {n for s in self.sigs for n in s.needles} | {n for ns in self.marks.values() for n in ns}
        trie = _trie(needles)
        self.gate = re.compile(trie, re.IGNORECASE if ignore_case else 0)
        # a needle found by the gate may be the prefix of longer needles: their signatures are candidates too
        self._index = {n: tuple(i for i, s in enumerate(self.sigs) if any(m.startswith(n) for m in s.needles))
                       for n in needles}
        self._seen: dict[str, tuple[str, Attrs] | None] = {}  # short messages repeat: their last results

    def classify(self, text: str) -> tuple[str, Attrs] | None:
        """The kind and attrs of the first signature that matches ``text``, or None."""
        if len(text) > _CACHED_LEN:
            return self._classify(text)
        if text in self._seen:
            found = self._seen[text]
            return (found[0], dict(found[1])) if found else None
        if len(self._seen) >= _CACHE_SIZE:
            self._seen.clear()
        found = self._seen[text] = self._classify(text)
        return (found[0], dict(found[1])) if found else None

    def _classify(self, text: str) -> tuple[str, Attrs] | None:
        m = self.gate.search(text)
        if m is None:
            return None
        # at most one needle of the pruned trie matches at a position: step the gate over every start
        found: set[int] = set()
        while m is not None:
            found.update(self._index[m.group().lower() if self.ignore_case else m.group()])
            m = self.gate.search(text, m.start() + 1)
        candidates = sorted(found)
        haystack = text.lower() if self.ignore_case else text
        for i in candidates:
            sig = self.sigs[i]
            if not any(n in haystack for n in sig.needles):
                continue
            found = self._row(sig, text, haystack)
            if found is not None:
                return found
        marks = self._marks(haystack)
        return (GENERIC_KIND, marks) if marks else None

    def row(self, i: int, text: str) -> tuple[str, Attrs] | None:
        """What row ``i`` makes of ``text`` (None when its pattern fails): what :meth:`classify` gives when row
        ``i`` is the first one with a needle in ``text`` and is :attr:`Sig.decisive`."""
        return self._row(self.sigs[i], text, text.lower() if self.ignore_case else text)

    def _row(self, sig: Sig, text: str, haystack: str) -> tuple[str, Attrs] | None:
        attrs = dict(sig.attrs)
        if sig.rx is not None:
            m = sig.rx.search(text)
            if m is None:
                return None
            attrs.update({k: v for k, v in m.groupdict().items() if v is not None})
        for rx in sig.rx_extract:
            m = rx.search(text)
            if m is not None:
                attrs.update({k: v for k, v in m.groupdict().items() if v is not None})
        kind = sig.post(sig.kind, attrs, text) if sig.post else sig.kind
        if self.refine is not None:
            kind = self.refine(sig.kind, kind, attrs, text)
        attrs.update(self._marks(haystack))
        return kind, attrs

    def _marks(self, haystack: str) -> Attrs:
        return {name: True for name, needles in self.marks.items() if any(n in haystack for n in needles)}


_QUANTIFIER = re.compile(r"\\\\|\\d|\{\d+(?:,\d*)?\}")


def digit_blind(pattern: str) -> bool:
    """``pattern`` (an expression or a needle) holds no digit of its own: ``\\d`` and ``{m,n}`` aside, so it matches
    a text and the same text with other digits alike (a class such as ``[0-5]``, a literal ``200`` or a back
    reference says no)."""
    return not any(c.isdigit() for c in _QUANTIFIER.sub("", pattern))


def _trie(words: Iterable[str]) -> str:
    """One alternation of ``words`` factored by common prefixes (the regex engine then branches per character)."""
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if "" in node:  # a shorter needle already suffices for the gate
            return ""
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return build(root)
