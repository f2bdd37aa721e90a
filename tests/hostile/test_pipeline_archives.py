"""Hostile archives through the whole pipeline (``analyze`` and the CLI), security.md section 8.

tests/intake/ checks the intake layer alone; here every case goes through recognition, parsers and the
report, with a good waagent.log beside the hostile member, and the bombs run in a CLI child under
RLIMIT_AS. Oracles: a failed/skipped ``sources`` row naming the member and the reason, the neighbour
analyzed, exit codes of DESIGN 3.2, nothing written outside the sandbox (the ``sandbox`` fixture).
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_corpus import (
    GOOD_LOG,
    GOOD_PATH,
    GiB,
    Sandbox,
    assert_good_log_analyzed,
    json_report,
    many_entries_tgz,
    overlap_zip,
    run_cli,
    source,
    sparse_tar,
    with_good_log,
    zeros_gzip,
)

from analyzer.api import analyze
from analyzer.intake import IntakeError
from analyzer.locale import word
from tests.intake.intake_fixtures import seven_zip, tar_bytes, zip_bytes

# incompressible filler, so that a cut or an overwrite lands inside compressed member data
_NOISE = random.Random(11).randbytes(120_000)
_INNER = {"var/log/syslog": GOOD_LOG * 50 + _NOISE + GOOD_LOG * 50}


def _inner_archive(kind: str, tmp: Path) -> bytes:
    """A small archive of ``kind`` holding a syslog, built in memory (7z through a file in ``tmp``)."""
    if kind == "zip":
        return zip_bytes(_INNER)
    if kind == "tgz":
        return tar_bytes(_INNER)
    if kind == "tar":
        return tar_bytes(_INNER, "w")
    if kind == "gz":
        return gzip.compress(_INNER["var/log/syslog"])
    path = seven_zip(tmp / "inner.7z", _INNER)
    data = path.read_bytes()
    path.unlink()
    return data


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def _corrupt(data: bytes) -> bytes:
    """Overwrite 64 bytes in the middle (compressed data; for a plain tar, the second header is hit below)."""
    mid = len(data) // 2
    return data[:mid] + b"\xff" * 64 + data[mid + 64:]


_KINDS = ("zip", "tgz", "tar", "gz", "7z")
_DAMAGE: dict[str, Callable[[bytes], bytes]] = {"truncated": _truncated, "corrupt": _corrupt}


@pytest.mark.parametrize("damage", sorted(_DAMAGE))
@pytest.mark.parametrize("kind", _KINDS)
def test_damaged_nested_archive_is_a_row_that_says_so_and_the_rest_is_analyzed(sandbox: Sandbox, kind: str,
                                                                         damage: str) -> None:
    inner = _DAMAGE[damage](_inner_archive(kind, sandbox.inputs))
    if kind == "tar" and damage == "corrupt":
        inner = tar_bytes({"a.log": GOOD_LOG, "var/log/syslog": GOOD_LOG}, "w")
        inner = inner[:1024] + b"\xff" * 64 + inner[1024 + 64:]  # the second header
    name = f"var/log/azure/upload.{kind}"
    bundle = sandbox.write("bundle.tar", tar_bytes(with_good_log({name: inner}), "w"))
    report = analyze(bundle)
    assert_good_log_analyzed(report)
    stem = "var/log/azure/upload"  # intake names a .tgz layer's rows .tar and a .gz member without .gz
    rows = [s for s in report.sources if s.path.startswith(stem)]
    # the row of the archive, or of its member read up to the damage, says so
    failed = [s for s in rows
              if s.status == "failed" or (s.note is not None and s.note.key == "source.read_until_damage")]
    assert failed, [vars(s) for s in rows]
    said = [word(s.error) for s in failed if s.error is not None]
    assert any(any(w in text for w in ("corrupt", "truncated", "unreadable data")) for text in said), failed


@pytest.mark.parametrize("kind", ["zip", "tgz", "tar", "7z"])
def test_cli_exits_2_on_an_archive_with_nothing_readable(sandbox: Sandbox, kind: str) -> None:
    whole = {"zip": zip_bytes, "tgz": tar_bytes, "tar": lambda e: tar_bytes(e, "w")}
    if kind == "7z":
        data = seven_zip(sandbox.inputs / "whole.7z", with_good_log({})).read_bytes()
    else:
        data = whole[kind](with_good_log({}))
    bundle = sandbox.write(f"cut.{kind}", data[: max(40, len(data) // 10)] if kind != "tar" else data[:300])
    proc = run_cli([str(bundle), "--format", "json"], sandbox)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("bundle-analyze: error: ") and "cut." in proc.stderr
    assert any(w in proc.stderr for w in ("corrupt", "truncated", "not a readable", "missing")), proc.stderr


@pytest.mark.parametrize("header_encryption", [True, False])
def test_cli_exits_2_on_an_encrypted_7z(sandbox: Sandbox, header_encryption: bool) -> None:
    bundle = seven_zip(sandbox.inputs / "enc.7z", with_good_log({}), password="secret",
                       header_encryption=header_encryption)
    proc = run_cli([str(bundle), "--format", "json"], sandbox)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "enc.7z" in proc.stderr and "encrypted" in proc.stderr, proc.stderr


def test_encrypted_members_beside_a_good_log_are_rows(sandbox: Sandbox) -> None:
    enc7z = seven_zip(sandbox.inputs / "enc.7z", {"var/log/syslog": GOOD_LOG}, password="pw").read_bytes()
    bundle = sandbox.write("bundle.tgz", tar_bytes(with_good_log({"attach/enc.7z": enc7z})))
    report = analyze(bundle)
    assert_good_log_analyzed(report)
    row = source(report, "attach/enc.7z")
    assert row["status"] == "failed" and "encrypted" in row["error"], row


def test_bombs_in_one_bundle_under_a_memory_limit(sandbox: Sandbox) -> None:
    """A 1 GiB gzip bomb, a full-overlap zip (9.8 GiB) and a 1 TB sparse member, beside a good log."""
    bundle = sandbox.write("bombs.tar", tar_bytes(with_good_log({
        "var/log/syslog.gz": zeros_gzip(GiB),
        "var/lib/waagent/history/2024-01-05T12-00-00__1.zip": overlap_zip(),
        "var/log/sparse.tar": sparse_tar(10**12),
    }), "w"))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    gz = source(report, "var/log/syslog")
    assert gz["status"] == "failed" and "var/log/syslog" in gz["error"] and "max_ratio=200" in gz["error"], gz
    ov = source(report, "var/lib/waagent/history/2024-01-05T12-00-00__1.zip")
    assert ov["status"] == "failed" and "overlapping zip entries" in ov["error"], ov
    sparse = source(report, "var/log/sparse.tar/var/log/syslog")
    assert sparse["status"] == "failed" and f"declared size {10**12} exceeds max_member_bytes" in sparse["error"]


def test_overlap_zip_bomb_as_the_input_exits_2(sandbox: Sandbox) -> None:
    bundle = sandbox.write("bomb.zip", overlap_zip())
    proc = run_cli([str(bundle)], sandbox, memory_limit=True)
    assert proc.returncode == 2, proc.stderr
    assert "bomb.zip: overlapping zip entries" in proc.stderr and "Traceback" not in proc.stderr


def test_member_count_limit_with_100k_entries(sandbox: Sandbox) -> None:
    bundle = sandbox.write("many.tgz", many_entries_tgz(with_good_log({}), 100_001))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox, memory_limit=True))
    assert_good_log_analyzed(report)
    row = source(report, "many.tgz")
    assert row["status"] == "failed" and "more than max_members=100000" in row["error"], row


def test_deep_nesting_of_mixed_formats(sandbox: Sandbox) -> None:
    data = GOOD_LOG
    name = "var/log/waagent.log"
    for level in range(12):  # zip in tgz in 7z in gz ... twelve levels around one log
        kind = ("zip", "tgz", "7z", "gz")[level % 4]
        if kind == "gz":
            data, name = gzip.compress(data), f"{name}.gz"
            continue
        entries = {name: data}
        name = f"level{level}.{kind}"
        data = {"zip": zip_bytes, "tgz": tar_bytes}[kind](entries) if kind != "7z" else \
            seven_zip(sandbox.inputs / f"l{level}.7z", entries).read_bytes()
    bundle = sandbox.write("deep.tgz", tar_bytes(with_good_log({f"attach/{name}": data})))
    report = analyze(bundle)
    assert_good_log_analyzed(report)
    refused = [s for s in report.sources if s.status == "failed"
               and s.error is not None and "nested beyond max_depth=3" in word(s.error)]
    outer = f"attach/{name.removesuffix('.gz')}/"  # the .gz layer is named without its suffix
    assert len(refused) == 1 and refused[0].path.startswith(outer), [vars(s) for s in report.sources]
    assert not any(s.path.endswith("waagent.log") and s.path != GOOD_PATH for s in report.sources)


@pytest.mark.parametrize("offset", [2**63 - 1, 2**64 - 1])
def test_7z_next_header_offset_past_the_end(sandbox: Sandbox, offset: int) -> None:
    """Found by fuzz_intake: a start header offset too large for seek() escaped as OSError/ValueError."""
    data = bytearray(seven_zip(sandbox.inputs / "ok.7z", with_good_log({})).read_bytes())
    data[12:20] = struct.pack("<Q", offset)
    with pytest.raises(IntakeError, match="7z archive truncated"):
        analyze(sandbox.write("far.7z", bytes(data)))


def test_zip_entry_with_an_empty_name(sandbox: Sandbox) -> None:
    """Found by fuzz_intake: zipfile's ``ZipInfo.is_dir`` raised IndexError on an empty entry name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(GOOD_PATH, GOOD_LOG)
        zf.writestr(zipfile.ZipInfo(""), b"nameless\n")
    report = analyze(sandbox.write("empty-name.zip", buf.getvalue()))
    assert_good_log_analyzed(report)
    assert source(report, "")["error"] == "empty member name: refused"
