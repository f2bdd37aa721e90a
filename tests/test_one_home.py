"""One home per message text: the parsers turn agent wordings into kinds, signals and attributes; a detector
that reads the same text again fails this test.

The parsers' texts are the needles, marks and literal words of every signature table of ``parsers/`` and
the literal words of every expression a parser module compiles (``No error`` of vssadmin's listing, the
wordings a Windows log parser looks for). The detectors' texts are every string of ``analyzer/detectors/``
outside docstrings: the pattern and exclude of its rows, the expressions it compiles, and the plain strings
it compares with records (``"forcibly"``, ``"No error"``). A text is repeated when

- a parser text appears inside a detector string,
- a detector string of two words or more appears inside a parser text,
- a detector string used as an expression finds words (not only digits) of a parser text, or
- a detector string is a whole word that begins a parser's captured wording (``(?P<killed>forcibly
  terminated|...)`` compared with ``startswith("forcibly")``: the attribute should say what it means).

A row whose rule is about the wording itself says so with ``wording="why"`` and is exempt.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import parsers
from parsers.signatures import Sig, SignatureTable
from tests.conftest import ROOT

DETECTORS = ROOT / "analyzer" / "detectors"
PARSERS = ROOT / "parsers"
_RE_CALLS = ("compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "split")


def tables() -> dict[str, SignatureTable]:
    """Every signature table of the parsers, by module and name."""
    found: dict[str, SignatureTable] = {}
    for info in pkgutil.walk_packages(parsers.__path__, "parsers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, SignatureTable):
                found[f"{info.name}.{name}"] = value
    return found


@dataclass(frozen=True)
class Known:
    """The parsers' texts: wordings, and the wordings their expressions capture as attribute values."""

    texts: frozenset[str]
    captured: frozenset[str]


def known() -> Known:
    texts: set[str] = set()
    captured: set[str] = set()
    for table in tables().values():
        texts |= {n for ns in table.marks.values() for n in ns}
        for s in table.sigs:
            texts |= set(s.needles)
            for p in (s.pattern or "", *s.extract):
                texts |= set(_literal_runs(p))
                captured |= set(_captured(p))
    for path in sorted(PARSERS.rglob("*.py")):
        for _, p, read in strings(path):
            if read:
                texts |= set(_literal_runs(p))
                captured |= set(_captured(p))
    return Known(frozenset(t for t in texts if _is_wording(t)), frozenset(captured))


def _is_wording(text: str) -> bool:
    return re.search(r"[A-Za-z]{4}", text) is not None


def _literal_runs(pattern: str) -> list[str]:
    """Runs of plain words in an expression that read as a wording: two words or more, or 16 characters
    (``restarted more than`` of ``restarted more than (?P<restarts>\\d+) times``, ``No error`` of
    ``^(?:No error|Kein Fehler)$``)."""
    plain = re.sub(r"\(\?P<\w+>|\(\?<?[:=!]|\\[dswDSWbAZ]|\\(.)", lambda m: m.group(1) or "|", pattern)
    runs = [r.strip() for r in re.split(r"[()\[\]{}*+?|^$]", plain)]
    return [r for r in runs if len(r) >= 16 or _words(r) >= 2]


def _captured(pattern: str) -> list[str]:
    """The literal alternatives of a named group, when they are wordings of two words or more."""
    found = []
    for m in re.finditer(r"\(\?P<\w+>([^()\\\[\]{}*+?.]+)\)", pattern):
        found += [a.strip() for a in m.group(1).split("|") if len(a.split()) >= 2]
    return found


