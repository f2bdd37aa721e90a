"""Every field of Limits is enforced while bytes are read (small limits, real archives)."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zipfile
from pathlib import Path

import pytest
from intake_fixtures import files, problems, read_all, seven_zip, tar_bytes, write, zip_bytes

from analyzer.api import parse_bundle
from analyzer.intake import IntakeError, LimitExceeded, Limits, open_bundle
from analyzer.intake.limits import BudgetExhausted
from analyzer.intake.streams import damage_of
from analyzer.locale import word
from analyzer.model import Options

MiB = 1 << 20


def test_member_count(tmp_path: Path) -> None:
    many = {f"var/log/x{i}.log": b"x\n" for i in range(30)}
    path = write(tmp_path / "many.tgz", tar_bytes(many))
    bundle = open_bundle(path, Limits(max_members=10))
    seen = []
    with pytest.raises(BudgetExhausted, match="max_members=10"):
        seen.extend(m.path for m in bundle.members())
    assert len(seen) == 10  # the members before the cap were handed out


def test_zip_entry_count_is_checked_before_zipfile_reads_the_directory(tmp_path: Path) -> None:
    path = write(tmp_path / "many.zip", zip_bytes({f"f{i}": b"" for i in range(50)}, zipfile.ZIP_STORED))
    with pytest.raises(LimitExceeded, match="declares 50 entries"):
        read_all(path, Limits(max_members=20))


def test_total_bytes(tmp_path: Path) -> None:
    # declared sizes: members that no longer fit are refused unread, smaller ones still fit
    entries = {"a.log": b"y" * 4000, "b.log": b"y" * 4000, "c.log": b"y" * 4000, "d.log": b"y" * 100}
    bundle, got = read_all(write(tmp_path / "b.tar", tar_bytes(entries, "w")), Limits(max_total_bytes=10_000))
    assert set(got) == {"a.log", "b.log", "d.log"}
    assert "max_total_bytes=10000" in problems(bundle)["c.log"]
    # actual bytes: gzip members declare only their compressed size; the budget stops the walk
    gz = {f"x{i}.log.gz": gzip.compress(b"y" * 4000) for i in range(5)}
    bundle = open_bundle(write(tmp_path / "g.tar", tar_bytes(gz, "w")), Limits(max_total_bytes=10_000))
    with pytest.raises(BudgetExhausted, match="max_total_bytes=10000"):
        for m in bundle.members():
            m.stream.read()


def test_member_bytes_declared_and_actual(tmp_path: Path) -> None:
    big = b"z" * 5000
    # declared: a tar header says 5000 bytes, over the cap: refused unread, the rest is read
    bundle, got = read_all(write(tmp_path / "b.tgz", tar_bytes({"big.log": big, "ok.log": b"ok\n"})),
                           Limits(max_member_bytes=4096))
    assert set(got) == {"ok.log"} and "max_member_bytes=4096" in problems(bundle)["big.log"]
    # actual: a gzip member declares nothing; the reader stops at the cap
    data = random.Random(7).randbytes(3 * MiB)
    bundle = open_bundle(write(tmp_path / "w.log.gz", gzip.compress(data)), Limits(max_member_bytes=2 * MiB))
    walk = bundle.members()  # the walk must stay alive while a member is read
    member = next(walk)
    assert len(member.stream.read()) <= 2 * MiB  # a parser gets what came before the cap, then the end
    damage = damage_of(member.stream)
    assert isinstance(damage, LimitExceeded)
    assert f"w.log: member exceeds max_member_bytes={2 * MiB}" in str(damage)


def test_gzip_bomb_stopped_by_ratio(tmp_path: Path) -> None:
    bomb = write(tmp_path / "waagent.log.gz", gzip.compress(b"\0" * (24 * MiB), 9))
    walk = open_bundle(bomb).members()
    member = next(walk)
    read = 0
    while chunk := member.stream.read(MiB):
        read += len(chunk)
    assert read < 24 * MiB and isinstance(damage_of(member.stream), LimitExceeded)
    assert "max_ratio=200" in str(damage_of(member.stream))


def test_zip_bomb_by_declared_ratio(tmp_path: Path) -> None:
    entries = {"bomb.log": b"\0" * (3 * MiB), "ok.log": b"fine\n"}
    bundle, got = read_all(write(tmp_path / "b.zip", zip_bytes(entries)), Limits(ratio_floor=64 * 1024))
    assert set(got) == {"ok.log"} and "zip bomb" in problems(bundle)["bomb.log"]


def test_7z_bomb_by_declared_ratio(tmp_path: Path) -> None:
    path = seven_zip(tmp_path / "b.7z", {"bomb.log": b"\0" * (3 * MiB)})
    with pytest.raises(LimitExceeded, match="7z declares"):
        read_all(path, Limits(ratio_floor=64 * 1024))


def _nest(depth: int) -> bytes:
    data = zip_bytes({"var/log/waagent.log": files()["var/log/waagent.log"]})
    for i in range(depth):
        data = zip_bytes({f"level{i}.zip": data, "marker.txt": b"m\n"})
    return data


def test_depth(tmp_path: Path) -> None:
    bundle, got = read_all(write(tmp_path / "deep.zip", _nest(6)), Limits(max_depth=3))
    assert not any(p.endswith("waagent.log") for p in got)
    assert any("nested beyond max_depth=3" in m for m in problems(bundle).values())
    _, got = read_all(write(tmp_path / "ok.zip", _nest(3)), Limits(max_depth=3))
    assert any(p.endswith("level0.zip/var/log/waagent.log") for p in got)


def test_tar_metadata_header_cap(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo("a" * 3000 + ".log")  # stored as a ././@LongLink header of 3001 bytes
        tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(IntakeError, match="max_meta_bytes=1024"):
        read_all(write(tmp_path / "long.tgz", buf.getvalue()), Limits(max_meta_bytes=1024))


@pytest.mark.parametrize("member", ["var/log/waagent.log", "var/log/syslog", "etc/waagent.conf",
                                    "var/log/azure/Microsoft.Azure.RecoveryServices.VMSnapshotLinux/extension.log",
                                    "WindowsAzure/Logs/WaAppAgent.log", "bcdr.reg", "System-events.txt"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_max_line_reaches_every_line_parser(tmp_path: Path, member: str, encoding: str) -> None:
    """Limits.max_line is the cut of every line-based parser (through the parse context), in any encoding."""
    path = tmp_path / "b" / member
    path.parent.mkdir(parents=True)
    long_line = "2024-06-10T02:00:00.000000Z INFO ExtHandler " + "x" * 3000
    path.write_bytes(f"{long_line}\nsecond line\n".encode(encoding))
    cut = [p for s in parse_bundle(tmp_path / "b", Options(limits=Limits(max_line=1024)))[0].sources
           for p in s.problems if "longer than 1024 bytes" in word(p)]
    assert len(cut) == 1, (member, encoding)
    default = parse_bundle(tmp_path / "b", Options())[0].sources
    assert not [p for s in default for p in s.problems if "longer than" in word(p)]


def test_max_line_reaches_the_block_scan_of_large_agent_logs(tmp_path: Path) -> None:
    record = "2024-06-10T02:00:00.000000Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState started\n"
    path = tmp_path / "b" / "var" / "log" / "waagent.log"
    path.parent.mkdir(parents=True)
    path.write_text(record * 20000 + "2024-06-10T03:00:00.000000Z INFO Daemon " + "y" * 3000 + "\n" + record)
    assert path.stat().st_size > 1 << 20  # the block path
    sources = parse_bundle(tmp_path / "b", Options(limits=Limits(max_line=1024)))[0].sources
    assert [word(p) for s in sources for p in s.problems] == ["1 line longer than 1024 bytes was truncated"]
