"""Every story of the corpus as a customer attaches it by hand (the flat layout), once as rendered and once with its
text logs in the shape they take on their way into a ticket: coloured by a terminal tool, quoted in an e-mail reply
(tests/parsers/paste_shapes.py). The agent's own log is renamed as a paste is (recognized by its content only).
Both renderings must give the same findings, root cause and verdict.

The shapes go over the logs people paste: the Linux agent's log of every generation, the extension's logs, syslog,
the Windows agent's log (formats A and B) and the text forms of events people paste (copied details, Format-List,
``Key = value``), in UTF-8, CRLF and UTF-16. Each story takes the shapes in turn, so that every shape meets both OSes
and several generations and export forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer.api import analyze
from tests.parsers.paste_shapes import SHAPES
from tests.scenarios.render import build
from tests.scenarios.stories import STORIES
from tests.scenarios.vm import Variant

SHAPE_NAMES = sorted(SHAPES)
ENCODINGS = ("utf8", "crlf", "utf16")
# members people paste as text (the others are attached: state files, registry exports, event CSV, evtx)
PASTED = ("waagent.log", "extension.log", "shell.log", "messages", "syslog", "journalctl.txt", "waappagent.log",
          "system_pasted.txt", "application_pasted.txt", "system.txt", "application.txt", "vssadmin_list_writers.txt")
AGENT_LOGS = ("waagent.log", "waappagent.log")
PASTE_EVENTS = ("copied", "formatlist", "keyvalue")


def _variant(name: str, i: int) -> Variant:
    story = STORIES[name]
    enc = ENCODINGS[i % len(ENCODINGS)]
    if story.os == "linux":
        return Variant(os="linux", layout="flat", archive="folder", encoding=enc, gen=story.gens[i % len(story.gens)])
    return Variant(os="windows", layout="flat", archive="folder", encoding=enc, waa="AB"[i % 2],
                   events=PASTE_EVENTS[i % len(PASTE_EVENTS)])


def _shaped(data: bytes, shape: str) -> bytes:
    """``data`` in ``shape``, in the encoding it came in."""
    if data.startswith(b"\xff\xfe"):
        return b"\xff\xfe" + SHAPES[shape](data[2:].decode("utf-16-le")).encode("utf-16-le")
    return SHAPES[shape](data.decode("utf-8")).encode("utf-8")


def _write(folder: Path, members: dict[str, Any], shape: str | None) -> Path:
    folder.mkdir()
    for name, data in members.items():
        base = name.lower()
        assert isinstance(data, bytes), name
        text = _shaped(data, shape) if base in PASTED and shape is not None else data
        (folder / ("ticket paste.txt" if base in AGENT_LOGS else name)).write_bytes(text)
    return folder


def _said(folder: Path) -> tuple[Any, ...]:
    report = analyze(folder)
    return (sorted((f.id, f.severity) for f in report.findings if f.severity != "info"), report.verdict.root_cause,
            report.verdict.status, sorted((s.path, s.parser) for s in report.sources))


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_shaped_paste_gives_what_the_logs_give(tmp_path: Path, name: str) -> None:
    i = sorted(STORIES).index(name)
    shape = SHAPE_NAMES[i % len(SHAPE_NAMES)]
    _, members = build(STORIES[name], _variant(name, i))
    assert any(n.lower() in AGENT_LOGS for n in members)
    plain = _said(_write(tmp_path / "plain", members, None))
    assert _said(_write(tmp_path / shape, members, shape)) == plain
