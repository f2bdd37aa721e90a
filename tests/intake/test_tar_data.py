"""A tar member's data read under tarfile's stream (``analyzer/intake/tardata.py``) and handed on in the pieces the
readers give (``parsers.text.uncopied``, ``read_blocks``): the same bytes and the same rows as tarfile's own reading
of the member (``extractfile``, the reference), for every layout the fast reading can meet: members split across
tarfile's 10 KiB records, at a block edge, empty; ustar, GNU long names, PAX headers; sparse members and the types
refused; plain tar, tar.gz/bz2/xz, tar in tar.gz, tgz in tar; members read partly or not at all; archives cut at
any place; limits hit while a member is read; a zip after the tar."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import random
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from analyzer.intake import Limits, open_bundle
from analyzer.intake import archives as archives_module
from analyzer.intake.streams import damage_of
from analyzer.intake.tardata import member_data
from parsers.base import Message
from parsers.text import read_blocks, replay, uncopied
from tests.hostile.hostile_corpus import old_gnu_sparse, tar_member, tar_of
from tests.intake.intake_fixtures import tar_bytes, zip_bytes

RECORD = 20 * 512  # tarfile's stream reads this much at a time
MiB = 1 << 20
SIZES = [0, 1, 511, 512, 513, RECORD - 1, RECORD, RECORD + 1, 3 * RECORD + 7, MiB - 1, MiB, MiB + 1, 4 * MiB]


@functools.cache
def _text(size: int, seed: int) -> bytes:
    """``size`` bytes of log-like lines (each different, so that gzip has work to do)."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        out += b"2024-01-05T12:%02d:%02d.%06dZ INFO ExtHandler ExtHandler member %d line %x\n" % (
            rng.randrange(60), rng.randrange(60), rng.randrange(10**6), seed, rng.getrandbits(48))
    return bytes(out[:size])


def _tar(entries: list[tuple[str, bytes]], fmt: int = tarfile.GNU_FORMAT, **pax: str) -> bytes:
    return tar_of(*(tar_member(name, data, fmt, **pax) for name, data in entries))


def _pack(kind: str, tar: bytes) -> bytes:
    packers: dict[str, Callable[[], bytes]] = {
        "tar": lambda: tar, "tar.gz": lambda: gzip.compress(tar, 1), "tar.bz2": lambda: bz2.compress(tar, 1),
        "tar.xz": lambda: lzma.compress(tar, preset=0),
        "tgz in tar": lambda: _tar([("ticket/first.txt", b"a note\n"), ("ticket/logs.tgz", gzip.compress(tar, 1))]),
        "tar in tar.gz": lambda: gzip.compress(_tar([("notes.txt", b"a note\n"), ("inner.tar", tar)]), 1)}
    return packers[kind]()


def _shape(value: Any) -> Any:
    """A message without its byte counts (how far a cut member was read depends on the size of the reads)."""
    if isinstance(value, Message):
        return value.key, {k: _shape(v) for k, v in value.params.items() if k != "bytes"}
    return value


def _walk(path: Path, reference: bool, monkeypatch: pytest.MonkeyPatch, how: Callable[[int, Any], bytes],
          limits: Limits | None = None) -> tuple[list[tuple[str, bytes]], list[tuple[str, Any]]]:
    """Each member's path and the bytes ``how`` read of it, and every row (problems, then damage met)."""
    with monkeypatch.context() as m:
        if reference:
            m.setattr(archives_module, "member_data", lambda tf, ti: (tf.extractfile(ti), None))
        bundle = open_bundle(path, limits)
        members = []
        rows = []
        try:
            for i, member in enumerate(bundle.members()):
                members.append((member.path, how(i, member.stream)))
                damage = damage_of(member.stream)
                if damage is not None:
                    rows.append((member.path, _shape(damage.message)))
        except Exception as exc:  # noqa: BLE001 - the input itself refused: the same on both sides
            rows.append(("raised", _shape(getattr(exc, "message", str(exc)))))
    return members, [(p.path, _shape(p.message)) for p in bundle.problems] + rows


def _whole(_i: int, stream: Any) -> bytes:
    return bytes(stream.read())


