"""Every format and nesting case gives the same members, paths and bytes (real archives, built here)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
from pathlib import Path

import pytest
from intake_fixtures import digests, files, problems, read_all, seven_zip, tar_bytes, write, zip_bytes

from analyzer.intake import IntakeError, open_bundle
from analyzer.sources import detect_layout


def _folder(root: Path, entries: dict[str, bytes]) -> Path:
    for name, data in entries.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _bundles(tmp: Path) -> dict[str, Path]:
    e = files()
    tgz = tar_bytes(e)
    return {
        "folder": _folder(tmp / "folder", e),
        "tar": write(tmp / "b.tar", tar_bytes(e, "w")),
        "tar.gz": write(tmp / "b.tar.gz", tgz),
        "tar.bz2": write(tmp / "b.tar.bz2", tar_bytes(e, "w:bz2")),
        "tar.xz": write(tmp / "b.tar.xz", tar_bytes(e, "w:xz")),
        "zip": write(tmp / "b.zip", zip_bytes(e)),
        "7z": seven_zip(tmp / "b.7z", e),
        "zip-inside-tar.gz": write(tmp / "w.tar.gz", tar_bytes({"logs.zip": zip_bytes(e)})),
        "tar.gz-inside-zip": write(tmp / "ticket.zip", zip_bytes({"upload/logs.tar.gz": tgz})),
        "tar.gz-inside-7z": seven_zip(tmp / "ticket.7z", {"logs.tgz": tgz}),
        "no-suffix": write(tmp / "attachment", tgz),  # detected by magic bytes, not by name
    }


def test_same_members_in_every_format(tmp_path: Path) -> None:
    expected = digests(files())
    layouts = set()
    for kind, path in _bundles(tmp_path).items():
        bundle, got = read_all(path)
        assert got == expected, kind
        assert bundle.problems == [], kind
        assert sorted(bundle.member_paths) == sorted(expected), kind
        layouts.add(detect_layout(bundle.member_paths))
    assert layouts == {"manual-tarball"}


@pytest.mark.parametrize(("suffix", "compress"), [(".gz", gzip.compress), (".bz2", bz2.compress),
                                                  (".xz", lzma.compress)])
def test_single_compressed_file_is_one_member_without_the_suffix(tmp_path: Path, suffix: str, compress) -> None:
    log = files()["var/log/waagent.log"]
    _, got = read_all(write(tmp_path / f"waagent.log{suffix}", compress(log)))
    assert got == digests({"waagent.log": log})


def test_plain_file_is_a_one_member_bundle(tmp_path: Path) -> None:
    log = files()["var/log/waagent.log"]
    _, got = read_all(write(tmp_path / "waagent.log", log))
    assert got == digests({"waagent.log": log})


def test_empty_or_missing_input_raises(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match="empty"):
        read_all(write(tmp_path / "empty.zip", b""))
    with pytest.raises(IntakeError, match="no such file"):
        read_all(tmp_path / "missing.tar.gz")


def test_rotations_inside_a_tar_are_decompressed_and_stay_distinct(tmp_path: Path) -> None:
    log = files()["var/log/waagent.log"]
    entries = {"var/log/waagent.log": log, "var/log/waagent.log.1": log[:40],
               "var/log/waagent.log.2.gz": gzip.compress(log + b"two\n"),
               "var/log/waagent.log.3.xz": lzma.compress(log + b"three\n")}
    _, got = read_all(write(tmp_path / "b.tgz", tar_bytes(entries)))
    assert got == digests({"var/log/waagent.log": log, "var/log/waagent.log.1": log[:40],
                           "var/log/waagent.log.2": log + b"two\n", "var/log/waagent.log.3": log + b"three\n"})
    origins = [m.origin for m in open_bundle(tmp_path / "b.tgz").members()]
    assert "b.tgz!var/log/waagent.log.2.gz" in origins


def test_history_zips_inside_logs_zip_are_joined_to_their_path(tmp_path: Path) -> None:
    e = files()
    goal = e["var/lib/waagent/GoalState.1.xml"]
    history = zip_bytes({"GoalState.xml": goal, "ExtensionsConfig.xml": e["var/lib/waagent/ExtensionsConfig.9.xml"]})
    logs = {"var/log/waagent.log": e["var/log/waagent.log"], "results.txt": b"2024-01-05T12:00:00Z INFO x\n",
            "var/lib/waagent/history/2022-04-19T21-03-01__2.zip": history}
    bundle, got = read_all(write(tmp_path / "logs.zip", zip_bytes(logs)))
    h = "var/lib/waagent/history/2022-04-19T21-03-01__2.zip"
    assert set(got) == {"var/log/waagent.log", "results.txt", f"{h}/GoalState.xml", f"{h}/ExtensionsConfig.xml"}
    assert got[f"{h}/GoalState.xml"] == digests({"g": goal})["g"]
    assert detect_layout(bundle.member_paths) == "waagent-collect-logs"


def test_wrapper_with_more_than_one_file_prefixes_the_inner_archive(tmp_path: Path) -> None:
    e = files()
    ticket = zip_bytes({"logs.tar.gz": tar_bytes(e), "notes.txt": b"customer notes\n"})
    _, got = read_all(write(tmp_path / "ticket.zip", ticket))
    assert set(got) == {"notes.txt"} | {f"logs.tar.gz/{p}" for p in e}
    # the same rule for a tar read as a stream: an archive first, then another file
    tar = tar_bytes({"logs.zip": zip_bytes(e), "notes.txt": b"n\n"}, "w")
    _, got = read_all(write(tmp_path / "ticket.tar", tar))
    assert set(got) == {"notes.txt"} | {f"logs.zip/{p}" for p in e}


def test_duplicate_names_are_all_listed(tmp_path: Path) -> None:
    raw = tar_bytes({"var/log/waagent.log": b"first\n", "./var/log/waagent.log": b"second\n"}, "w")
    members = [(m.path, m.stream.read(), m.origin) for m in open_bundle(write(tmp_path / "d.tar", raw)).members()]
    assert members == [("var/log/waagent.log", b"first\n", "d.tar!var/log/waagent.log"),
                       ("var/log/waagent.log", b"second\n", "d.tar!var/log/waagent.log#2")]


def test_collector_truncated_names_and_windows_paths_are_normalized(tmp_path: Path) -> None:
    entries = {"truncated__var_log_syslog.1": b"Jan  5 12:00:00 vm kernel: x\n",
               "WindowsAzure\\Logs\\WaAppAgent.log": b"[00000001] [01/05/2024 12:00:00.00] x\n",
               "C/Packages/Plugins/x/SeqNumber.txt": b"3\n",
               "./etc/waagent.conf": b"Logs.Verbose=n\n",
               "C:\\WindowsAzure\\Logs\\Plugins\\x\\CommandExecution.log": b"a drive letter is dropped\n",
               "/tmp/abs.log": b"a rooted name is refused in archives\n"}
    bundle, got = read_all(write(tmp_path / "logs.zip", zip_bytes(entries)))
    assert set(got) == {"var/log/syslog.1", "WindowsAzure/Logs/WaAppAgent.log", "Packages/Plugins/x/SeqNumber.txt",
                        "etc/waagent.conf", "WindowsAzure/Logs/Plugins/x/CommandExecution.log"}
    assert "absolute member name" in problems(bundle)["/tmp/abs.log"]


def test_symlinks_in_a_folder_input_are_not_followed(tmp_path: Path) -> None:
    secret = write(tmp_path / "host-secret.txt", b"CANARY-host-file\n")
    root = _folder(tmp_path / "bundle", {"var/log/waagent.log": b"x\n"})
    (root / "var/log/syslog").symlink_to(secret)
    (root / "var/lib").symlink_to(tmp_path)
    bundle, got = read_all(root)
    assert set(got) == {"var/log/waagent.log"}
    assert set(problems(bundle)) == {"var/log/syslog", "var/lib"}
    shutil.rmtree(root)
