"""Builders for the adversarial corpus of security.md section 8, and a CLI runner with its oracles.

Everything is generated in the test's tmp_path; nothing binary is checked in. A hostile member is
always put beside :data:`GOOD_LOG` so the tests can show that the rest of the bundle was analyzed.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from analyzer.report import to_dict
from tests.conftest import ROOT

GOOD_PATH = "var/log/waagent.log"
GOOD_LOG = (
    b"2024-01-05T12:00:00.000000Z INFO Daemon Daemon Azure Linux Agent Version: 2.9.1.1\n"
    b"2024-01-05T12:00:05.000000Z WARNING ExtHandler ExtHandler Fetch failed: [HttpError] [HTTP Failed] GET "
    b"http://168.63.129.16/machine/?comp=goalstate -- IOError timed out -- 6 attempts made\n"
)
MiB = 1 << 20
GiB = 1 << 30
CLI_MEMORY = 1536 * MiB  # RLIMIT_AS for the bomb cases


def with_good_log(entries: dict[str, bytes]) -> dict[str, bytes]:
    return {GOOD_PATH: GOOD_LOG, **entries}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))


def run_cli(args: list[str], sandbox: Sandbox, memory_limit: bool = False) -> subprocess.CompletedProcess[str]:
    """``bundle-analyze ARGS`` in a child with TMPDIR/HOME in the sandbox and, optionally, RLIMIT_AS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(sandbox.tmp), "HOME": str(sandbox.home)}
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], check=False, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, env=env, cwd=sandbox.cwd, timeout=900,
                          preexec_fn=_limit_memory if memory_limit else None)


def _no_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def json_report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The strict-JSON report a ``--format json`` run wrote to stdout (exit 0 or 1, no traceback)."""
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    proc.stdout.encode("utf-8")
    report: dict[str, Any] = json.loads(proc.stdout, parse_constant=_no_constant)
    return report


def source(report: dict[str, Any] | Any, path: str) -> dict[str, Any]:
    """The one ``sources`` row of member ``path`` (from a report dict or a Report), worded as the JSON report."""
    rows = report["sources"] if isinstance(report, dict) else to_dict(report)["sources"]
    found = [r for r in rows if r["path"] == path]
    assert len(found) == 1, (path, rows)
    return found[0]


def assert_good_log_analyzed(report: dict[str, Any] | Any) -> None:
    row = source(report, GOOD_PATH)
    assert row["status"] == "parsed" and row["events"] == 2, row


class Sandbox:
    """The folders of one hostile run: inputs, outputs, a private TMPDIR, HOME and working directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.inputs = base / "in"
        self.out = base / "out"
        self.tmp = base / "tmp"
        self.home = base / "home"
        self.cwd = base / "cwd"
        for d in (self.inputs, self.out, self.tmp, self.home, self.cwd):
            d.mkdir()

    def write(self, name: str, data: bytes) -> Path:
        path = self.inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def check_nothing_escaped(self) -> None:
        """Only inputs and outputs were created; TMPDIR, HOME and the working directory stay empty."""
        for d in (self.tmp, self.home, self.cwd):
            assert list(d.iterdir()) == [], (d.name, list(d.iterdir()))
        assert sorted(p.name for p in self.base.iterdir()) == ["cwd", "home", "in", "out", "tmp"]
        assert not (self.base / "evil").exists()


def overlap_zip(entries: int = 1000, kernel_bytes: int = 10 * MiB) -> bytes:
    """David Fifield's full-overlap bomb: every central-directory entry points at one deflate kernel."""
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = comp.compress(b"\0" * kernel_bytes) + comp.flush()
    crc = zlib.crc32(b"\0" * kernel_bytes)
    name = b"var/log/syslog"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(kernel), kernel_bytes,
                        len(name), 0) + name
    central = b"".join(
        struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(kernel), kernel_bytes,
                    len(name), 0, 0, 0, 0, 0, 0) + name
        for _ in range(entries))
    cd_offset = len(local) + len(kernel)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), cd_offset, 0)
    return local + kernel + central + end


