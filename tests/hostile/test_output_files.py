"""Every file the tool writes is created 0600 and never through a link (issue 15, "outputs"): the report (`-o`),
the timeline exports, the batch catalog, the fleet report with its bundle reports, and the table exports. A link
planted at any output path is refused with exit 2 and its target stays untouched; an export that fails half-way
leaves no file behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox

from analyzer.cli import app
from analyzer.export import export_timeline
from analyzer.output_file import OutputError, open_output
from tests.batch.bundles import bundle_files, write_tar_gz
from tests.intake.intake_fixtures import tar_bytes

SINGLE = [  # (arguments after the bundle path, output name)
    (["--format", "json"], "r.json"), (["--format", "html"], "r.html"), (["--format", "text"], "r.txt"),
    (["timeline", "--format", "csv"], "t.csv"), (["timeline", "--format", "jsonl"], "t.jsonl"),
    (["timeline", "--format", "parquet"], "t.parquet"),
]


def _invoke(args: list[str], bundle: Path, out: Path) -> int:
    cmd = ([args[0], str(bundle), *args[1:]] if args[0] == "timeline" else [str(bundle), *args]) + ["-o", str(out)]
    result = CliRunner().invoke(app, cmd)
    assert "Traceback" not in result.output, result.output
    return result.exit_code


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


@pytest.fixture
def bundle(sandbox: Sandbox) -> Path:
    return sandbox.write("b.tgz", tar_bytes({GOOD_PATH: GOOD_LOG}))


@pytest.mark.parametrize(("args", "name"), SINGLE, ids=[n for _, n in SINGLE])
def test_single_bundle_outputs_are_private_and_never_follow_a_link(sandbox: Sandbox, bundle: Path, args: list[str],
                                                                   name: str) -> None:
    old_umask = os.umask(0o022)
    try:
        out = sandbox.out / name
        assert _invoke(args, bundle, out) in (0, 1)
        assert _mode(out) == 0o600
        out.write_text("an older report")  # an existing regular file is replaced, still private
        os.chmod(out, 0o644)
        assert _invoke(args, bundle, out) in (0, 1)
        assert _mode(out) == 0o600 and out.read_bytes() != b"an older report"

        victim = sandbox.out / f"victim-{name}"
        victim.write_text("keep me")
        for target in (victim, sandbox.out / "missing-target"):  # a link to a file, and a dangling link
            link = sandbox.out / f"link-{name}"
            link.unlink(missing_ok=True)
            link.symlink_to(target)
            assert _invoke(args, bundle, link) == 2
            assert link.is_symlink() and victim.read_text() == "keep me"
            assert not (sandbox.out / "missing-target").exists()
        os.mkfifo(sandbox.out / f"fifo-{name}")
        assert _invoke(args, bundle, sandbox.out / f"fifo-{name}") == 2  # never opened: it would block
    finally:
        os.umask(old_umask)
    assert not [p for p in sandbox.out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_failed_export_leaves_no_file(sandbox: Sandbox, bundle: Path, fmt: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer import export

    def broken(e: object) -> dict[str, object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "row", broken)
    out = sandbox.out / f"t.{fmt}"
    with pytest.raises(RuntimeError):
        export_timeline(bundle, out, fmt)
    assert list(sandbox.out.iterdir()) == []


def test_open_output_refuses_links_folders_and_devices(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    for bad in (tmp_path / "dir", tmp_path / "link", Path("/dev/null"), tmp_path / "no-such-folder" / "x"):
        with pytest.raises(OutputError), open_output(bad) as f:
            f.write("x")
    assert not (tmp_path / "target").exists()


def _batch(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", *map(str, args), "--workers", "1"],
                          capture_output=True, text=True, timeout=300, check=False)


def test_batch_outputs_are_private_and_never_follow_a_link(tmp_path: Path) -> None:
    root = tmp_path / "tickets"
    write_tar_gz(root / "T1" / "logs.tar.gz", bundle_files("vm1"))
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    for name in ("db.sqlite", "fleet.html", "db.sqlite-wal"):
        (out / name).symlink_to(victim)
        args = ["--db", out / "db.sqlite"] + (["--report", out / "fleet.html"] if name == "fleet.html" else [])
        proc = _batch(root, *args)
        assert proc.returncode == 2 and "symbolic link" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and victim.read_text() == "keep me"
        (out / name).unlink()
    (out / "fleet_bundles").symlink_to(tmp_path)  # the folder of bundle reports
    proc = _batch(root, "--db", out / "db.sqlite", "--report", out / "fleet.html")
    assert proc.returncode == 2 and "fleet_bundles" in proc.stderr, proc.stderr
    (out / "fleet_bundles").unlink()

    old_umask = os.umask(0o022)
    try:
        proc = _batch(root, "--db", out / "db.sqlite", "--report", out / "fleet.html", "--export", "csv")
        assert proc.returncode == 0, proc.stderr
        proc = _batch(root, "--db", out / "db.sqlite", "--export", "parquet")
        assert proc.returncode == 0, proc.stderr
    finally:
        os.umask(old_umask)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".sqlite", ".html", ".csv", ".parquet"}
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert _mode(out / "fleet_bundles") == 0o700
