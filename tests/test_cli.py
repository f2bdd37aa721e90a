"""The command line as a new user meets it (issue 14), through a real subprocess: outputs checked before any
work, ``-o -`` as standard output, exit codes a script can rely on, honest partial results and windows,
versions kept under --obfuscate, the help, NO_COLOR, the small tables. No run may end in a traceback."""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analyzer.detectors import all_detectors
from analyzer.model import Options, Verdict, say
from analyzer.report.wording import Wording
from tests.conftest import ROOT, unavailable
from tests.intake.intake_fixtures import seven_zip, tar_bytes, zip_bytes

SAMPLES = ROOT / "samples"
FAILING = SAMPLES / "linux-dhcp-failure"  # 3 findings at warning or above, a backup without a final status
HEALTHY = SAMPLES / "windows-healthy"
PROG = "bundle-analyze"


def cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        text: bool = True) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    proc = subprocess.run([sys.executable, "-m", "analyzer.cli", *map(str, args)], capture_output=True, text=text,
                          check=False, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300)
    err = proc.stderr if text else proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return proc


def _one_error_line(proc: subprocess.CompletedProcess, *words: str) -> str:  # type: ignore[type-arg]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PROG}: error: "), proc.stderr
    assert all(w in lines[0] for w in words), (words, lines[0])
    return lines[0]


