"""Tar header metadata in linear time and bounded memory (issue 15 #4, #7; security.md 3.2): PAX records that do
not add up (the quadratic bait ``2 2 2 ... =`` and its relatives), global PAX headers before thousands of members,
negative PAX sizes, and sparse maps (old GNU extension blocks, PAX 0.0, 0.1 and 1.0), cut at any byte or grown
to the metadata cap. Each archive keeps the members before the damage, gets a row, and never raises out of
tarfile (an IndexError lost a whole bundle)."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest
from hostile_corpus import (
    GOOD_LOG,
    GOOD_PATH,
    MiB,
    Sandbox,
    assert_good_log_analyzed,
    json_report,
    old_gnu_sparse,
    pax_header,
    run_cli,
    tar_member,
    tar_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.intake import IntakeError, Limits, open_bundle
from analyzer.intake.tarsafe import pax_records
from analyzer.locale import word

GOOD = tar_member(GOOD_PATH, GOOD_LOG)
AFTER = tar_member("var/log/waagent.log.1", GOOD_LOG)


def _read(data: bytes, tmp_path: Path, name: str = "b.tar", limits: Limits | None = None) -> tuple[dict, list]:
    path = tmp_path / name
    path.write_bytes(data)
    bundle = open_bundle(path, limits)
    members = {m.path: m.stream.read() for m in bundle.members()}
    return members, [(p.path, word(p.message)) for p in bundle.problems]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcxyz.", min_size=1, max_size=12), st.binary(max_size=40)),
                max_size=8))
def test_pax_records_read_back_what_was_written(pairs: list[tuple[str, bytes]]) -> None:
    payload = b""
    for key, value in pairs:
        body = b" " + key.encode() + b"=" + value + b"\n"
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n = len(str(n)) + len(body)
        payload += str(n).encode() + body
    assert pax_records(payload) == [(k.encode(), v) for k, v in pairs]


BAITS = {  # malformed PAX records, each 1 MiB: the pattern CPython 3.11.7 uses goes quadratic on most
    "twos": b"2 " * (MiB // 2) + b"=",
    "no-equals": b"30 " + b"a" * MiB,
    "digits": b"1" * MiB,
    "long-length": b"99999999999999999999999999 a=b\n" * (MiB // 32),
    "off-by-one": b"13 path=abc\n" * (MiB // 12),
    "nul-inside": (b"14 path=a\0bcd\n" + b"1 ") * (MiB // 16),
}


@pytest.mark.parametrize("bait", sorted(BAITS))
def test_malformed_pax_headers_are_refused_in_linear_time(bait: str, tmp_path: Path) -> None:
    data = tar_of(GOOD, pax_header(BAITS[bait]), AFTER)
    members, problems = _read(data, tmp_path)
    assert GOOD_PATH in members
    assert any("PAX" in msg or "corrupt" in msg for _, msg in problems), problems


@pytest.mark.parametrize("where", ["first", "between", "every-member"])
def test_global_pax_headers_are_never_applied(where: str, tmp_path: Path) -> None:
    """A 1 MiB global header (40,000 keys, among them path and size) before 8,000 members: read at once, and no
    member renamed or resized by it."""
    keys = b"".join(b"%d k%05d=v\n" % (len(b"k%05d=v\n" % i) + 3, i) for i in range(40_000))
    hostile = b"30 path=var/log/renamed.log\n" + b"11 size=9\n" + keys
    glob = pax_header(hostile[: MiB - 4096], tarfile.XGLTYPE)
    empty = tarfile.TarInfo("d/x")
    empty.type = tarfile.DIRTYPE
    dirs = [empty.tobuf(tarfile.GNU_FORMAT)] * 8000
    if where == "first":
        data = tar_of(glob, GOOD, *dirs, AFTER)
    elif where == "between":
        data = tar_of(GOOD, *dirs[:4000], glob, *dirs[4000:], AFTER)
    else:
        small = pax_header(b"30 path=var/log/renamed.log\n", tarfile.XGLTYPE)
        data = tar_of(GOOD, *[small + d for d in dirs[:2000]], glob, AFTER)
    members, problems = _read(gzip.compress(data, 1), tmp_path, "g.tgz")
    assert members == {GOOD_PATH: GOOD_LOG, "var/log/waagent.log.1": GOOD_LOG}
    assert any("global header" in msg for _, msg in problems)


def test_a_negative_pax_size_is_refused(tmp_path: Path) -> None:
    data = tar_of(GOOD, pax_header(b"13 size=-512\n"), tar_member("x.log", b"x" * 600), AFTER)
    members, problems = _read(data, tmp_path)
    assert GOOD_PATH in members and any("negative" in msg for _, msg in problems), problems


def test_old_gnu_sparse_cut_at_any_byte_is_a_row_not_an_exception(tmp_path: Path) -> None:
    sparse = old_gnu_sparse("var/log/lastlog", 3, b"x" * 700)
    whole = tar_of(GOOD, sparse, AFTER)
    start = len(GOOD)
    for cut in range(start + 1, start + len(sparse) + 1, 7):
        members, problems = _read(whole[:cut], tmp_path)
        assert GOOD_PATH in members
        if cut < start + len(sparse):
            assert problems, cut
    members, problems = _read(whole, tmp_path)
    assert set(members) == {GOOD_PATH, "var/log/lastlog", "var/log/waagent.log.1"} and problems == []


def test_old_gnu_sparse_maps_are_capped(tmp_path: Path) -> None:
    """50 MB of extension blocks (2.1 million map entries, 50 KB compressed): refused at the metadata cap."""
    data = gzip.compress(tar_of(GOOD, old_gnu_sparse("var/log/lastlog", 100_000), AFTER), 6)
    members, problems = _read(data, tmp_path, "s.tgz")
    assert GOOD_PATH in members
    assert any("sparse map" in msg and "max_meta_bytes" in msg for _, msg in problems), problems


@pytest.mark.parametrize("headers", [
    {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "var/log/syslog",
     "GNU.sparse.realsize": "100"},
])
@pytest.mark.parametrize("map_data", [b"9" * (4 * MiB), b"99999999999999\n" + b"1\n" * (2 * MiB), b"3\n1\n"],
                         ids=["one-long-number", "huge-count", "cut-short"])
def test_pax_sparse_1_0_maps_are_capped(headers: dict[str, str], map_data: bytes, tmp_path: Path) -> None:
    data = tar_of(GOOD, tar_member("var/log/GNUSparseFile.0/syslog", map_data, tarfile.PAX_FORMAT, **headers), AFTER)
    members, problems = _read(gzip.compress(data, 1), tmp_path, "p.tgz")
    assert GOOD_PATH in members and problems


def test_pax_sparse_0_0_and_0_1_baits(tmp_path: Path) -> None:
    for headers in ({"GNU.sparse.size": "9", "GNU.sparse.offset": "1" * 4000},
                    {"GNU.sparse.map": ",".join(["1"] * 200_000), "GNU.sparse.size": "9"},
                    {"GNU.sparse.map": "x," * 1000}):
        data = tar_of(GOOD, tar_member("var/log/syslog", b"y" * 9, tarfile.PAX_FORMAT, **headers), AFTER)
        members, _ = _read(data, tmp_path)
        assert GOOD_PATH in members


def test_hostile_tar_headers_through_the_cli(sandbox: Sandbox) -> None:
    bundle = sandbox.write("h.tgz", gzip.compress(tar_of(GOOD, pax_header(BAITS["twos"]), AFTER), 1))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox))
    assert_good_log_analyzed(report)
    assert any(r["status"] == "failed" and "PAX" in (r["error"] or "") for r in report["sources"])


def test_a_first_header_that_is_refused_names_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "only.tar"
    path.write_bytes(tar_of(pax_header(BAITS["twos"]), GOOD))
    with pytest.raises(IntakeError, match=r"only\.tar"):
        list(open_bundle(path).members())


def test_the_member_stream_is_valid_after_a_skipped_global_header(tmp_path: Path) -> None:
    data = tar_of(pax_header(b"22 comment=git-archive\n", tarfile.XGLTYPE), GOOD, AFTER)
    members, _ = _read(data, tmp_path)
    assert members == {GOOD_PATH: GOOD_LOG, "var/log/waagent.log.1": GOOD_LOG}
