"""A bundle cut short (a partial download, a full disk while the customer packed it): every byte before the damage
is analyzed, the member's row says where reading ended, and the damage is named by the file the bundle holds."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import re
import tarfile
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.locale import word
from analyzer.model import RenderOptions
from analyzer.report import render
from tests.intake.intake_fixtures import tar_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
_ISO = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


def _files(sample: str, filler_lines: int) -> dict[str, bytes]:
    """The sample's files, its waagent.log last and followed by routine records of its last moment (hex noise in
    each, so that the compressed bundle is mostly that log and a cut lands inside it)."""
    root = SAMPLES / sample
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
             if p.is_file() and p.name not in ("README.md", "expected.json")}
    log = files.pop("var/log/waagent.log")
    ts = _ISO.findall(log)[-1].decode()
    rng = random.Random(sample)
    routine = f"{ts} INFO ExtHandler ExtHandler Checking for agent updates (family: Prod)"
    filler = "".join(f"{routine} {rng.randbytes(24).hex()}\n" for _ in range(filler_lines))
    files["var/log/waagent.log"] = log + filler.encode()
    return files


def _pack(kind: str, files: dict[str, bytes]) -> bytes:
    if kind == "tgz":
        return tar_bytes(files)
    plain = tar_bytes(files, "w")
    if kind == "tar.bz2":
        return bz2.compress(plain)
    if kind == "tar.xz":
        return lzma.compress(plain)
    # a ticket's outer tar holding the customer's tgz
    return tar_bytes({"ticket/logs.tgz": tar_bytes(files)}, "w")


def _root_cause(path: Path) -> tuple[str | None, dict[str, dict[str, object]]]:
    report = analyze(path)
    return report.verdict.root_cause, {s.path: {"status": s.status, "events": s.events, "note": s.note,
                                                "error": word(s.error) if s.error else ""} for s in report.sources}


@pytest.mark.parametrize("kind", ["tgz", "tar.bz2", "tar.xz", "nested"])
@pytest.mark.parametrize("sample", ["linux-dhcp-failure", "linux-snapshot-limit"])
def test_a_cut_bundle_is_analyzed_up_to_the_damage(tmp_path: Path, sample: str, kind: str) -> None:
    expected = json.loads((SAMPLES / sample / "expected.json").read_text())["root_cause"]
    data = _pack(kind, _files(sample, 30_000))
    whole = tmp_path / f"whole.{'tar' if kind == 'nested' else kind}"
    whole.write_bytes(data)
    cut = tmp_path / f"cut.{'tar' if kind == 'nested' else kind}"
    if kind == "nested":  # cut the inner tgz: the outer tar stays whole, its member is damaged
        inner = tarfile.open(fileobj=io.BytesIO(data)).extractfile("ticket/logs.tgz").read()  # type: ignore[union-attr]
        data = tar_bytes({"ticket/logs.tgz": inner[: len(inner) * 3 // 4]}, "w")
    else:
        data = data[: len(data) * 3 // 4]
    cut.write_bytes(data)

    root, rows = _root_cause(whole)
    assert root == expected
    cut_root, cut_rows = _root_cause(cut)
    assert cut_root == expected, cut_rows
    (log,) = [p for p in cut_rows if p.endswith("var/log/waagent.log")]
    row = cut_rows[log]
    assert row["status"] == "parsed" and row["note"] is not None and row["note"].key == "source.read_until_damage"
    assert "corrupt or truncated" in str(row["error"])
    whole_events = rows[log]["events"]
    assert isinstance(whole_events, int) and 0 < row["events"] < whole_events  # type: ignore[operator]
    named = " ".join(str(r["error"]) for r in cut_rows.values())
    damaged = "ticket/logs.tgz" if kind == "nested" else cut.name
    assert damaged in named and f"{damaged.rsplit('.', 1)[0]}.tar:" not in named  # the file the bundle holds


def test_a_cut_single_log_gz_keeps_its_lines(tmp_path: Path) -> None:
    data = gzip.compress(_files("linux-wireserver-blocked", 30_000)["var/log/waagent.log"])
    whole = tmp_path / "whole" / "waagent.log.gz"
    whole.parent.mkdir()
    whole.write_bytes(data)
    path = tmp_path / "waagent.log.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    root, rows = _root_cause(path)
    assert root == _root_cause(whole)[0] == "WIRESERVER_UNREACHABLE"
    (row,) = [r for p, r in rows.items() if p.endswith("waagent.log")]
    assert row["status"] == "parsed" and "waagent.log.gz: corrupt or truncated" in str(row["error"])


@pytest.mark.parametrize("kind", ["tgz", "tar.xz", "nested", "log.gz"])
@pytest.mark.parametrize("sample", ["linux-healthy-old-failure", "linux-dhcp-failure"])
def test_a_cut_bundle_is_a_partial_result_never_healthy(tmp_path: Path, sample: str, kind: str) -> None:
    """What a damaged or cut bundle holds after the damage is unknown: the report says so in every format, and the
    part read never makes a VM healthy (a problem it shows is still named)."""
    files = _files(sample, 30_000)
    data = gzip.compress(files["var/log/waagent.log"]) if kind == "log.gz" else _pack(kind, files)
    if kind == "nested":
        inner = tarfile.open(fileobj=io.BytesIO(data)).extractfile("ticket/logs.tgz").read()  # type: ignore[union-attr]
        data = tar_bytes({"ticket/logs.tgz": inner[: len(inner) * 3 // 4]}, "w")
    else:
        data = data[: len(data) * 3 // 4]
    cut = tmp_path / f"cut.{'tar' if kind == 'nested' else kind}"
    cut.write_bytes(data)
    report = analyze(cut)
    partial = report.extras["partial"]
    assert partial["reason"] == "damaged" and partial["damaged"], partial
    member = "cut.log" if kind == "log.gz" else "ticket/logs.tgz" if kind == "nested" else "var/log/waagent.log"
    assert any(p.endswith(member) for p in partial["damaged"]), partial
    assert partial["unread_count"] == (0 if kind == "log.gz" else None)  # a cut member alone: the rest is whole
    expected = json.loads((SAMPLES / sample / "expected.json").read_text())["root_cause"]
    if expected is None:
        assert report.verdict.status == "inconclusive"
    else:
        assert report.verdict.root_cause == expected
    for fmt, lang in (("json", "en"), ("html", "cs"), ("text", "en")):
        text = render(report, RenderOptions(format=fmt, lang=lang))
        assert ("damaged" in text or "poškozen" in text), fmt


@pytest.mark.parametrize("kind", ["tgz", "log.gz"])
def test_a_reading_stopped_at_a_limit_is_not_called_damaged(tmp_path: Path, kind: str) -> None:
    """A log so repetitive that it inflates past max_ratio (a decompression bomb's shape) stops at that limit: its
    row says so, and the report does not ask for the bundle again as if it were damaged."""
    line = b"2024-06-10T02:00:00.000000Z WARNING ExtHandler ExtHandler Fetch failed: [HttpError] " + b"x" * 65_000
    log = line + b"\n" + (line + b"\n") * 400
    data = gzip.compress(log, 9) if kind == "log.gz" else tar_bytes({"var/log/waagent.log": log})
    path = tmp_path / ("waagent.log.gz" if kind == "log.gz" else "bomb.tgz")
    path.write_bytes(data)
    report = analyze(path)
    assert "partial" not in report.extras or report.extras["partial"]["reason"] != "damaged"
    (row,) = [s for s in report.sources if s.path.endswith("waagent.log")]
    assert row.note is not None and row.note.key == "source.read_until_limit"
