"""Lines reach parsers and sniffs clean (parsers/text.py): no terminal escape sequence, no e-mail quote mark.

Checked where text enters: one line (:func:`clean_line`), the line reader in UTF-8, CRLF and UTF-16, the block path
of the agent's and the extension's logs against their per-line path, the sniffs that recognize a member by its
content, and a journal export whose message kept a unit's colours.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from analyzer.sources import recognize_content
from parsers.base import ParseContext
from parsers.linux_agent import journal_export
from parsers.text import clean_block, clean_line, head_text, iter_lines, margin
from tests.conftest import ROOT
from tests.parsers import test_vmsnapshot_blocks as vmsnapshot_blocks
from tests.parsers import test_waagent_blocks as waagent_blocks
from tests.parsers.linux_render import GENERATIONS, record
from tests.parsers.paste_shapes import SHAPES, colour, indented

RECORD = "2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16"


@pytest.mark.parametrize("dirty", [
    "2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No \x1b[01;31m\x1b[Kroute\x1b[m\x1b[K exists to 168.63.129.16",
    "\x1b[0;1;31m2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16\x1b[0m",
    "\x1b[38;5;208m2024-06-10T02:00:00.000000Z\x1b[39m WARNING Daemon Daemon No route exists to 168.63.129.16",
    "\x1b[38;2;255;0;0m2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16\x1b[K",
    "\x1b[2J\x1b[H\x1b[?25l2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16\x1b[?25h",
    "\x1b]0;root@vm1: /var/log\x072024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    "\x1b]2;title\x1b\\2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    "2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to \x1b]8;;http://x/\x1b\\168.63.129.16"
    "\x1b]8;;\x1b\\",
    "\x1b(B\x1b)0\x1b=2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16\x1b>",
    "\x1b[1m2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16\x1b",
    "> 2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    ">> 2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    "> > 2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    ">\t2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    ">2024-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
    "> \x1b[01;31m\x1b[K2024\x1b[m\x1b[K-06-10T02:00:00.000000Z WARNING Daemon Daemon No route exists to 168.63.129.16",
], ids=lambda s: repr(s[:14]))
def test_escape_sequences_and_quote_marks_are_dropped(dirty: str) -> None:
    assert clean_line(dirty) == RECORD
    assert clean_block(dirty.encode() + b"\n" + dirty.encode() + b"\r\n") == (RECORD + "\n" + RECORD + "\r\n").encode()


@pytest.mark.parametrize("line", [
    RECORD + " -> retry > 3",
    " > an indented quote mark is the text of a continuation line",
    "   at System.Net.HttpWebRequest.GetResponse() > inner",
    "",
    "plain text without any escape",
])
def test_a_quote_mark_inside_a_line_is_its_text(line: str) -> None:
    assert clean_line(line) == line
    assert clean_block(line.encode() + b"\n") == line.encode() + b"\n"


def test_a_quoted_line_keeps_the_indentation_after_its_mark() -> None:
    assert clean_line('>   File "/usr/lib/python3/dist-packages/azurelinuxagent/common/protocol/wire.py", line 1') \
        == '  File "/usr/lib/python3/dist-packages/azurelinuxagent/common/protocol/wire.py", line 1'
    assert clean_line(">") == clean_line("> ") == clean_line(">>") == ""


@pytest.mark.parametrize("nasty", ["\x1b[" + "1;" * 30000, "\x1b]" * 30000, "\x1b" * 60000, ">" * 60000,
                                   "> " * 30000 + "x", "\x1b[" * 30000])
def test_hostile_lines_are_cleaned_in_one_pass(nasty: str) -> None:
    """Runs of escapes and marks that a backtracking pattern would take quadratic time over (cut lines are 64 KiB)."""
    out = clean_line(nasty)
    assert "\x1b" not in out and not out.startswith(">")


def _log() -> str:
    lines = []
    for gen in GENERATIONS:
        lines += [record("Azure Linux Agent Version:2.2.45", "INFO", gen, component="Daemon"),
                  record("No route exists to 168.63.129.16", "WARNING", gen, component="Daemon"),
                  record("Exception processing GoalState-related files: Traceback (most recent call last):",
                         "ERROR", gen),
                  '  File "/usr/lib/python3/dist-packages/azurelinuxagent/ga/exthandlers.py", line 316, in run',
                  "TimeoutError: [Errno 110] Connection timed out",
                  record("Error fetching the goal state: [ProtocolError] GET http://168.63.129.16/machine/?comp="
                         "goalstate -- IOError timed out -- 6 attempts made", "ERROR", gen)]
    return "\n".join(lines) + "\n"


def _quote_lines(text: str, mark: str = "> ") -> str:
    """Every line behind ``mark``, nothing added (the line numbers stay)."""
    return "".join(f"{mark}{line}" if line.strip() else mark.rstrip() for line in text.splitlines(True))


@pytest.mark.parametrize("encoding", ["utf-8", "crlf", "utf-16-le", "utf-16"])
@pytest.mark.parametrize("shape", ["colour", "quoted", "both"])
def test_the_line_reader_gives_clean_lines_in_every_encoding(encoding: str, shape: str) -> None:
    text = _log()
    dirty = colour(text) if shape != "quoted" else text
    dirty = _quote_lines(dirty) if shape != "colour" else dirty
    if encoding == "crlf":
        text, dirty = text.replace("\n", "\r\n"), dirty.replace("\n", "\r\n")
    enc = "utf-8" if encoding == "crlf" else encoding
    got = list(iter_lines(io.BytesIO(dirty.encode(enc))))
    assert got == list(iter_lines(io.BytesIO(text.encode(enc))))
    assert got == list(enumerate(text.replace("\r\n", "\n").splitlines(), 1))


@pytest.mark.parametrize("mark", ["> ", ">> ", "> > ", ">"])
def test_the_agent_logs_block_path_reads_a_coloured_quoted_log_as_its_line_path(mark: str) -> None:
    """Blocks cleaned as lines are: the same events, facts and counts, and those of the log itself."""
    text = _log() * 3
    dirty = _quote_lines(colour(text), mark).encode()
    waagent_blocks.assert_same(dirty, sizes=(4096, 97), limits=(7,))
    if mark.endswith(" "):  # a glued mark takes the first space of an indented line with it
        assert waagent_blocks._output(dirty, True, size=97) == waagent_blocks._output(text.encode(), False)


@pytest.mark.parametrize("margin", ["    ", "\t", "  ", "        "])
def test_the_agent_logs_block_path_reads_an_indented_log_as_its_line_path(margin: str) -> None:
    """A log pasted as a Markdown code block (or indented by a tab): the margin is dropped on both paths, and the
    events, facts and counts are those of the log itself; its traceback lines keep their own indentation."""
    text = _log() * 3
    shaped = indented(text, margin).encode()
    waagent_blocks.assert_same(shaped, sizes=(4096, 97), limits=(7,))
    assert waagent_blocks._output(shaped, True, size=97) == waagent_blocks._output(text.encode(), False)
    assert [line for _, line in iter_lines(io.BytesIO(shaped))] == text.splitlines()


@pytest.mark.parametrize("head", [
    "2024/06/10 02:00:00.000000 INFO Daemon Azure Linux Agent Version:2.2.45\n  File \"x.py\", line 3\n",
    "  File \"x.py\", line 3\n",  # one line: no margin
    "    a\n  b\n\tc\n",  # no indentation every line shares
    "",
    "2024/06/10 02:00:00.000000 ERROR Exception: Traceback\n  File a\n  File b\n",  # a record, its traceback
    "Jun 10 02:00:00 vm1 python3[1036]: Traceback\n  File a\n  File b\n",  # a syslog record before it
    "[00000006] 06/10/2024 02:00:00.00 [ERROR] x\n   at a\n   at b\n",  # a Windows agent's record
    "note\n" * 13 + "    a\n    b\n",  # more than a note before it
    "    a\n    b\nback at the first column\n    c\n",  # a line at the first column after it
])
def test_a_head_with_a_line_at_its_first_column_or_without_a_shared_indentation_has_no_margin(head: str) -> None:
    assert margin(head) == ""
    assert [line for _, line in iter_lines(io.BytesIO(head.encode()))] == head.splitlines()


@pytest.mark.parametrize(("head", "expected"), [
    ("    2024/06/10 a\n\n    2024/06/10 b\n      File c\n", "    "),
    ("Hello,\n\nhere is the log:\n    2024/06/10 a\n    2024/06/10 b\n", "    "),
    ("Sent: Monday, June 10, 2024 8:55 AM\n\t[00000006] 2024-06-10 a\n\t[00000006] 2024-06-10 b\n", "\t"),
    ("\t2024/06/10 a\r\n\t  continued\r\n", "\t"),
    ("    a\n    b\n    cut inside the last li", "    "),
    ("      a\n    b\n", "    "),
])
def test_the_margin_is_the_indentation_every_line_of_the_head_shares(head: str, expected: str) -> None:
    assert margin(head) == expected


@pytest.mark.skipif(not vmsnapshot_blocks._block_scan._c_available(), reason="the C module is not built here")
def test_the_extension_logs_block_path_reads_a_coloured_quoted_log_as_its_line_path() -> None:
    pref = "[Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0]"
    text = "".join(f"2024-06-10 02:{m:02d}:00.000000 {pref}{msg}\n" for m, msg in enumerate([
        "enable invoked", "doing freeze now...", "freeze result: error FsFreezeFailed", "snapshot failed",
        "Exception: [Errno 121] Remote I/O error", "doing thaw now..."]))
    dirty = _quote_lines(colour(text * 4)).encode()
    vmsnapshot_blocks.assert_same(dirty, sizes=(4096, 97))
    assert vmsnapshot_blocks._output(dirty, True, size=97) == vmsnapshot_blocks._output((text * 4).encode(), False)


def _text_samples() -> list[Path]:
    """The text members of the samples (the reference bundles) that are logs people paste."""
    names = ("waagent.log", "extension.log", "shell.log", "syslog", "messages", "waappagent.log", ".txt")
    return sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file() and p.name.lower().endswith(names)
                  and p.stat().st_size > 0)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_shaped_head_is_recognized_as_the_log_it_holds(shape: str) -> None:
    samples = _text_samples()
    assert len(samples) >= 10
    for p in samples:
        data = p.read_bytes()[:4096]
        text = head_text(data)
        plain = recognize_content("pasted.txt", data)
        shaped = recognize_content("pasted.txt", SHAPES[shape](text).encode()[:4096])
        assert (shaped and shaped.parser) == (plain and plain.parser), p.relative_to(ROOT)


def test_a_journal_message_keeps_no_colour() -> None:
    """journald keeps what a unit wrote to its terminal: ``-o json`` writes the escape as ``\\u001b``."""
    entries = [{"__REALTIME_TIMESTAMP": "1717984800000000", "_PID": "1036", "SYSLOG_IDENTIFIER": "python3",
                "MESSAGE": "\x1b[0;1;31m" + RECORD + "\x1b[0m"},
               {"__REALTIME_TIMESTAMP": "1717984801000000", "_PID": "1", "SYSLOG_IDENTIFIER": "systemd",
                "MESSAGE": "\x1b[0;1;39mwalinuxagent.service: Main process exited, code=exited, "
                           "status=1/FAILURE\x1b[0m"}]
    ctx = ParseContext("journal.json", "journal_export")
    data = "".join(json.dumps(e) + "\n" for e in entries).encode()
    events = list(journal_export.parse(io.BytesIO(data), ctx))
    assert [e.message for e in events] == ["No route exists to 168.63.129.16", "walinuxagent.service: Main process "
                                                                             "exited, code=exited, status=1/FAILURE"]
    assert events[0].kind != "log" and events[1].kind != "log"
