"""EVTX files with corrupt chunks and records (security.md section 4.4), mutated from a reference file.

The evtx reader is native code, so the mutants go through the CLI in a child process under RLIMIT_AS:
a Rust panic, abort or runaway allocation costs that child, never the test run. Each mutant must give an
``evtx`` row with its damage as problems (not a parser exception), and the good log beside is analyzed.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, assert_good_log_analyzed, json_report, run_cli

from tests.conftest import REFDATA

HEADER = 4096
CHUNK = 65536


def _chunk(i: int) -> int:
    return HEADER + i * CHUNK


def _put(data: bytearray, offset: int, raw: bytes) -> bytearray:
    data[offset:offset + len(raw)] = raw
    return data


# mutant name -> mutation of a copy of the reference file; True when the damage must show as a problem
MUTANTS: dict[str, tuple[Callable[[bytearray], bytearray], bool]] = {
    "bad_chunk_magic": (lambda d: _put(d, _chunk(1), b"XXXXXXXX"), True),
    "record_size_huge": (lambda d: _put(d, _chunk(0) + 512 + 4, struct.pack("<I", 0xFFFFFFF0)), True),
    "record_size_zero": (lambda d: _put(d, _chunk(2) + 512 + 4, struct.pack("<I", 0)), True),
    "binxml_garbage": (lambda d: _put(d, _chunk(3) + 600, bytes(range(256)) * 16), True),
    # a dirty header (chunk count, last chunk) is normal for copies of live logs: the reader goes on
    "free_space_offsets": (lambda d: _put(d, _chunk(4) + 44, struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF)), False),
    "header_chunk_count": (lambda d: _put(_put(d, 42, struct.pack("<H", 0xFFFF)), 16, struct.pack("<Q", 2**63)),
                           False),
}
# damage the reader passes over silently, found by the parser's chunk-header scan (security.md T11)
SILENT: dict[str, Callable[[bytearray], bytearray]] = {
    "chunk_header_checksum": lambda d: _put(d, _chunk(0) + 124, b"\xde\xad\xbe\xef"),
    "chunks_zeroed": lambda d: _put(d, HEADER, bytes(len(d) - HEADER)),
    "truncated_mid_chunk": lambda d: d[:_chunk(2) + 30000],
    "header_only": lambda d: d[:HEADER],
}


def _run(sandbox: Sandbox, mutants: dict[str, Callable[[bytearray], bytearray]]) -> dict[str, dict[str, Any]]:
    """evtx file name -> its sources row, for the reference file and its mutants beside a good log."""
    reference = (REFDATA / "windows" / "system.evtx").read_bytes()
    logs = "bundle/Windows/System32/winevt/Logs"
    sandbox.write(f"{logs}/untouched.evtx", reference)
    for name, mutate in mutants.items():
        sandbox.write(f"{logs}/{name}.evtx", bytes(mutate(bytearray(reference))))
    sandbox.write(f"bundle/{GOOD_PATH}", GOOD_LOG)
    report = json_report(run_cli([str(sandbox.inputs / "bundle"), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in report["sources"] if r["path"].endswith(".evtx")}
    whole = rows["untouched.evtx"]
    assert whole["status"] == "parsed" and whole["events"] > 0 and not whole["problems"], whole
    for name in mutants:
        row = rows[f"{name}.evtx"]
        assert row["parser"] == "evtx" and row["status"] == "parsed", row  # damage is data, not an exception
        assert row["events"] <= whole["events"], row
    return rows


def test_corrupt_evtx_chunks_and_records(sandbox: Sandbox) -> None:
    rows = _run(sandbox, {name: mutate for name, (mutate, _) in MUTANTS.items()})
    for name, (_, must_complain) in MUTANTS.items():
        if must_complain:
            assert rows[f"{name}.evtx"]["problems"], rows[f"{name}.evtx"]


def test_silent_evtx_damage_is_reported(sandbox: Sandbox) -> None:
    rows = _run(sandbox, SILENT)
    assert all(rows[f"{name}.evtx"]["problems"] for name in SILENT), rows
