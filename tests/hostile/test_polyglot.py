"""A file that is both a tar and a zip (issue 15 #10) shows one bundle to tar and another to unzip. Whichever
format leads (a zip whose first local header is also a tar header, a tar or tar.gz with a zip after it), the file
is read in the format its first bytes name and the sources table names the other reading with its entries; an
ordinary tar whose last member is a zip (a nested archive) is not a polyglot."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, json_report, run_cli, tar_member, tar_of

from analyzer.intake import open_bundle
from analyzer.locale import word
from tests.intake.intake_fixtures import zip_bytes

ZIP_LOG = GOOD_LOG.replace(b"2.9.1.1", b"2.2.53")  # the zip reading's bundle: another agent version


def _checksum(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def zip_first(tar_members: dict[str, bytes]) -> bytes:
    """A zip whose first local header is also the header of a tar member (its extra field holds the tar fields,
    the member's data is the zip entry's data); the tar's other members follow, then the zip's directory."""
    name = GOOD_PATH.encode()
    crc = zlib.crc32(ZIP_LOG)
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0x21, crc, len(ZIP_LOG), len(ZIP_LOG),
                        len(name), 512 - 30 - len(name)) + name
    block = bytearray(512)
    block[:len(local)] = local
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % len(ZIP_LOG)
    block[136:148] = b"%011o\0" % 0
    block[156:157] = b"0"
    block[257:265] = b"ustar\x0000"
    head = _checksum(block) + ZIP_LOG.ljust(-(-len(ZIP_LOG) // 512) * 512, b"\0")
    body = head + tar_of(*(tar_member(n, d) for n, d in tar_members.items()))
    central = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0x21, crc, len(ZIP_LOG),
                          len(ZIP_LOG), len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    return body + central + end


def _tar(members: dict[str, bytes]) -> bytes:
    return tar_of(*(tar_member(n, d) for n, d in members.items()))


FORMS = {
    "zip first, tar inside": lambda: zip_first({"var/log/tar-only.log": GOOD_LOG}),
    "tar, then a zip": lambda: _tar({GOOD_PATH: GOOD_LOG}) + zip_bytes({"var/log/zip-only.log": ZIP_LOG}),
    # (the gzip stream ends where the zip begins: every tar member is read, the zip is named)
    "tar.gz, then a zip": lambda: gzip.compress(_tar({GOOD_PATH: GOOD_LOG, "var/log/filler.log": b"x\n" * 20_000}))
    + zip_bytes({"zip-only.log": ZIP_LOG}),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_both_readings_are_named(tmp_path: Path, form: str) -> None:
    data = FORMS[form]()
    path = tmp_path / "bundle.bin"
    path.write_bytes(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # the file really is a zip ...
        assert zf.read(zf.infolist()[-1]) == ZIP_LOG
    bundle = open_bundle(path)
    members = {m.path: m.stream.read() for m in bundle.members()}
    assert members, "the leading reading is analyzed"
    rows = [word(p.message) for p in bundle.problems if "polyglot" in word(p.message)]
    assert len(rows) == 1, [word(p.message) for p in bundle.problems]
    lead, other = ("zip", "tar") if form.startswith("zip") else ("tar" if form.startswith("tar,") else "gzip", "zip")
    assert f"this {lead} file is also a {other} archive of" in rows[0]
    assert ("tar-only.log" if other == "tar" else "zip-only.log") in rows[0]  # the other reading's entries


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_polyglot_inside_a_folder_input_is_named_too(tmp_path: Path, form: str) -> None:
    root = tmp_path / "collected"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/waagent.log").write_bytes(GOOD_LOG)
    (root / "upload.bin").write_bytes(FORMS[form]())
    bundle = open_bundle(root)
    paths = {m.path for m in bundle.members()}
    assert GOOD_PATH in paths
    rows = [p for p in bundle.problems if "polyglot" in word(p.message)]
    assert [p.path for p in rows] == ["upload.bin"], [word(p.message) for p in bundle.problems]


def test_through_the_cli_the_sources_table_names_both(sandbox: Sandbox) -> None:
    bundle = sandbox.write("poly.zip", zip_first({"var/log/tar-only.log": GOOD_LOG}))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox))
    rows = [r for r in report["sources"] if "polyglot" in (r.get("error") or "")]
    assert len(rows) == 1 and "tar-only.log" in rows[0]["error"] and "zip" in rows[0]["error"]
    assert any(r["path"] == GOOD_PATH and r["status"] == "parsed" for r in report["sources"])


@pytest.mark.parametrize("compress", [False, True])
def test_a_tar_whose_last_member_is_a_zip_is_no_polyglot(tmp_path: Path, compress: bool) -> None:
    inner = zip_bytes({"GoalState.xml": b"<GoalState/>\n"})
    raw = _tar({GOOD_PATH: GOOD_LOG, "var/lib/waagent/history/2024-01-05T12-00-00__1.zip": inner})
    path = tmp_path / ("b.tar.gz" if compress else "b.tar")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    bundle = open_bundle(path)
    assert {m.path for m in bundle.members()} == {GOOD_PATH, "var/lib/waagent/history/2024-01-05T12-00-00__1.zip/"
                                                  "GoalState.xml"}
    assert bundle.problems == []


@pytest.mark.parametrize("after", [zip_bytes({"zip-only.log": ZIP_LOG}), bytes(1024) + zip_bytes({"a": b"b"}),
                                   zip_bytes({})])
@pytest.mark.parametrize("filler", [0, 3_000, 20_000])
def test_a_zip_after_a_gzip_stream_loses_none_of_the_tar_members(tmp_path: Path, after: bytes, filler: int) -> None:
    """A zip after the last gzip member ends the stream: every member of the tar is read whole, whatever its
    size (a tar smaller than one tar record was lost whole), and no row calls the file corrupt."""
    tar_members = {GOOD_PATH: GOOD_LOG, "var/log/filler.log": b"x\n" * filler}
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(gzip.compress(_tar(tar_members)) + after)
    bundle = open_bundle(path)
    assert {m.path: m.stream.read() for m in bundle.members()} == tar_members
    assert not [word(p.message) for p in bundle.problems if "polyglot" not in word(p.message)]


TAR_LEADS = {  # polyglots that a tar reader reads as a tar (a zip whose first bytes lead is read as a zip)
    "tar, then a zip": lambda: _tar({GOOD_PATH: GOOD_LOG}) + zip_bytes({"var/log/zip-only.log": ZIP_LOG}),
    "tar, its end, then a zip": lambda: _tar({GOOD_PATH: GOOD_LOG}) + bytes(10240)
    + zip_bytes({"var/log/zip-only.log": ZIP_LOG}),
}
WRAPS = {  # a tar read once, as a stream: what holds it
    "gzip": lambda data: ("bundle.tar.gz", gzip.compress(data), "bundle.tar.gz"),
    "outer tar": lambda data: ("ticket.tar", _tar({GOOD_PATH: GOOD_LOG, "upload/logs.tar": data}), "upload/logs.tar"),
    "tgz in a zip": lambda data: ("ticket.zip", zip_bytes({GOOD_PATH: GOOD_LOG,
                                                           "upload/logs.tgz": gzip.compress(data)}), "upload/logs.tgz"),
}


@pytest.mark.parametrize("wrap", sorted(WRAPS))
@pytest.mark.parametrize("form", sorted(TAR_LEADS))
def test_a_polyglot_tar_read_as_a_stream_is_named(tmp_path: Path, form: str, wrap: str) -> None:
    """Inside a compressed file or another archive a tar is read once; its first and last bytes still show the
    zip reading."""
    name, data, inner = WRAPS[wrap](TAR_LEADS[form]())
    path = tmp_path / name
    path.write_bytes(data)
    bundle = open_bundle(path)
    paths = {m.path for m in bundle.members()}
    assert any(p.endswith(GOOD_PATH) or p.endswith("tar-only.log") for p in paths), paths
    rows = [p for p in bundle.problems if "polyglot" in word(p.message)]
    assert len(rows) == 1, [word(p.message) for p in bundle.problems]
    assert rows[0].path == inner and "this tar file is also a zip archive declaring 1 entries" in word(rows[0].message)


@pytest.mark.parametrize("wrap", sorted(WRAPS))
def test_a_streamed_tar_whose_last_member_is_a_zip_is_no_polyglot(tmp_path: Path, wrap: str) -> None:
    inner = zip_bytes({"GoalState.xml": b"<GoalState/>\n", "b.xml": b"<b/>\n"})
    raw = _tar({"var/log/waagent.log.1": GOOD_LOG, "var/lib/waagent/history/2024-01-05T12-00-00__1.zip": inner})
    name, data, _ = WRAPS[wrap](raw)
    path = tmp_path / name
    path.write_bytes(data)
    bundle = open_bundle(path)
    assert len({m.path for m in bundle.members()}) >= 3
    assert not [word(p.message) for p in bundle.problems if "polyglot" in word(p.message)]