def _noise(n: int = 4096, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def _sample_files(sample: Path) -> dict[str, bytes]:
    return {str(p.relative_to(sample)): p.read_bytes() for p in sorted(sample.rglob("*")) if p.is_file()}


# --- 1. outputs -------------------------------------------------------------------------------------
def _bad_destinations(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a-file").write_text("x")
    return {
        "missing folder": tmp_path / "no-such-folder" / "out.x",
        "a folder": tmp_path,
        "the current folder": Path("."),
        "under a file": tmp_path / "a-file" / "out.x",
        "read-only": Path("/proc/1/out.x"),  # procfs takes no new file, not even from root
        "writable bits, no new file": Path("/proc/out.x"),  # permission bits say yes to root; only trying tells
    }


@pytest.mark.parametrize("kind", ["missing folder", "a folder", "the current folder", "under a file", "read-only",
                                  "writable bits, no new file"])
def test_every_unusable_output_is_refused_first_with_one_line(tmp_path: Path, kind: str) -> None:
    bad = _bad_destinations(tmp_path)[kind]
    missing_input = tmp_path / "no-such-bundle.tgz"  # the output is checked before the input is even looked at
    for args in ([missing_input, "-o", bad], [missing_input, "-f", "html", "-o", bad],
                 ["render", tmp_path / "no-such-report.json", "-o", bad],
                 ["timeline", missing_input, "-o", bad]):
        _one_error_line(cli(*args, cwd=tmp_path), str(bad))
    tickets = tmp_path / "tickets"
    (tickets / "T1").mkdir(parents=True)
    (tickets / "T1" / "logs.tgz").write_bytes(tar_bytes(_sample_files(FAILING)))
    db = tmp_path / "good.sqlite"
    for args in (["--db", bad], ["--db", db, "--report", bad]):
        proc = cli("batch", tickets, *args, cwd=tmp_path)
        _one_error_line(proc, str(bad))
        assert not db.exists() and "[1/1]" not in proc.stderr  # refused before any bundle was analyzed


def test_an_output_ending_in_a_slash_names_a_folder_and_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bundle.tgz"  # refused while the options are read, before the input is looked at
    for args in ([missing, "-o", "out/"], ["render", missing, "-o", "out/"], ["timeline", missing, "-o", "out/"],
                 ["batch", tmp_path, "--db", "out/"], ["batch", tmp_path, "--db", "c.sqlite", "--report", "out/"]):
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and "out/: ends with a slash, so it names a folder" in proc.stderr, args
        assert not (tmp_path / "out").exists() and not (tmp_path / "c.sqlite").exists()


def test_render_of_a_file_that_is_no_json_report_says_so(tmp_path: Path) -> None:
    (tmp_path / "r.html").write_text("<!DOCTYPE html><html></html>")
    (tmp_path / "r.bin").write_bytes(_noise())
    for name in ("r.html", "r.bin"):
        _one_error_line(cli("render", tmp_path / name), name, "not a bundle-analyzer JSON report")


def test_an_export_path_taken_by_a_folder_is_refused_before_the_batch(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets"
    (tickets / "T1").mkdir(parents=True)
    (tickets / "T1" / "logs.tgz").write_bytes(tar_bytes(_sample_files(FAILING)))
    (tmp_path / "c.reports.csv").mkdir()
    proc = cli("batch", tickets, "--db", tmp_path / "c.sqlite", "--export", "csv")
    _one_error_line(proc, "c.reports.csv")
    assert not (tmp_path / "c.sqlite").exists()


def test_a_read_only_folder_is_refused_for_an_unprivileged_user(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root writes into a 0500 folder: run without the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            unavailable("running as root without setpriv (util-linux): cannot make a folder read-only")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]
    proc = subprocess.run([*prefix, sys.executable, "-m", "analyzer.cli", str(FAILING), "-o", str(ro / "r.html")],
                          capture_output=True, text=True, check=False, timeout=300)
    _one_error_line(proc, str(ro))


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_dash_is_standard_output_for_every_report_format(tmp_path: Path, fmt: str) -> None:
    proc = cli(FAILING, "-f", fmt, "-o", "-", cwd=tmp_path)
    assert proc.returncode == 1 and list(tmp_path.iterdir()) == []  # no file named "-"
    if fmt == "json":
        assert json.loads(proc.stdout)["verdict"]["root_cause"] == "DHCP_FAILURE"
    elif fmt == "html":
        assert proc.stdout.startswith("<!DOCTYPE html>") and proc.stdout.rstrip().endswith("</html>")
    else:
        assert proc.stdout.startswith("Verdict: Problems found")
    report = tmp_path.parent / f"{tmp_path.name}-r.json"
    report.write_text(cli(FAILING, "-f", "json").stdout, encoding="utf-8")
    again = cli("render", report, "-f", fmt, "-o", "-", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_dash_is_standard_output_for_the_timeline(tmp_path: Path, fmt: str) -> None:
    proc = cli("timeline", FAILING, "-f", fmt, "-o", "-", cwd=tmp_path, text=False)
    assert proc.returncode == 0 and list(tmp_path.iterdir()) == []
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(proc.stdout))
        assert table.num_rows == 28 and str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    elif fmt == "csv":
        assert proc.stdout.decode().splitlines()[0].startswith("ts,source,path,line")
    else:
        assert len([json.loads(line) for line in proc.stdout.decode().splitlines()]) == 28


def test_parquet_timeline_ts_is_a_timestamp(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    assert cli("timeline", FAILING, "-f", "parquet", "-o", out).returncode == 0
    table = pq.read_table(out)
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("line").type) == "int64"
    first = table.column("ts")[0].as_py()
    assert first == datetime(2024, 6, 9, 1, 47, 12, 412871, tzinfo=UTC)


# --- 2. exit codes ------------------------------------------------------------------------------------
def test_exit_codes_for_scripts(tmp_path: Path) -> None:
    assert cli(HEALTHY, "-q").returncode == 0
    assert cli(FAILING, "-q").returncode == 1
    assert cli(FAILING, "-q", "--fail-on", "critical").returncode == 0  # its findings are errors at most
    assert cli(FAILING, "-q", "--fail-on", "never").returncode == 0
    note = tmp_path / "notes.txt"
    note.write_text("Hello, please find the logs attached.\n")
    proc = cli(note)
    assert proc.returncode == 3 and "Inconclusive" in proc.stdout  # read, but nothing to judge


ARCHIVE_NAMES = {"x.tar.gz": "gzip", "x.tgz": "gzip", "x.gz": "gzip", "x.tar.bz2": "bzip2", "x.tar.xz": "xz",
                 "x.txz": "xz", "x.zip": "zip", "x.7z": "7z", "x.tar": "tar"}


@pytest.mark.parametrize("name", sorted(ARCHIVE_NAMES))
def test_bytes_that_are_not_the_archive_their_name_says_exit_2(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_noise(seed=len(name)))
    _one_error_line(cli(path), name, f"not a {ARCHIVE_NAMES[name]} archive")


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("logs.tar.zst", b"\x28\xb5\x2f\xfd", "zstd"), ("logs.rar", b"Rar!\x1a\x07\x01\x00", "RAR"),
    ("logs.tar.lz4", b"\x04\x22\x4d\x18", "LZ4"), ("logs.tar.gz", b"\x28\xb5\x2f\xfd", "zstd"),
    ("logs.tar.zst", b"", "zstd"), ("logs.cab", b"MSCF\x00\x00\x00\x00", "cabinet")])
def test_unsupported_compression_is_named(tmp_path: Path, name: str, head: bytes, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(head + _noise())
    _one_error_line(cli(path), name, kind, "not supported")


def test_unsupported_member_is_a_row_naming_it(tmp_path: Path) -> None:
    files = _sample_files(FAILING) | {"var/log/old.tar.zst": b"\x28\xb5\x2f\xfd" + _noise()}
    path = tmp_path / "b.tgz"
    path.write_bytes(tar_bytes(files))
    doc = json.loads(cli(path, "-f", "json").stdout)
    row = next(s for s in doc["sources"] if s["path"] == "var/log/old.tar.zst")
    assert row["status"] == "failed" and "zstd" in row["error"]


def test_real_archives_and_text_named_like_an_archive_are_still_read(tmp_path: Path) -> None:
    files = _sample_files(FAILING)
    (tmp_path / "b.zip").write_bytes(zip_bytes(files))
    (tmp_path / "b.tar.bz2").write_bytes(tar_bytes(files, "w:bz2"))
    seven_zip(tmp_path / "b.7z", files)
    (tmp_path / "waagent.log.gz").write_bytes(files["var/log/waagent.log"])  # plain text behind a .gz name
    for name in ("b.zip", "b.tar.bz2", "b.7z", "waagent.log.gz"):
        assert cli(tmp_path / name, "-q").returncode == 1, name


def _slow_folder(tmp_path: Path) -> Path:
    """A bundle whose reading takes seconds: thousands of small files before the agent log (read last)."""
    root = tmp_path / "slow"
    for i in range(3000):
        d = root / "aaa-notes" / f"{i // 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"note-{i:04d}.txt").write_text(f"note {i}\n" * 20)
    for rel, data in _sample_files(FAILING).items():
        (root / "zzz" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "zzz" / rel).write_bytes(data)
    return root


def test_timeout_gives_an_honest_partial_result_in_every_format(tmp_path: Path) -> None:
    bundle = _slow_folder(tmp_path)
    text = cli(bundle, "--timeout", "0.3")
    assert text.returncode == 3, text.stdout  # nothing wrong in what was read, but not everything was read
    assert "PARTIAL RESULT" in text.stdout and "--timeout" in text.stdout
    assert "zzz/var/log/waagent.log" in text.stdout  # named as not read...
    assert "Problems found" not in text.stdout and "Healthy" not in text.stdout
    missing = text.stdout.split("Missing evidence", 1)[-1].split("Sources", 1)[0]
    assert "waagent" not in missing  # ...so never asked for as missing
    doc = json.loads(cli(bundle, "--timeout", "0.3", "-f", "json").stdout)
    assert doc["verdict"]["status"] == "inconclusive" and doc["extras"]["partial"]["reason"] == "time"
    assert "zzz/var/log/waagent.log" in doc["extras"]["partial"]["unread"] or \
        doc["extras"]["partial"]["unread_count"] > len(doc["extras"]["partial"]["unread"])
    assert not [m for m in doc["missing_evidence"] if "waagent" in m["source"]]
    html = cli(bundle, "--timeout", "0.3", "-f", "html", "-o", "-").stdout
    assert 'id="partial"' in html and "Partial result" in html


# --- 3. the analysis window ----------------------------------------------------------------------------------
def test_a_window_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    line = _one_error_line(cli(FAILING, "--since", "2030-01-01"), "--since 2030-01-01T00:00:00Z")
    assert "2024-06-09T01:47:12" in line and "2024-06-10T08:03:51" in line  # what the bundle does hold
    _one_error_line(cli(FAILING, "--until", "2001-01-01T00:00Z"), "--until 2001-01-01T00:00:00Z")
    _one_error_line(cli(FAILING, "--since", "2024-06-10", "--until", "2024-06-01"), "after --until", "empty")
    _one_error_line(cli(FAILING, "--since", "yesterday"), "--since", "ISO-8601", "'yesterday'")
    for empty in ("", " "):  # an empty shell variable is a mistake to name, never "no limit"
        _one_error_line(cli(FAILING, "--until", empty), "--until: empty", "leave the option out")


def test_the_window_is_shown_in_every_format(tmp_path: Path) -> None:
    since = ("--since", "2024-06-10T01:00+01:00")  # an offset is honoured: 00:00 UTC
    text = cli(FAILING, *since).stdout
    assert "Analysis window: only records from 2024-06-10T00:00:00Z on (UTC) were judged" in text
    doc = json.loads(cli(FAILING, *since, "-f", "json").stdout)
    assert doc["extras"]["window"] == {"since": "2024-06-10T00:00:00Z", "until": None, "matched": True}
    html = cli(FAILING, *since, "-f", "html", "-o", "-").stdout
    assert 'id="window"' in html and "2024-06-10T00:00:00Z" in html
    cs = cli(FAILING, *since, "--lang", "cs").stdout
    assert "Časové okno rozboru: posuzovaly se jen záznamy od 2024-06-10T00:00:00Z" in cs


def test_options_take_window_strings_and_name_a_bad_one() -> None:
    o = Options(since="2024-06-10T02:00Z", until="2024-06-10T04:00:00+02:00")
    assert o.since == datetime(2024, 6, 10, 2, 0, tzinfo=UTC) and o.until == datetime(2024, 6, 10, 2, 0, tzinfo=UTC)
    assert Options(since=datetime(2024, 6, 10)).since == datetime(2024, 6, 10, tzinfo=UTC)  # naive is UTC
    with pytest.raises(ValueError, match=r"--since.*'yesterday'"):
        Options(since="yesterday")
    with pytest.raises(ValueError, match="after --until"):
        Options(since="2024-06-10", until="2024-06-09")
    with pytest.raises(ValueError, match="--until"):
        Options(until=12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="--since: empty"):
        Options(since="")


# --- 4. --obfuscate keeps versions ---------------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["linux-dhcp-failure", "linux-agent-outdated", "windows-agent-outdated",
                                    "windows-snapshot-timeout"])
