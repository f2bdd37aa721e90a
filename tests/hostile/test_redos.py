"""Regex-hostile lines for every compiled pattern of the parsers and the analyzer (security.md section 7).

Patterns are collected from the modules themselves (module globals, the attributes of their classes such
as detector signature tables, tuples, lists, dicts and dataclasses, pyparsing ``Regex`` terminals), so a
new signature is covered the day it lands.
Each pattern meets lines shaped after it: 50,000 repeats of one character, of each punctuation
character it contains (alone and alternated with a letter or digit) and of its literal words, each
ended by a character that breaks the match. ``match`` gets the whole line (parsers anchor at the line
start); ``search`` gets a 4 KiB slice (paths, fields and detector scans). No time is asserted: a
backtracking pattern makes this test hang, and CI's timeout reports it. Two such patterns were found
and fixed this way (``registry_export.REG_QUERY_VALUE``, ``wa_app_agent_log.BANNER``).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from typing import Any

import pyparsing as pp
import pytest

import analyzer
import parsers

_NOT_SCANNED = ("analyzer.batch", "analyzer.cli", "analyzer.report")  # no pattern runs on bundle text there
N = 50_000
SEARCH_N = 4096


def _collect(value: Any, where: str, found: dict[tuple[str, int], tuple[re.Pattern[str], str]],
             depth: int = 0) -> None:
    if isinstance(value, re.Pattern):
        if isinstance(value.pattern, str):
            found.setdefault((value.pattern, value.flags), (value, where))
        return
    if depth > 5 or isinstance(value, str | bytes):
        return
    children: list[Any] = []
    if isinstance(value, type):  # a class of ours (a detector and its signature table): its own attributes
        if depth > 0 or not value.__module__.startswith(("analyzer.", "parsers.")):
            return
        children = list(vars(value).values())
    elif isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif isinstance(value, pp.Regex):
        children = [value.re]
    elif isinstance(value, pp.ParseExpression):
        children = list(value.exprs)
    elif isinstance(value, pp.ParseElementEnhance):
        children = [value.expr]
    elif dataclasses.is_dataclass(value):
        children = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
    for child in children:
        _collect(child, where, found, depth + 1)


def patterns() -> list[tuple[re.Pattern[str], str]]:
    found: dict[tuple[str, int], tuple[re.Pattern[str], str]] = {}
    for package in (parsers, analyzer):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.startswith(_NOT_SCANNED):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                _collect(value, f"{info.name}.{name}", found)
    return sorted(found.values(), key=lambda pw: pw[1])


PATTERNS = patterns()


def hostile_lines(pattern: re.Pattern[str]) -> list[str]:
    lines = [c * N + "!" for c in "a0 \t=/.:-,[\\_x\0"]
    for word in sorted(set(re.findall(r"[A-Za-z][A-Za-z ]{2,}", pattern.pattern)))[:6]:
        lines.append((word + " ") * (N // (len(word) + 1)) + "!")
    for ch in sorted({c for c in pattern.pattern if not c.isalnum() and c not in "\\()[]{}?*+|^$"}):
        lines += [("a" + ch) * (N // 2) + "!", ("1" + ch) * (N // 2) + "\0"]
    return lines


def test_patterns_are_found() -> None:
    where = {w for _, w in PATTERNS}
    assert len(PATTERNS) > 100
    assert {"parsers.windows_events.registry_export.REG_QUERY_VALUE",
            "parsers.windows_agent.wa_app_agent_log.BANNER"} <= where
    assert any(w.startswith("parsers.linux_agent._signatures.") for w in where)
    assert any(w.startswith("analyzer.redact.") for w in where)


@pytest.mark.parametrize(("pattern", "where"), PATTERNS, ids=[w for _, w in PATTERNS])
def test_no_catastrophic_backtracking(pattern: re.Pattern[str], where: str) -> None:
    for line in hostile_lines(pattern):
        pattern.match(line)
        pattern.search(line[-SEARCH_N:])
