"""Hostile text (security.md sections 7 and 8 #30) at the path of every recognized source.

One member per source of :data:`analyzer.sources.SOURCES` and per kind of bad content (a 10 MB line,
NUL bytes, invalid UTF-8 and surrogates, BOM-less and cut UTF-16, mixed encodings, random binary): each
is parsed or skipped with its problems as data, never a parser exception (which the pipeline would
turn into a ``failed`` row naming the exception), and the good log beside them is analyzed. A new
source or parser is covered the day it is added to the table.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, assert_good_log_analyzed, json_report, run_cli

from analyzer.sources import SOURCES, recognize_path

_LINE = GOOD_LOG.splitlines(keepends=True)[1]
LONG = 10 << 20  # the long-line members are sparse files: a 10 MB line that costs no disk
CONTENT: dict[str, bytes] = {
    "nul_bytes": _LINE.replace(b" ", b"\0") + b"\0" * (1 << 20) + b"\n" + _LINE,
    "invalid_utf8": b"\xff\xfe\xfd bad \xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80\n" + _LINE,
    "utf16_bomless_cut": (GOOD_LOG * 3).decode().encode("utf-16-le")[:-1],
    "mixed_encodings": _LINE + "café\n".encode("latin-1") + "ünïcode\n".encode("utf-16") + b"\x1b[2J\n" + _LINE,
    "random_binary": random.Random(5).randbytes(1 << 20),
}


def _concrete(pattern: str) -> str:
    return pattern.replace("**", "x").replace("*", "hostile")


def source_paths() -> dict[str, str]:
    """parser -> one member path the recognition table sends to it (first matching pattern per source)."""
    paths: dict[str, str] = {}
    for src in SOURCES:
        for pattern in src.patterns:
            path = _concrete(pattern)
            rec = recognize_path(path)
            if src.parser and rec is not None and rec.parser == src.parser:
                paths.setdefault(f"{src.name}", path)
                break
    return paths


def test_every_parser_has_a_path() -> None:
    parsers = {recognize_path(p).parser for p in source_paths().values()}  # type: ignore[union-attr]
    assert {"waagent_log", "syslog", "wire_xml", "event_csv", "event_text", "evtx"} <= parsers


def _long_line(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(_LINE[:60] + b"x" * 4096)
        f.seek(LONG)
        f.write(b"\n" + _LINE)


def test_bad_text_at_every_source_path(sandbox: Sandbox) -> None:
    bundle = sandbox.inputs / "bundle"
    names = []
    for path in source_paths().values():
        _long_line(bundle / "long_line" / path)
        names.append(f"long_line/{path}")
        for kind, data in CONTENT.items():
            sandbox.write(f"bundle/{kind}/{path}", data)
            names.append(f"{kind}/{path}")
    sandbox.write(f"bundle/{GOOD_PATH}", GOOD_LOG)
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    rows = {r["path"]: r for r in report["sources"]}
    for name in names:
        row = rows[name]
        assert row["status"] in ("parsed", "empty", "skipped"), row  # "failed" here means a parser raised
        assert row["parser"] is not None or row["status"] == "skipped", row
    long_rows = [r for p, r in rows.items() if p.startswith("long_line/")]
    assert any(re.search(r"longer than 65536 bytes (was|were) truncated", " ".join(r["problems"])) for r in long_rows)
    assert "\x1b" not in report["verdict"]["summary"]