def test_obfuscate_never_takes_a_version_for_an_address(sample: str) -> None:
    plain = json.loads(cli(SAMPLES / sample, "-f", "json").stdout)
    masked = json.loads(cli(SAMPLES / sample, "-f", "json", "--obfuscate").stdout)
    versions = {k: v for k, v in plain["extras"]["facts"].items() if "version" in k}
    assert versions and {k: masked["extras"]["facts"][k] for k in versions} == versions
    assert masked["bundle"]["agent_version"] == plain["bundle"]["agent_version"] is not None
    shown = json.dumps(masked)
    assert "<ip-" not in json.dumps(masked["extras"]["facts"]) and "<ip-" not in json.dumps(masked["bundle"])
    for f in masked["findings"]:  # a version a detector quotes in its sentences stays a version too
        for e in f["evidence"]:
            params = (e.get("message") or {}).get("params", {})
            assert "<ip-" not in str(params.get("version", "")), e
    assert all(v in shown for v in versions.values())


def test_json_report_carries_agent_and_extension_versions() -> None:
    linux = json.loads(cli(FAILING, "-f", "json").stdout)["bundle"]
    assert (linux["agent_version"], linux["extension_version"]) == ("2.9.1.1", "1.0.9220.0")
    windows = json.loads(cli(SAMPLES / "windows-snapshot-timeout", "-f", "json").stdout)["bundle"]
    assert (windows["agent_version"], windows["extension_version"]) == ("2.7.41491.1102", "1.0.92.0")
    none = json.loads(cli(SAMPLES / "linux-extensions-disabled", "-f", "json").stdout)["bundle"]
    assert none["extension_version"] is None


