"""Every parser in linear time on the structures that join lines (issue 15 #3): one logical record continued over
a third of a megabyte of lines, by a trailing backslash, an unterminated quote, indented continuation lines, an
unclosed XML element or an unclosed JSON value, at the path of every recognized source. No time is asserted: a
parser that joins such lines quadratically (a .reg value continued over 4 MB took 4.5 minutes) makes this test
hang, and CI's timeout reports it. The registry parser's fast path reads exactly what its grammar reads."""

from __future__ import annotations

from hostile_corpus import GOOD_LOG, GOOD_PATH, MiB, Sandbox, assert_good_log_analyzed, json_report, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from test_text_hostile import source_paths

from parsers.windows_events.registry_export import _plain_value, decode_value, grammar

_RECORD = GOOD_LOG.splitlines(keepends=True)[1].rstrip(b"\n")
SIZE = MiB // 3  # per member: a quadratic join of this many bytes takes minutes, a linear one milliseconds
_HEXLINE = b"00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,\\\r\n  "
CONTINUED = {
    "backslash": _RECORD + b" \\\n" + b"  00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,\\\n" * (SIZE // 52),
    "open_quote": _RECORD + b' "value' + b"\n" + b"a line inside a string that never ends\n" * (SIZE // 38),
    "indented": _RECORD + b"\n" + b"    at continuation line of the same record\n" * (SIZE // 44),
    "open_xml": b"<Event><EventData><Data Name='x'>" + b"<Data>a</Data><Data>\n" * (SIZE // 21),
    "open_json": b'{"runtimeSettings": [' + b'{"a": "b", "c": [\n' * (SIZE // 18),
    "registry": (b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\BcdrAgent]"
                 b'\r\n"X"=hex:' + _HEXLINE * (SIZE // 52) + b"00\r\n"),
}


def test_continued_records_at_every_source_path(sandbox: Sandbox) -> None:
    bundle = sandbox.inputs / "bundle"
    names = []
    for path in source_paths().values():
        for kind, data in CONTINUED.items():
            encoded = data.decode("latin-1").encode("utf-16") if kind == "registry" else data
            sandbox.write(f"bundle/{kind}/{path}", encoded)
            names.append(f"{kind}/{path}")
    sandbox.write(f"bundle/{GOOD_PATH}", GOOD_LOG)
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    rows = {r["path"]: r for r in report["sources"]}
    for name in names:
        assert rows[name]["status"] in ("parsed", "empty", "skipped"), rows[name]  # "failed": a parser raised


_ESCAPED_TEXT = st.text(alphabet='ab c:\\"=,%;', max_size=20).map(lambda s: s.replace("\\", "\\\\").replace('"', '\\"'))
_HEX = st.lists(st.integers(0, 255), max_size=12).map(lambda bs: ",".join(f"{b:02x}" for b in bs))


@settings(max_examples=400, deadline=None)
@given(name=st.one_of(st.just("@"), _ESCAPED_TEXT.map(lambda s: f'"{s}"')),
       value=st.one_of(_ESCAPED_TEXT.map(lambda s: f'"{s}"'),
                       st.integers(0, 2**32 - 1).map(lambda n: f"dword:{n:08x}"),
                       st.tuples(st.sampled_from(["hex:", "hex(2):", "hex(7):", "hex(b):", "HEX(4):"]), _HEX)
                       .map("".join)),
       space=st.sampled_from(["", " ", "\t "]))
def test_the_registry_fast_path_reads_what_the_grammar_reads(name: str, value: str, space: str) -> None:
    line = f"{name}={value}{space}"
    fast = _plain_value(line)
    parsed = grammar()[1].parse_string(line, parse_all=True)
    assert fast is not None
    assert fast["name"] == parsed["name"]
    assert decode_value(fast, ansi=False) == decode_value(parsed, ansi=False)