def _blocks(size: int) -> Callable[[int, Any], bytes]:
    """Read as the block parsers do: a head first, then blocks through :func:`replay`."""
    def read(_i: int, stream: Any) -> bytes:
        head = stream.read(size // 3)
        return b"".join(read_blocks(replay(head, stream), size, 1 << 16))
    return read


def _partly(i: int, stream: Any) -> bytes:
    """Every other member not read at all, the others read a little: the walk skips the rest."""
    return b"" if i % 2 else bytes(stream.read(700))


def _same(tmp_path: Path, data: bytes, suffix: str, monkeypatch: pytest.MonkeyPatch,
          how: Callable[[int, Any], bytes] = _whole, limits: Limits | None = None) -> tuple[list, list]:
    path = tmp_path / f"bundle.{suffix.replace(' ', '_')}"
    path.write_bytes(data)
    fast = _walk(path, False, monkeypatch, how, limits)
    ref = _walk(path, True, monkeypatch, how, limits)
    assert fast == ref
    return fast


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.bz2", "tar.xz", "tgz in tar", "tar in tar.gz"])
def test_members_of_every_size_read_as_tarfile_reads_them(kind: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = SIZES if kind in ("tar", "tar.gz") else [s for s in SIZES if s <= MiB + 1]
    entries = [(f"var/log/m{i}.log", _text(size, i)) for i, size in enumerate(sizes)]
    members, rows = _same(tmp_path, _pack(kind, _tar(entries)), kind, monkeypatch)
    got = {p.rsplit("/", 1)[-1]: data for p, data in members}
    assert all(got[name.rsplit("/", 1)[-1]] == data for name, data in entries), kind
    assert not rows


@pytest.mark.parametrize("block", [97, 4096, MiB, 4 * MiB])
def test_members_read_by_blocks_as_tarfile_reads_them(block: int, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [(f"var/log/m{i}.log", _text(size, i)) for i, size in enumerate(SIZES)]
    entries.append(("var/log/no-newline.log", b"x" * 70_000 + b"\n" + b"y" * 100))
    members, _ = _same(tmp_path, gzip.compress(_tar(entries), 1), "tar.gz", monkeypatch, _blocks(block))
    for (_, data), (_, got) in zip(entries, members, strict=True):
        assert got == b"".join(_blocks_before(io.BufferedReader(io.BytesIO(data)), block, 1 << 16))


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_and_pax_headers(fmt: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "var/log/" + "/".join(["d" * 40] * 4) + "/waagent.log"  # over 100 bytes: a GNU long name, a PAX path
    name = deep if fmt != tarfile.USTAR_FORMAT else "var/log/" + "d" * 80 + "/waagent.log"  # ustar's prefix field
    pax = {"comment": "x" * 3000, "mtime": "1700000000.5"} if fmt == tarfile.PAX_FORMAT else {}
    entries = [(name, _text(RECORD * 2 + 1, 1)), ("var/log/\u00e9t\u00e9.log", _text(5000, 2))]
    for kind in ("tar", "tar.gz"):
        members, rows = _same(tmp_path, _pack(kind, _tar(entries, fmt, **pax)), kind, monkeypatch)
        assert [data for _, data in members] == [data for _, data in entries] and not rows


def test_sparse_and_refused_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sparse members are read by tarfile (holes and all), links and devices refused, as before."""
    refused = b""
    for name, kind in (("var/log/link", tarfile.SYMTYPE), ("var/log/hard", tarfile.LNKTYPE),
                       ("dev/sda", tarfile.BLKTYPE), ("var/fifo", tarfile.FIFOTYPE), ("var/dir", tarfile.DIRTYPE)):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "var/log/waagent.log" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        refused += info.tobuf(tarfile.GNU_FORMAT)
    pax_sparse = tar_member("var/log/syslog", b"abcdefgh" * 64, tarfile.PAX_FORMAT,
                            **{"GNU.sparse.map": "0,256,1024,256", "GNU.sparse.size": "4096"})
    after = tar_member("var/log/waagent.log", _text(RECORD + 3, 3))
    tar = tar_of(old_gnu_sparse("var/log/lastlog", 2, b"z" * 700), refused, pax_sparse, after)
    for kind in ("tar", "tar.gz"):
        members, rows = _same(tmp_path, _pack(kind, tar), kind, monkeypatch)
        assert [p for p, _ in members] == ["var/log/lastlog", "var/log/syslog", "var/log/waagent.log"]
        assert members[-1][1] == _text(RECORD + 3, 3) and len(members[1][1]) == 4096
        assert {key for _, (key, _) in rows} >= {"intake.tar_symlink", "intake.tar_hardlink", "intake.tar_device"}


@pytest.mark.parametrize("how", [_partly, _blocks(4096)], ids=["partly", "blocks"])
def test_members_read_partly_or_not_at_all(how: Callable[[int, Any], bytes], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [(f"var/log/m{i}.log", _text(size, i)) for i, size in enumerate(SIZES)]
    for kind in ("tar", "tar.gz", "tar in tar.gz"):
        members, rows = _same(tmp_path, _pack(kind, _tar(entries)), kind, monkeypatch, how)
        assert len([p for p, _ in members if "/m" in p]) == len(entries) and not rows


def _cuts(total: int, data_at: list[int]) -> Iterator[int]:
    """Places to cut an archive: in and around headers, inside data, at record edges."""
    for at in data_at:
        yield from (at - 512, at - 100, at, at + 1, at + 511, at + 4000)
    yield from range(RECORD, total, RECORD)


def _data_offsets(tar: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        return [ti.offset_data for ti in tf]


def test_cut_archives_keep_every_byte_before_the_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same archive rows; every member tarfile's reading gave, and every byte of it the file still holds. Where
    the cut leaves a member only part of its first bytes, tarfile's reading lost the member in the sniff of its
    head (its row quoted the member's damage); this reading gives those bytes and says where they end."""
    entries = [(f"var/log/m{i}.log", _text(size, i)) for i, size in enumerate([600, RECORD + 5, 30_000, 513])]
    tar = _tar(entries)
    true = dict(entries)
    packed = gzip.compress(tar, 6)
    for cut in sorted({c for c in _cuts(len(tar), _data_offsets(tar)) if 0 < c < len(tar)}):
        for kind, data in (("tar", tar[:cut]), ("tar.gz", packed[: cut * len(packed) // len(tar)])):
            path = tmp_path / f"cut.{kind}"
            path.write_bytes(data)
            (fast, fast_rows), (ref, ref_rows) = (_walk(path, r, monkeypatch, _whole) for r in (False, True))
            assert [k for p, (k, _) in fast_rows if p not in true] == [k for p, (k, _) in ref_rows if p not in true]
            got = dict(fast)
            assert set(dict(ref)) <= set(got), (kind, cut)
            for p, before in ref:
                assert p not in true or len(got[p]) >= len(before), (kind, cut, p)
            damaged = {p for p, (k, _) in fast_rows if k == "intake.corrupt_data"}
            for p, piece in fast:
                if p in true:  # else cut inside the first header: a file that is no tar
                    assert true[p].startswith(piece) and (p in dict(ref) or p in damaged), (kind, cut, p)
            if kind == "tar":  # every byte of the member the file holds
                for (p, piece), at in zip(fast, _data_offsets(tar), strict=False):
                    assert p not in true or piece == true[p][: max(0, cut - at)], (cut, p)


@pytest.mark.parametrize("limits", [Limits(max_member_bytes=MiB + 100), Limits(max_total_bytes=3 * MiB)],
                         ids=["member", "total"])
def test_limits_while_a_member_is_read(limits: Limits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [(f"var/log/m{i}.log", _text(size, i)) for i, size in enumerate([MiB, 2 * MiB, 600, MiB + 99])]
    for kind in ("tar", "tar.gz"):
        members, rows = _same(tmp_path, _pack(kind, _tar(entries)), kind, monkeypatch, limits=limits)
        assert rows, kind
        true = dict(entries)
        assert all(true[p].startswith(data) for p, data in members)


def test_a_zip_after_the_tar_is_named_on_both_readings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tar = _tar([("var/log/waagent.log", _text(RECORD * 3, 1))]) + b"\0" * 8192
    other = zip_bytes({"var/log/waagent.log": b"something else\n"})
    _, rows = _same(tmp_path, gzip.compress(tar + other), "tar.gz", monkeypatch)
    assert "intake.polyglot" in [key for _, (key, _) in rows]


def test_a_tgz_of_the_usual_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tarfile``'s own writer (end padding to a whole record), with directories in between."""
    files = {"var/log/waagent.log": _text(3 * MiB + 17, 9), "var/lib/waagent/GoalState.1.xml": b"<x/>\n",
             "etc/waagent.conf": b""}
    members, rows = _same(tmp_path, tar_bytes(files), "tgz", monkeypatch)
    assert dict(members) == files and not rows


class _Pieces(io.RawIOBase):
    """A raw reader handing out its bytes in pieces of random sizes, uncopied."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = data
        self._pos = 0
        self._rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def read_uncopied(self, n: int) -> bytes:
        take = min(n, self._rng.choice([1, 7, 512, 5000, 70_000, 1 << 20]))
        out = self._data[self._pos:self._pos + take]
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        out = self.read_uncopied(len(b))
        b[: len(out)] = out
        return len(out)


def _blocks_before(stream: io.BufferedReader, size: int, max_line: int) -> Iterator[bytes]:
    """``read_blocks`` as it was before pieces: whole reads of ``size`` bytes, concatenated and sliced."""
    carry = b""
    dropping = False
    while data := stream.read(size):
        if dropping:
            nl = data.find(b"\n")
            if nl < 0:
                continue
            data, dropping = data[nl:], False
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n") + 1
        if cut:
            yield buf[:cut]
        carry = buf[cut:]
        if len(carry) > max_line:
            carry, dropping = carry[:max_line], True
    if carry:
        yield carry + b"\n"


@pytest.mark.parametrize("seed", range(12))
def test_blocks_from_pieces_are_the_blocks_of_whole_reads(seed: int) -> None:
    rng = random.Random(seed)
    lines = [b"y" * rng.choice([0, 1, 50, 300, 5000, 70_000]) for _ in range(300)]
    data = b"\n".join(lines) + (b"\n" if seed % 2 else b"")
    size, max_line = rng.choice([97, 4096, 65_536]), rng.choice([100, 4096, 1 << 16])
    head = data[: rng.choice([0, 10, size, 3 * size])]
    stream = io.BufferedReader(_Pieces(data[len(head):], seed), rng.choice([64, 4096, MiB]))
    stream.peek(1)  # the buffer holds bytes when the pieces start
    got = list(read_blocks(replay(head, stream), size, max_line))
    assert got == list(_blocks_before(io.BufferedReader(io.BytesIO(data)), size, max_line))


def test_uncopied_takes_the_buffered_bytes_first() -> None:
    data = bytes(range(256)) * 1000
    stream = io.BufferedReader(_Pieces(data, 1), 4096)
    first = stream.read(100)
    read = uncopied(stream)
    rest = b"".join(iter(lambda: read(3000), b""))
    assert first + rest == data


def test_the_data_is_read_under_tarfile_where_it_can() -> None:
    """Regular members in stream mode take the fast reading (so the comparisons above compare two readings);
    sparse ones, and a tar opened for random access, tarfile's."""
    sparse = tar_member("var/log/syslog", b"abcdefgh" * 64, tarfile.PAX_FORMAT,
                        **{"GNU.sparse.map": "0,256,1024,256", "GNU.sparse.size": "4096"})
    tar = tar_of(tar_member("a.log", _text(RECORD + 1, 1)), old_gnu_sparse("b", 1, b"z" * 700), sparse,
                 tar_member("c.log", b""))
    for mode, fast in (("r|", [True, False, False, True]), ("r:", [False] * 4)):
        with tarfile.open(fileobj=io.BytesIO(tar), mode=mode) as tf:
            seen = []
            for ti in tf:
                raw, data = member_data(tf, ti)
                seen.append(data is not None)
                whole = tarfile.open(fileobj=io.BytesIO(tar)).extractfile(ti.name)
                assert whole is not None and raw.read() == whole.read()
        assert seen == fast, mode