def _text(node: ast.AST, names: dict[str, str]) -> str | None:
    """A string constant, a module-level name bound to one, or a concatenation of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, names), _text(node.right, names)
        return left + right if left is not None and right is not None else None
    return None


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def strings(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Every string of a module outside docstrings, as (line, text, used as an expression). An expression
    is the pattern or exclude of a row (``sig``, ``text_sig``) or what the module hands to ``re``; a
    concatenation of constants and module-level names is one string. Rows with a ``wording=`` reason are
    skipped."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _text(node.value, names)
            if value is not None:
                names[node.targets[0].id] = value
    skipped = _docstrings(tree)
    patterns: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        owner = node.func.value.id if isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Name) else ""
        if func in ("sig", "text_sig", "Signature"):
            if any(k.arg == "wording" for k in node.keywords):
                skipped |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
                continue
            position = 1 if func == "text_sig" else 2
            args = node.args[position:position + 1] + [k.value for k in node.keywords if k.arg in ("pattern",
                                                                                                   "exclude")]
        elif owner == "re" and func in _RE_CALLS:
            args = node.args[:1]
        else:
            continue
        for arg in args:
            if (text := _text(arg, names)) is not None:
                patterns.append((node.lineno, text))
                skipped |= {id(n) for n in ast.walk(arg) if isinstance(n, ast.Constant)}
    yield from ((line, text, True) for line, text in patterns)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() \
                and id(node) not in skipped:
            yield node.lineno, node.value, False


def _unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern)


def duplicates(literal: str, found: Known, expression: bool = False) -> list[str]:
    """The parsers' texts that ``literal`` (a detector's string) repeats."""
    plain = _unescape(literal).lower() if expression else literal.lower()
    # a plain string may name what a parser also names (a config key, an error code, a service): only a
    # wording of two words or more inside it is a repeated text; an expression may repeat no parser text
    dups = {n for n in found.texts if n.lower() in plain and (expression or _words(n) >= 2)}
    if _words(literal) >= 2 and not expression:
        dups |= {n for n in found.texts if plain in n.lower()}
    if expression:
        try:
            rx = re.compile(literal, re.IGNORECASE)
        except re.error:
            rx = None
        if rx is not None and rx.pattern:
            dups |= {n for n in found.texts if _finds_words(rx, n)}
    elif re.fullmatch(r"[A-Za-z]{4,}", literal):
        dups |= {c for c in found.captured if c.lower().split()[0] == plain}
    return sorted(dups)


def _words(text: str) -> int:
    """How many words of two letters or more a text has, split by spaces (``AutoUpdate.Enabled`` is one)."""
    return sum(1 for w in text.split() if re.search(r"[A-Za-z]{2}", w))


def _finds_words(rx: re.Pattern[str], text: str) -> bool:
    """The expression finds words of the text (not only digits or punctuation: a version number's expression
    finding an IP address is no repeated wording)."""
    m = rx.search(text)
    return m is not None and _is_wording(m.group())


def test_parser_tables_are_found_and_every_signal_is_documented() -> None:
    found = tables()
    assert {"parsers.linux_agent._signatures.AGENT_TABLE", "parsers.linux_agent._signatures.SYSTEM_TABLE",
            "parsers.windows_agent._signatures.WA_APP_AGENT_TABLE"} <= set(found)
    vocabulary = (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    signals = {s.signal for table in found.values() for s in table.sigs if s.signal}
    assert signals, "no table names a signal"
    assert not [s for s in signals if f"`{s}`" not in vocabulary], "signals missing from docs/vocabulary.md"


def test_no_detector_reads_a_text_a_parser_classifies() -> None:
    texts = known()
    found = [f"{path.name}:{line}: {literal!r} repeats {dup}"
             for path in sorted(DETECTORS.glob("*.py")) for line, literal, expression in strings(path)
             if (dup := duplicates(literal, texts, expression))]
    assert not found, "\n".join(found)


def test_the_parsers_texts_are_seen() -> None:
    texts = known()
    assert {"Downgrade not allowed", "CRP timeout", "No error"} <= texts.texts  # table needles, a parser's regex
    assert "forcibly terminated" in texts.texts and "restarted more than" in texts.texts
    assert "(?P<" not in "".join(texts.texts)


def test_the_check_sees_a_repeated_text() -> None:
    found = Known(frozenset({"CRP timeout", "Downgrade not allowed", "HTTP proxy", "No error",
                             "Route to 168.63.129.16 exists"}), frozenset({"forcibly terminated"}))
    assert duplicates("CRP timeout limit has reached", found, expression=True) == ["CRP timeout"]
    assert duplicates(r"Downgrade not\s+allowed|qqq", found, expression=True) == ["Downgrade not allowed"]
    assert duplicates(r"blob\.core|proxy", found, expression=True) == ["HTTP proxy"]  # the expression finds it
    assert duplicates("snapshot.timeout", found, expression=True) == []
    assert duplicates(r"(\d+(?:\.\d+)+)", found, expression=True) == []  # numbers are no wording
    # plain strings a detector compares with a record or an attribute
    assert duplicates("No error", found) == ["No error"]
    assert duplicates("the CRP timeout of 90 min", found) == ["CRP timeout"]
    assert duplicates("forcibly", found) == ["forcibly terminated"]
    assert duplicates("snapshot.timeout", found) == duplicates("proxy", found) == duplicates("error", found) == []
    assert duplicates("conf.AutoUpdate.Enabled", Known(frozenset({"AutoUpdate."}), frozenset())) == []  # a key
    assert duplicates("AutoUpdate\\.Enabled", Known(frozenset({"AutoUpdate."}), frozenset()), expression=True)
    assert Sig("x", ("y",), signal="z").attrs["signal"] == "z"


def test_the_detector_side_reads_every_string(tmp_path: Path) -> None:
    module = tmp_path / "detector.py"
    module.write_text('"""Doc: CRP timeout."""\nimport re\nX = "No error"\nY = re.compile(r"Downgrade" + r" not")\n'
                      'def f(e):\n    """No error."""\n    return e.attrs.get("killed", "").startswith("forcibly")\n'
                      'R = sig("W", (), r"proxy", wording="a rule about the proxy\'s wording")\n', encoding="utf-8")
    assert sorted((line, text, expression) for line, text, expression in strings(module)) == [
        (3, "No error", False), (4, "Downgrade not", True), (7, "forcibly", False), (7, "killed", False)]