# --- 7. the smaller things -------------------------------------------------------------------------------------
def test_help_shows_the_path_form_and_h_works() -> None:
    for args in (["-h"], ["--help"]):
        proc = cli(*args)
        assert proc.returncode == 0 and f"Usage: {PROG} PATH [OPTIONS]" in proc.stdout
        assert f"{PROG} COMMAND [ARGS]" in proc.stdout and "Exit codes: 0" in proc.stdout
    for args in ([FAILING, "-h"], ["analyze", "-h"], ["timeline", "-h"], ["batch", "-h"], ["rules", "-h"]):
        proc = cli(*args)
        assert proc.returncode == 0 and "Usage:" in proc.stdout, args
    options = " ".join(cli(FAILING, "-h").stdout.split())
    assert re.search(rf"Usage: {PROG} analyze \[OPTIONS\] \{{?PATH\}}?", options), options
    assert "--no-redact" not in options and "--timeout SECONDS" in options and "'-' for standard output" in options


def test_no_redact_is_hidden_but_still_works() -> None:
    proc = cli(FAILING, "--no-redact", "-q")
    assert proc.returncode == 1 and "may contain secrets" in proc.stderr


def test_a_mistyped_command_is_named() -> None:
    _one_error_line(cli("rule"), "rule: no such file or folder", f"did you mean `{PROG} rules`")


_COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38)(?:;\d+)*m")


