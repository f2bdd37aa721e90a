"""Render-time wording: plural forms and numbers of both languages, nested messages, and every message
key the code composes exists in both locale files."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.locale import catalog, format_text, number, plural_category, word
from analyzer.model import say
from analyzer.report.wording import Wording
from tests.conftest import ROOT


@pytest.mark.parametrize(("n", "en", "cs"), [
    (0, "other", "other"), (1, "one", "one"), (2, "other", "few"), (4, "other", "few"), (5, "other", "other"),
    (11, "other", "other"), (22, "other", "other"), (101, "other", "other"), (1.5, "other", "many"),
])
def test_plural_categories(n: float, en: str, cs: str) -> None:
    assert (plural_category(n, "en"), plural_category(n, "cs")) == (en, cs)


@pytest.mark.parametrize(("value", "en", "cs"), [
    (0.534, "0.534", "0,534"), (12.0, "12", "12"), (3, "3", "3"), (1234.5, "1234.5", "1234,5"),
    (0.1 + 0.2, "0.3", "0,3"),
])
def test_numbers(value: float, en: str, cs: str) -> None:
    assert (number(value, "en"), number(value, "cs")) == (en, cs)


def test_records_sentence_in_every_plural_form() -> None:
    en, cs = Wording("en"), Wording("cs")
    records = {n: (en.say(say("finding.records", records=n, live=n)), cs.say(say("finding.records", records=n, live=n)))
               for n in (1, 2, 5)}
    assert records[1][0].startswith("1 matching record,") and records[2][0].startswith("2 matching records,")
    assert records[1][1].startswith("1 odpovídající záznam,") and "1 se týká" in records[1][1]
    assert records[2][1].startswith("2 odpovídající záznamy,") and "2 se týkají" in records[2][1]
    assert records[5][1].startswith("5 odpovídajících záznamů,")


def test_nested_messages_lists_and_absent_values() -> None:
    cs = Wording("cs")
    assert cs.say(say("note.agent_below_minimum", role=say("role.daemon"), version="2.2.45", minimum="2.2.53.1")) == \
        "Démon agenta 2.2.45 je starší než minimální verze 2.2.53.1."
    assert cs.say(say("missing.needed_by", detectors=["A", "B"])) == "potřebují to detektory A, B"
    assert "(pořadí ?)" in cs.say(say("evidence.backup_never_invoked", requested="2024-06-10T02:00:00Z",
                                       run=say("run.seq", seq=None)))
    assert cs.label("analyzed_in", seconds=0.534) == "rozbor trval 0,534 s"


def test_format_errors_are_loud() -> None:
    with pytest.raises(KeyError):
        format_text("{missing}", {}, "en", str)
    with pytest.raises(ValueError, match="other"):
        format_text("{n, plural, one {x}}", {"n": 2}, "en", str)


#: a problem of a parser or of intake, or an error or line of the command line (``cli``, ``output``, ``option``,
#: ``stored``, ``batch``): its key, wherever it is written (a call, a table of reasons, a constant)
KEY_FAMILIES = "problem|intake|cli|output|option|stored|batch"
PROBLEM_KEY = re.compile(rf"(?:{KEY_FAMILIES})\.[a-z0-9_]+")


def _calls() -> list[tuple[str, ast.Call]]:
    """Every say(...)/Message(...)/ctx.problem(...) call of the package and the parsers, with its file."""
    found = []
    for path in [*(ROOT / "analyzer").rglob("*.py"), *(ROOT / "parsers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "say", "Message", "problem") and node.args:
                found.append((path.name, node))
    return found


def _composed_keys() -> set[str]:
    """Message keys written as literals in say(...)/Message(...)/problem(...) calls (prefixes for f-strings), and
    every problem key written anywhere in the package and the parsers."""
    keys: set[str] = set()
    for _, node in _calls():
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            keys.add(arg.value)
        elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
            keys.add(str(arg.values[0].value) + "*")
    for path in [*(ROOT / "analyzer").rglob("*.py"), *(ROOT / "parsers").rglob("*.py")]:
        keys.update(m.group(1) for m in re.finditer(rf"[\"']((?:{KEY_FAMILIES})\.[a-z0-9_]+)[\"']",
                                                    path.read_text(encoding="utf-8")))
    return keys


def test_every_composed_key_is_worded_in_both_languages() -> None:
    keys = _composed_keys()
    assert len(keys) > 25
    assert len({k for k in keys if PROBLEM_KEY.fullmatch(k)}) > 120  # parsers' and intake's problems included
    for lang in ("en", "cs"):
        messages = catalog(lang)["messages"]
        for key in keys:
            found = [k for k in messages if re.fullmatch(re.escape(key).replace(r"\*", ".+"), k)]
            assert found, f"{lang}.json has no message {key!r}"


def test_every_problem_call_passes_the_parameters_its_sentence_names() -> None:
    """A problem worded at render time finds every parameter it names: a call's keywords are the placeholders."""
    checked = 0
    for name, node in _calls():
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and PROBLEM_KEY.fullmatch(arg.value)):
            continue
        keywords = {k.arg for k in node.keywords}
        if None in keywords:  # **params: checked where they are built
            continue
        if getattr(node.func, "attr", "") == "problem":
            keywords.discard("line")
        for lang in ("en", "cs"):
            names = set(re.findall(r"\{(\w+)\s*[,}]", catalog(lang)["messages"][arg.value]))
            assert keywords == names, (name, node.lineno, arg.value, lang)
        checked += 1
    assert checked > 120


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(k for k in catalog("en")["messages"] if PROBLEM_KEY.fullmatch(k))),
       st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.none(), st.lists(st.text(), max_size=3)),
       st.sampled_from(["en", "cs"]))
def test_a_problem_words_whatever_its_parameters_hold(key: str, value: object, lang: str) -> None:
    """Problems are made of bytes from the bundle: any text, number or nothing in a parameter is worded, never
    an exception (a plural of a value that is not a number takes the other form)."""
    names = set(re.findall(r"\{(\w+)\s*[,}]", catalog(lang)["messages"][key]))
    text = word(say(key, **dict.fromkeys(names, value)), lang)
    assert isinstance(text, str) and text


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    for section in ("messages", "labels"):
        en, cs = catalog("en")[section], catalog("cs")[section]
        assert set(en) == set(cs), section
        for key in en:
            names = [set(re.findall(r"\{(\w+)\s*[,}]", text)) for text in (en[key], cs[key])]
            assert names[0] == names[1], key
            for lang in ("en", "cs"):  # every entry formats with dummy values
                params = {name: 2 for name in names[0]}
                format_text(catalog(lang)[section][key], params, lang, str)
