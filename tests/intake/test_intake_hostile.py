"""Hostile archives (security.md section 8): refused entries become rows, nothing is written anywhere."""

from __future__ import annotations

import gzip
import io
import os
import random
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import py7zr
import pytest
from intake_fixtures import WAAGENT_LOG, problems, read_all, seven_zip, tar_bytes, write, zip_bytes

from analyzer.intake import IntakeError, Limits, open_bundle
from analyzer.intake.streams import damage_of
from analyzer.locale import word


def _tar(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info in members:
            body = (data or {}).get(info.name)
            if body is not None:
                info.size = len(body)
            tf.addfile(info, io.BytesIO(body) if body is not None else None)
    return buf.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.fixture
def no_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in a fresh cwd; afterwards neither tmp_path nor the cwd holds anything new."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = sorted(tmp_path.rglob("*"))
    yield
    after = [p for p in tmp_path.rglob("*") if p not in before]
    assert all(p.parent == tmp_path and p.is_file() for p in after), after  # only the test's own inputs
    assert list(cwd.iterdir()) == []
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil-intake-test").exists()


def test_tar_traversal_absolute_links_devices(tmp_path: Path, no_writes: None) -> None:
    host = write(tmp_path / "host-canary.txt", b"CANARY-7f3e host file\n")
    members = [
        _info("../../evil"), _info("/tmp/evil-intake-test"),
        _info("lnk", tarfile.SYMTYPE, str(tmp_path)), _info("lnk/evil"),
        _info("rel", tarfile.SYMTYPE, "../../"), _info("rel/evil"),
        _info("var/log/waagent.log", tarfile.LNKTYPE, str(host)),
        _info("var/log/syslog", tarfile.SYMTYPE, "/etc/shadow"),
        _info("cur", tarfile.SYMTYPE, "."), _info("par", tarfile.SYMTYPE, "cur/.."), _info("par/moo"),
        _info("dev/zero", tarfile.CHRTYPE), _info("dev/sda", tarfile.BLKTYPE), _info("fifo", tarfile.FIFOTYPE),
        _info("good.log"),
    ]
    data = {"../../evil": b"x", "/tmp/evil-intake-test": b"x", "lnk/evil": b"through the link\n",
            "rel/evil": b"y", "par/moo": b"moo\n", "good.log": WAAGENT_LOG}
    path = write(tmp_path / "hostile.tar", _tar(members, data))
    bundle, got = read_all(path)
    rows = problems(bundle)
    assert set(got) == {"good.log", "lnk/evil", "rel/evil", "par/moo"}  # data only, never resolved
    assert "climbs out" in rows["../../evil"] and "absolute" in rows["/tmp/evil-intake-test"]
    for link in ("lnk", "rel", "var/log/syslog", "cur", "par"):
        assert "symbolic link" in rows[link] and "never followed" in rows[link]
    assert "hard link" in rows["var/log/waagent.log"]
    assert all("device or fifo" in rows[p] for p in ("dev/zero", "dev/sda", "fifo"))
    assert host.read_bytes() == b"CANARY-7f3e host file\n" and host.stat().st_nlink == 1


def _raw_name_zip(name: bytes, data: bytes = b"x\n") -> bytes:
    """A stored zip entry whose name is written byte for byte (zipfile's writer cuts names at NUL)."""
    placeholder = b"P" * len(name)
    raw = zip_bytes({placeholder.decode(): data}, zipfile.ZIP_STORED)
    return raw.replace(placeholder, name)


def test_zip_slip_names(tmp_path: Path, no_writes: None) -> None:
    entries = {"../../evil": b"x", "/tmp/evil-intake-test": b"x", "..\\..\\evil": b"x",
               "C:/../Windows/evil": b"x", "ok/../../evil": b"x", "var/log/waagent.log": WAAGENT_LOG}
    bundle, got = read_all(write(tmp_path / "slip.zip", zip_bytes(entries)))
    assert set(got) == {"var/log/waagent.log"}
    assert len(bundle.problems) == 5
    bundle, got = read_all(write(tmp_path / "nul.zip", _raw_name_zip(b"ok.log\x00/../../evil")))
    assert got == {} and "NUL" in word(bundle.problems[0].message)


def test_zip_unix_symlink_and_special_entries(tmp_path: Path, no_writes: None) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        link = zipfile.ZipInfo("var/log/waagent.log")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
        fifo = zipfile.ZipInfo("fifo")
        fifo.external_attr = (0o010644 << 16)
        zf.writestr(fifo, "")
        zf.writestr("good.log", WAAGENT_LOG)
    bundle, got = read_all(write(tmp_path / "links.zip", buf.getvalue()))
    rows = problems(bundle)
    assert set(got) == {"good.log"}
    assert "symbolic link" in rows["var/log/waagent.log"] and "fifo" in rows["fifo"]


def _encrypted_zip(entries: dict[str, bytes], aes: bool = False) -> bytes:
    """Set the encryption flag bit (zipfile cannot encrypt) in local and central headers, or method 99."""
    raw = bytearray(zip_bytes(entries, zipfile.ZIP_STORED))
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        pos = raw.find(sig)
        while pos >= 0:
            if aes:
                struct.pack_into("<H", raw, pos + method_at, 99)
            else:
                struct.pack_into("<H", raw, pos + flag_at, struct.unpack_from("<H", raw, pos + flag_at)[0] | 1)
            pos = raw.find(sig, pos + 4)
    return bytes(raw)


@pytest.mark.parametrize("aes", [False, True])
def test_encrypted_zip(tmp_path: Path, no_writes: None, aes: bool) -> None:
    enc = _encrypted_zip({"var/log/waagent.log": WAAGENT_LOG}, aes)
    with pytest.raises(IntakeError, match="encrypted archive: cannot be read without a password"):
        read_all(write(tmp_path / "enc.zip", enc))
    # nested: a row for the inner archive's entry, the rest is read
    bundle, got = read_all(write(tmp_path / "outer.zip", zip_bytes({"inner.zip": enc, "ok.log": b"ok\n"})))
    assert set(got) == {"ok.log"}
    assert "encrypted" in problems(bundle)["inner.zip/var/log/waagent.log"]


@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z(tmp_path: Path, no_writes: None, header_encryption: bool) -> None:
    path = seven_zip(tmp_path / "enc.7z", {"var/log/waagent.log": WAAGENT_LOG}, password="secret",
                     header_encryption=header_encryption)
    with pytest.raises(IntakeError, match="encrypted archive"):
        read_all(path)


def test_7z_ppmd_refused_before_decoding(tmp_path: Path, no_writes: None) -> None:
    path = seven_zip(tmp_path / "ppmd.7z", {"var/log/waagent.log": WAAGENT_LOG},
                     filters=[{"id": py7zr.FILTER_PPMD, "order": 6, "mem": 24}])
    with pytest.raises(IntakeError, match="PPMd refused"):
        read_all(path)
    bundle, got = read_all(write(tmp_path / "outer.tar", tar_bytes({"ppmd.7z": path.read_bytes(),
                                                                      "ok.log": b"ok\n"}, "w")))
    assert set(got) == {"ok.log"} and "PPMd refused" in problems(bundle)["ppmd.7z"]


def test_7z_traversal_name_refused_good_member_read(tmp_path: Path, no_writes: None) -> None:
    # 7z stores names in UTF-16LE inside the header: write a plain (not encoded) header, then patch a name
    with py7zr.SevenZipFile(tmp_path / "t2.7z", "w", header_encryption=False) as z:
        z.encoded_header_mode = False
        z.writestr(WAAGENT_LOG, "good.log")
        z.writestr(b"x", "AAAAAAAAAA")
    raw = (tmp_path / "t2.7z").read_bytes()
    bad = "../../evil".encode("utf-16-le")
    assert "AAAAAAAAAA".encode("utf-16-le") in raw
    raw = raw.replace("AAAAAAAAAA".encode("utf-16-le"), bad)
    # the header CRC must match the patched header
    next_off, next_size = struct.unpack_from("<QQ", raw, 12)
    header = raw[32 + next_off: 32 + next_off + next_size]
    fixed = bytearray(raw)
    struct.pack_into("<I", fixed, 28, zlib.crc32(header))
    struct.pack_into("<I", fixed, 8, zlib.crc32(bytes(fixed[12:32])))
    bundle, got = read_all(write(tmp_path / "slip.7z", bytes(fixed)))
    assert set(got) == {"good.log"}
    assert "climbs out" in problems(bundle)["../../evil"]


def test_overlapping_zip_entries_refused(tmp_path: Path, no_writes: None) -> None:
    """Two central-directory entries pointing at one local header: the quoted-overlap bomb shape."""
    raw = bytearray(zip_bytes({"a.log": b"A" * 1000, "b.log": b"B" * 1000}, zipfile.ZIP_DEFLATED))
    cd = raw.find(b"PK\x01\x02")
    second = raw.find(b"PK\x01\x02", cd + 4)
    struct.pack_into("<I", raw, second + 42, 0)  # b.log's local header offset -> a.log's
    with pytest.raises(IntakeError, match="overlapping zip entries"):
        read_all(write(tmp_path / "overlap.zip", bytes(raw)))


def test_zip_methods_outside_the_allow_list(tmp_path: Path, no_writes: None) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bz.log", WAAGENT_LOG, compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("xz.log", WAAGENT_LOG, compress_type=zipfile.ZIP_LZMA)
        zf.writestr("ok.log", WAAGENT_LOG)
    bundle, got = read_all(write(tmp_path / "m.zip", buf.getvalue()))
    rows = problems(bundle)
    assert set(got) == {"ok.log"}
    assert "method 12 not allowed" in rows["bz.log"] and "method 14 not allowed" in rows["xz.log"]


def test_truncated_archives_keep_what_was_read(tmp_path: Path, no_writes: None) -> None:
    noise = random.Random(3).randbytes(200_000)  # incompressible, so a cut lands inside the second member
    tgz = tar_bytes({"a.log": WAAGENT_LOG, "b.bin": noise, "c.log": WAAGENT_LOG})
    bundle, got = read_all(write(tmp_path / "cut.tgz", tgz[: len(tgz) * 6 // 10]))
    assert "a.log" in got and "c.log" not in got
    assert "corrupt or truncated" in " ".join(problems(bundle).values())

    walk_bundle = write(tmp_path / "waagent.log.gz", gzip.compress(WAAGENT_LOG * 2000)[:-300])
    walk = open_bundle(walk_bundle).members()
    member = next(walk)
    first = member.stream.readline()
    assert first == WAAGENT_LOG.splitlines(keepends=True)[0]
    assert damage_of(member.stream) is None
    rest = member.stream.read()  # every byte before the damage, then the end, as a file would
    assert WAAGENT_LOG * 100 in first + rest and member.stream.read() == b""
    assert "corrupt or truncated" in str(damage_of(member.stream))

    z = zip_bytes({"a.log": WAAGENT_LOG})
    with pytest.raises(IntakeError, match="corrupt zip"):
        read_all(write(tmp_path / "cut.zip", z[: len(z) - 30]))
    s = seven_zip(tmp_path / "full.7z", {"a.log": WAAGENT_LOG}).read_bytes()
    with pytest.raises(IntakeError, match="7z"):
        read_all(write(tmp_path / "cut.7z", s[: len(s) // 2]))
    plain = tar_bytes({"a.log": WAAGENT_LOG, "b.log": WAAGENT_LOG}, "w")
    with pytest.raises(IntakeError, match="not a readable tar archive"):
        read_all(write(tmp_path / "cut.tar", plain[:300]))


def test_corrupt_mid_archive_header_is_reported(tmp_path: Path, no_writes: None) -> None:
    raw = bytearray(tar_bytes({"a.log": b"a\n", "b.log": b"b\n", "c.log": b"c\n", "d.log": b"d\n"}, "w"))
    raw[1024 + 148: 1024 + 156] = b"0000000\0"  # b.log's header checksum: tarfile would stop silently
    bundle, got = read_all(write(tmp_path / "mid.tar", bytes(raw)))
    assert set(got) == {"a.log"}
    assert "unreadable header (bad checksum) after entry 1" in problems(bundle)["mid.tar"]


def test_deep_nesting_and_recursive_zip(tmp_path: Path, no_writes: None) -> None:
    data = tar_bytes({"var/log/waagent.log": WAAGENT_LOG})
    for i in range(40):
        data = tar_bytes({f"l{i}.tgz": data, "x.txt": b"x\n"})
    bundle, got = read_all(write(tmp_path / "deep.tgz", data), Limits(max_depth=3))
    assert len(got) == 4 and any("nested beyond max_depth=3" in m for m in problems(bundle).values())


def test_cli_exits_2_on_an_encrypted_zip(tmp_path: Path, no_writes: None) -> None:
    enc = write(tmp_path / "enc.zip", _encrypted_zip({"var/log/waagent.log": WAAGENT_LOG}))
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", str(enc), "--format", "json"],
                          check=False, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 2, proc.stderr
    assert "encrypted archive: cannot be read without a password" in proc.stderr
    assert proc.stdout == ""
