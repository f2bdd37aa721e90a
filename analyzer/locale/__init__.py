"""Every word the tool says, in English and Czech, applied at render time (``--lang``).

One JSON catalog per language (``en.json``, ``cs.json``):
- ``findings``: per finding id a ``title``, a ``meaning`` and ``remediation`` steps written from the seed
  article's solutions;
- ``messages``: the sentences an analysis composes (verdict, evidence, notes, missing evidence), keyed as
  the :class:`~analyzer.model.Message` objects that detectors and diagnosis return;
- ``labels``: the headings and words of the terminal and HTML reports.

Messages and labels use a small part of ICU MessageFormat: ``{name}`` is a parameter, and
``{n, plural, one {# record} few {# záznamy} other {# records}}`` picks the plural form of the language
(CLDR categories ``one few many other`` and exact ``=0``; ``#`` is the number). Numbers are formatted for
the language (``0.534`` / ``0,534``); a nested message is worded in the same language; a list is joined
with commas. English is the fallback for a missing key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from parsers.base import Message

LANGS = ("en", "cs")
DEFAULT = "en"
_DECIMAL = {"en": ".", "cs": ","}


@cache
def catalog(lang: str) -> dict[str, Any]:
    name = lang if lang in LANGS else DEFAULT
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def entry(finding_id: str, lang: str = DEFAULT, fallback: Any = None) -> dict[str, Any]:
    """``{title, meaning, remediation}`` of a finding in ``lang``; English, then the detector's own
    ``title``/``meaning``/``remediation`` attributes (third-party detectors) fill what is missing."""
    found = known_entry(finding_id, lang)
    if found is not None:
        return found
    return {
        "title": getattr(fallback, "title", "") or finding_id,
        "meaning": getattr(fallback, "meaning", ""),
        "remediation": list(getattr(fallback, "remediation", ())),
    }


def known_entry(finding_id: str, lang: str = DEFAULT) -> dict[str, Any] | None:
    """The locale entry of a finding id in ``lang`` (English when ``lang`` lacks it); None when unknown."""
    for name in (lang, DEFAULT):
        found = catalog(name)["findings"].get(finding_id)
        if found:
            return dict(found)
    return None


def template(section: str, key: str, lang: str = DEFAULT) -> str:
    """The text of ``key`` in ``section`` (``messages`` or ``labels``); English when ``lang`` lacks it."""
    text = catalog(lang)[section].get(key)
    if text is None:
        text = catalog(DEFAULT)[section].get(key)
    if text is None:
        raise KeyError(f"no {section} entry {key!r} in the locale files")
    return str(text)


def word(message: Message, lang: str = DEFAULT) -> str:
    """A message (``messages`` of the locale files) with its parameters, in ``lang``."""
    return format_text(template("messages", message.key, lang), message.params, lang, lambda v: value(v, lang))


def value(v: Any, lang: str = DEFAULT) -> str:
    """One parameter: a nested message is worded, a number formatted, a list joined, text shown as is."""
    if isinstance(v, Message):
        return word(v, lang)
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        return number(v, lang)
    if isinstance(v, list | tuple):
        return ", ".join(value(x, lang) for x in v)
    return "?" if v is None else str(v)


def plural_category(n: float, lang: str) -> str:
    """CLDR plural category of ``n``: English one/other; Czech one/few/many (fractions)/other."""
    whole = float(n).is_integer()
    if lang == "cs":
        if not whole:
            return "many"
        i = int(n)
        return "one" if i == 1 else "few" if 2 <= i <= 4 else "other"
    return "one" if whole and int(n) == 1 else "other"


def number(value: float, lang: str = DEFAULT) -> str:
    """``0.534`` in English, ``0,534`` in Czech; integers as they are; at most three decimals."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", _DECIMAL.get(lang, "."))


def format_text(text: str, params: dict[str, Any], lang: str, word: Callable[[Any], str]) -> str:
    """Fill ``{name}`` and ``{name, plural, ...}`` of ``text``; ``word`` renders one parameter value."""
    out, _ = _format(text, 0, params, lang, word, None, top=True)
    return out


def _format(text: str, i: int, params: dict[str, Any], lang: str, word: Callable[[Any], str],
            count: str | None, top: bool = False) -> tuple[str, int]:
    """Format from ``text[i]`` up to the ``}`` that closes a plural branch (or the end); returns the text
    and the index after it. ``count`` replaces ``#`` inside a plural branch."""
    out: list[str] = []
    while i < len(text):
        c = text[i]
        if c == "}" and not top:
            return "".join(out), i + 1
        if c == "#" and count is not None:
            out.append(count)
            i += 1
        elif c == "{":
            close = text.find("}", i)
            comma = text.find(",", i, close if close != -1 else len(text))
            if close == -1:
                raise ValueError(f"unclosed {{ in {text!r}")
            if comma == -1:  # {name}
                out.append(word(params[text[i + 1:close].strip()]))
                i = close + 1
            else:  # {name, plural, selector {branch} ...}
                name = text[i + 1:comma].strip()
                kind_end = text.find(",", comma + 1)
                if text[comma + 1:kind_end].strip() != "plural":
                    raise ValueError(f"only plural is supported: {text!r}")
                chosen, i = _plural(text, kind_end + 1, params, name, lang, word)
                out.append(chosen)
        else:
            out.append(c)
            i += 1
    return "".join(out), i


def _plural(text: str, i: int, params: dict[str, Any], name: str, lang: str,
            word: Callable[[Any], str]) -> tuple[str, int]:
    value = params[name]
    n = value if isinstance(value, int | float) else len(value) if isinstance(value, list) else 0
    category = plural_category(n, lang)
    shown = number(n, lang)
    branches: dict[str, str] = {}
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise ValueError(f"unclosed plural in {text!r}")
        if text[i] == "}":
            i += 1
            break
        brace = text.index("{", i)
        selector = text[i:brace].strip()
        branches[selector], i = _format(text, brace + 1, params, lang, word, shown)
    exact = f"={number(n, lang)}"
    for key in (exact, category, "other"):
        if key in branches:
            return branches[key], i
    raise ValueError(f"plural without an 'other' branch: {text!r}")
