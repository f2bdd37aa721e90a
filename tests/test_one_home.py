"""One home per message text: the parsers' signature tables turn agent wordings into kinds, signals and
attributes; a detector that matches the same text again fails this test.

Every expression a module of ``analyzer/detectors/`` matches against messages (the ``pattern`` and
``exclude`` of its rows, whatever it compiles with ``re``) is checked against every needle of every
signature table of ``parsers/``: the needle inside the expression, or the expression finding the needle.
A row whose rule is about the wording itself says so with ``wording="why"`` and is exempt.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import parsers
from parsers.signatures import Sig, SignatureTable
from tests.conftest import ROOT

DETECTORS = ROOT / "analyzer" / "detectors"


def tables() -> dict[str, SignatureTable]:
    """Every signature table of the parsers, by module and name."""
    found: dict[str, SignatureTable] = {}
    for info in pkgutil.walk_packages(parsers.__path__, "parsers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, SignatureTable):
                found[f"{info.name}.{name}"] = value
    return found


def needles() -> set[str]:
    """The texts the tables classify: their needles, their marks and the literal words of their expressions
    (``restarted more than`` of ``restarted more than (?P<restarts>\\d+) times``)."""
    found = set()
    for table in tables().values():
        found |= {n for ns in table.marks.values() for n in ns}
        for s in table.sigs:
            found |= set(s.needles) | set(_literal_runs(s.pattern or ""))
    return found


def _literal_runs(pattern: str) -> list[str]:
    """Runs of plain words in an expression, long enough to be a wording (three words or 16 characters)."""
    plain = re.sub(r"\(\?P<\w+>|\(\?:|\\[dswDSWb]|\\(.)", lambda m: m.group(1) or "|", pattern)
    return [r.strip() for r in re.split(r"[()\[\]{}*+?|^$]", plain)
            if len(r.strip()) >= 16 or len(r.split()) >= 3]


def _text(node: ast.AST, names: dict[str, str]) -> str | None:
    """A string constant, a module-level name bound to one, or a concatenation of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, names), _text(node.right, names)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "replace":
        return None
    return None


def message_patterns(path: Path) -> Iterator[tuple[int, str]]:
    """What a detector module matches against message texts: the pattern and exclude of its rows
    (``sig``, ``text_sig``) and every expression it compiles or searches with ``re``. Rows with a
    ``wording=`` reason are exempt."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _text(node.value, names)
            if value is not None:
                names[node.targets[0].id] = value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        owner = node.func.value.id if isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Name) else ""
        if func in ("sig", "text_sig"):
            if any(k.arg == "wording" for k in node.keywords):
                continue
            position = 2 if func == "sig" else 1
            args = node.args[position:position + 1] + [k.value for k in node.keywords if k.arg in ("pattern",
                                                                                                   "exclude")]
        elif owner == "re" and func in ("compile", "search", "match", "fullmatch", "findall", "finditer"):
            args = node.args[:1]
        else:
            continue
        for arg in args:
            text = _text(arg, names)
            if text:
                yield node.lineno, text


def _unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern)


def duplicates(literal: str, known: set[str]) -> list[str]:
    try:
        rx = re.compile(literal, re.IGNORECASE)
    except re.error:
        rx = None
    plain = _unescape(literal).lower()
    return sorted(n for n in known if n.lower() in plain or (rx is not None and rx.pattern and _wording(rx, n)))


def _wording(rx: re.Pattern[str], needle: str) -> bool:
    """The expression finds words of the needle (not only digits or punctuation: a version number's expression
    finding an IP address is no repeated wording)."""
    m = rx.search(needle)
    return m is not None and re.search(r"[A-Za-z]{4}", m.group()) is not None


def test_parser_tables_are_found_and_every_signal_is_documented() -> None:
    found = tables()
    assert {"parsers.linux_agent._signatures.AGENT_TABLE", "parsers.linux_agent._signatures.SYSTEM_TABLE"} <= set(found)
    vocabulary = (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    signals = {s.signal for table in found.values() for s in table.sigs if s.signal}
    assert signals, "no table names a signal"
    assert not [s for s in signals if f"`{s}`" not in vocabulary], "signals missing from docs/vocabulary.md"


def test_no_detector_matches_a_text_a_parser_table_classifies() -> None:
    known = needles()
    found = [f"{path.name}:{line}: {literal!r} repeats {dup}"
             for path in sorted(DETECTORS.glob("*.py")) for line, literal in message_patterns(path)
             if (dup := duplicates(literal, known))]
    assert not found, "\n".join(found)


def test_the_check_sees_a_repeated_text() -> None:
    known = {"CRP timeout", "Downgrade not allowed", "HTTP proxy"}
    assert duplicates(r"CRP timeout limit has reached", known) == ["CRP timeout"]
    assert duplicates(r"Downgrade not\s+allowed|qqq", known) == ["Downgrade not allowed"]  # the expression finds it
    assert duplicates(r"blob\.core|proxy", known) == ["HTTP proxy"]  # the expression finds the needle
    assert duplicates("snapshot.timeout", known) == []
    assert duplicates(r"(\d+(?:\.\d+)+)", {"Route to 168.63.129.16 exists"}) == []  # numbers are no wording
    assert Sig("x", ("y",), signal="z").attrs["signal"] == "z"
    assert "restarted more than" in _literal_runs(r"restarted more than (?P<restarts>\d+) times in (?P<s>\d+) seconds")