def many_entries_tgz(first: dict[str, bytes], directories: int) -> bytes:
    """A tgz with ``first`` and then ``directories`` empty directory entries (cheap, header-only members)."""
    raw = bytearray()
    for name, data in first.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        raw += info.tobuf(tarfile.GNU_FORMAT) + data.ljust(-(-len(data) // 512) * 512, b"\0")
    template = tarfile.TarInfo("d/0")
    template.type = tarfile.DIRTYPE
    block = bytearray(template.tobuf(tarfile.GNU_FORMAT))
    for i in range(directories):  # patch the name and checksum of one header: TarInfo.tobuf is too slow here
        block[0:100] = f"d/{i}".encode().ljust(100, b"\0")
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\0 " % sum(block)
        raw += block
    raw += b"\0" * 1024
    return gzip.compress(bytes(raw), 1)


def zeros_gzip(total: int, piece: int = 16 * MiB) -> bytes:
    """``total`` bytes of zeros as concatenated gzip members (gzip reads them as one stream); cheap to build."""
    member = gzip.compress(b"\0" * piece, 9)
    return member * (total // piece)


def sparse_tar(real_size: int) -> bytes:
    """A 10 KB tar holding one PAX GNU sparse 1.0 member (``var/log/syslog``) of apparent size ``real_size``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        sparse_map = b"1\n0\n0\n".ljust(512, b"\0")  # one hole-only region: no data at all
        info = tarfile.TarInfo("var/log/GNUSparseFile.0/syslog")
        info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "var/log/syslog",
                            "GNU.sparse.realsize": str(real_size)}
        info.size = len(sparse_map)
        tf.addfile(info, io.BytesIO(sparse_map))
    return buf.getvalue()


def _checksum(block: bytearray) -> bytearray:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return block


def old_gnu_sparse(name: str, extension_blocks: int, data: bytes = b"") -> bytes:
    """An old-GNU sparse member (type 'S', as ``tar --sparse -H gnu`` writes it): one map entry in the header, then
    ``extension_blocks`` blocks of 21 more map entries each, then ``data`` (what the map's regions hold)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT)[:512])
    block[156:157] = b"S"
    block[386:410] = b"%011o\0%011o\0" % (0, len(data))  # the first region: all the data, at offset 0
    block[482] = 1 if extension_blocks else 0
    block[483:495] = b"%011o\0" % (len(data) + 1024 * extension_blocks)  # the real size, holes included
    out = bytearray(_checksum(block))
    ext = bytearray(512)
    for i in range(21):
        ext[24 * i:24 * i + 24] = b"%011o\0%011o\0" % (1024 * (i + 1), 1)
    for n in range(extension_blocks):
        ext[504] = 1 if n + 1 < extension_blocks else 0
        out += ext
    return bytes(out) + data.ljust(-(-len(data) // 512) * 512, b"\0")


def tar_of(*blocks: bytes, end: bool = True) -> bytes:
    """Raw tar member blocks, with the end-of-archive zeros unless ``end`` is false."""
    return b"".join(blocks) + (b"\0" * 1024 if end else b"")


def tar_member(name: str, data: bytes, fmt: int = tarfile.GNU_FORMAT, **pax: str) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.pax_headers = pax
    return info.tobuf(fmt) + data.ljust(-(-len(data) // 512) * 512, b"\0")


def pax_header(payload: bytes, kind: bytes = tarfile.XHDTYPE) -> bytes:
    """A raw PAX header block (extended ``x`` or global ``g``) carrying ``payload`` as it is, well-formed or not."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = kind
    info.size = len(payload)
    return info.tobuf(tarfile.USTAR_FORMAT) + payload + b"\0" * (-len(payload) % 512)


def _7z_number(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else b"\xff" + n.to_bytes(8, "little")


def sevenzip_declaring(files: int, encoded: bool = True, folders: int = 0) -> bytes:
    """A 7z whose header declares ``files`` empty entries (and ``folders`` empty folders), written by hand: a
    few KB, whatever the count, when the header is LZMA-encoded as 7-Zip writes it."""
    import lzma
    import zlib

    streams = b""
    if folders:  # folders of one LZMA coder each, with no pack streams behind them
        coder = b"\x01\x23\x03\x01\x01\x05\x5d\x00\x00\x01\x00"
        streams = (b"\x04\x07\x0b" + _7z_number(folders) + b"\x00" + coder * folders + b"\x0c"
                   + b"\x00" * folders + b"\x00\x00")
    bits = b"\xff" * (files // 8) + (bytes([(0xFF << (8 - files % 8)) & 0xFF]) if files % 8 else b"")
    padding = b"\x19" + _7z_number(files) + b"\x00" * files  # a dummy property: py7zr wants a header byte per entry
    header = (b"\x01" + streams + b"\x05" + _7z_number(files) + b"\x0e" + _7z_number(len(bits)) + bits + padding
              + b"\x00\x00")
    packed = b""
    if encoded:
        comp = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 16}])
        packed = comp.compress(header) + comp.flush()
        folder = b"\x01\x23\x03\x01\x01\x05\x5d\x00\x00\x01\x00"
        header = (b"\x17\x06\x00\x01\x09" + _7z_number(len(packed)) + b"\x00\x07\x0b\x01\x00" + folder + b"\x0c"
                  + _7z_number(len(header)) + b"\x00\x00")
    start = struct.pack("<QQI", len(packed), len(header), zlib.crc32(header))
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start + packed + header