def test_no_color_is_honoured_on_a_terminal() -> None:
    coloured = cli(FAILING, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"}).stdout
    assert _COLOUR.search(coloured), "a terminal gets colours"
    plain = cli(FAILING, env={"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"}).stdout
    assert not _COLOUR.search(plain) and "Problems found" in plain


def test_rules_has_a_header_row_in_both_languages() -> None:
    en = cli("rules").stdout.splitlines()
    assert en[0].split() == ["finding", "id", "severity", "cause", "OS", "title"] and set(en[1]) == {"-"}
    assert len([line for line in en if line and not line.startswith((" ", "-"))]) == len(all_detectors()) + 1
    cs = cli("rules", "--lang", "cs").stdout.splitlines()
    assert cs[0].split()[:3] == ["id", "nálezu", "závažnost"]


def test_explain_shows_what_it_looks_for_without_internal_ids() -> None:
    for d in all_detectors():
        out = cli("explain", d.id).stdout
        if not d.signatures:
            assert "records it looks for" not in out
            continue
        looks_for = out.split("records it looks for:\n", 1)[-1].split("\n\n", 1)[0].splitlines()
        assert len(looks_for) == len(d.signatures), d.id
        for line, s in zip(looks_for, d.signatures, strict=True):  # severity, then what: never the signature's id
            assert line.split()[0] in ("critical", "error", "warning", "info"), line
            assert s.id in s.kinds or s.id not in line.split()[:2], line
            assert not s.pattern or f"/{s.pattern}/" in line, line


def test_eval_takes_a_single_sample_folder() -> None:
    proc = cli("eval", FAILING)
    assert proc.returncode == 0 and "over 1 samples" in proc.stdout


def test_verdict_line_names_the_root_cause_once_and_plurals_are_right() -> None:
    out = cli(FAILING).stdout
    assert out.count("Root cause:") == 1 and "3 findings at warning or above" in out
    assert "(s)" not in out
    cs = cli(FAILING, "--lang", "cs").stdout
    assert cs.count("Hlavní příčina:") == 1 and "3 nálezy se závažností" in cs
    w = Wording("en")
    one = Verdict("problems_found", "DHCP_FAILURE", [say("verdict.problems", id="DHCP_FAILURE", n=1)])
    assert w.summary(one, headline=True) == "1 finding at warning or above."
    assert Wording("cs").summary(one, headline=True) == "1 nález se závažností varování a vyšší."
    assert "(1 finding)" not in w.summary(one) and "1 finding at warning" in w.summary(one)


def test_sources_are_sorted_failed_then_empty_then_by_path(tmp_path: Path) -> None:
    files = _sample_files(FAILING) | {"var/log/Zeta.evtx": b"ElfFile\x00" + _noise(), "B/broken.zip": b"PK\x03\x04"}
    path = tmp_path / "b.tgz"
    path.write_bytes(tar_bytes(files))
    doc = json.loads(cli(path, "-f", "json").stdout)
    rank = {"failed": 0, "empty": 1}  # what went wrong, then members without records (missing evidence)
    keys = [(rank.get(s["status"], 2), s["path"].lower()) for s in doc["sources"]]
    assert keys == sorted(keys) and keys[0][0] == 0 and {k[0] for k in keys} == {0, 1, 2}
    text = cli(path).stdout.split("Sources (", 1)[1]
    positions = [text.index(s["path"][:25]) for s in doc["sources"]]  # long paths fold in the table
    assert positions == sorted(positions)
    html = cli(path, "-f", "html", "-o", "-").stdout.split('id="sources"', 1)[1]
    positions = [html.index(s["path"]) for s in doc["sources"]]
    assert positions == sorted(positions)


def test_intake_error_is_importable_where_users_look() -> None:
    from analyzer import IntakeError as Top
    from analyzer.intake import IntakeError
    from analyzer.intake.limits import IntakeError as Deep

    assert Top is IntakeError is Deep


# --- Ctrl-C at any moment of the start -----------------------------------------------------------------------
@pytest.mark.parametrize("after", [0.1, 0.2, 0.35, 0.6])
def test_ctrl_c_while_the_cli_starts_is_one_line_and_no_traceback(after: float) -> None:
    """The console script's module (``python -m analyzer``) catches Ctrl-C while the CLI's modules load too."""
    proc = subprocess.Popen([sys.executable, "-m", "analyzer", str(FAILING), "-f", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(after)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 1, -signal.SIGINT), (proc.returncode, err)  # 1: the analysis had finished
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Aborted" not in err, err
    if proc.returncode == 130:
        assert err.strip().endswith("interrupted"), err
