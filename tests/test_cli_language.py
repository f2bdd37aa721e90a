"""What the command line says on stderr is worded from the locale files in the command's language (``--lang``;
English for a command without it): errors of every kind, through a real subprocess, with their exit status
unchanged. Each error line is exactly the locale's sentence with the error's parameters, so no English of the
tool's own can reach a Czech user; the exceptions behind them keep an English ``str()`` for logs."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from analyzer.api import analyze
from analyzer.errors import MessageError
from analyzer.intake import IntakeError
from analyzer.locale import word
from analyzer.model import Message, Options, OptionsError, say
from analyzer.output_file import OutputError, check_output
from analyzer.report.stored import StoredReportError, load_report
from tests.intake.intake_fixtures import tar_bytes, zip_bytes
from tests.test_cli import FAILING, PROG, _sample_files, cli


def _error_line(message: Message, lang: str) -> str:
    return f"{PROG}: {word(say('cli.error', message=message), lang)}"


def _says(tmp_path: Path, args: list[str | Path], message: Message, code: int = 2) -> None:
    """The command fails with ``code`` and one line: ``message`` in Czech with ``--lang cs``, in English without."""
    lines = {}
    for lang in ("cs", "en"):
        proc = cli(*args, *(["--lang", "cs"] if lang == "cs" else []), cwd=tmp_path)
        assert proc.returncode == code, (lang, proc.returncode, proc.stderr)
        lines[lang] = proc.stderr.strip()
        assert lines[lang] == _error_line(message, lang), lang
    assert lines["cs"] != lines["en"] and lines["cs"].startswith(f"{PROG}: chyba: ")


def _corrupt_gzip(tmp_path: Path) -> Path:
    path = tmp_path / "logs.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    return path


def _cut_gzip(tmp_path: Path) -> Path:
    data = tar_bytes(_sample_files(FAILING))
    path = tmp_path / "cut.tgz"
    path.write_bytes(data[:12])
    return path


def _zip_without_directory(tmp_path: Path) -> Path:
    data = zip_bytes(_sample_files(FAILING))
    path = tmp_path / "logs.zip"
    path.write_bytes(data[: data.rfind(b"PK\x01\x02") - 7])
    return path


def _misnamed(tmp_path: Path) -> Path:
    path = tmp_path / "logs.zip"
    path.write_bytes(bytes(range(256)))
    return path


def _unsupported(tmp_path: Path) -> Path:
    path = tmp_path / "logs.tar.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(64))
    return path


def _encrypted_zip(tmp_path: Path) -> Path:
    data = bytearray(zip_bytes({"var/log/waagent.log": b"x" * 100}, zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # the encrypted flag in the local and the central header
        at = data.find(sig)
        flag = at + (6 if sig == b"PK\x03\x04" else 8)
        data[flag] |= 1
    path = tmp_path / "secret.zip"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make", [_corrupt_gzip, _cut_gzip, _zip_without_directory, _misnamed, _encrypted_zip,
                                  _unsupported])
def test_an_input_that_cannot_be_read_is_said_in_the_commands_language(tmp_path: Path,
                                                                        make: Callable[[Path], Path]) -> None:
    """Damaged, cut, misnamed and encrypted archives: intake's refusal, worded in Czech with ``--lang cs``."""
    path = make(tmp_path)
    with pytest.raises(IntakeError) as raised:
        analyze(path, Options())
    _says(tmp_path, [path.name], raised.value.message)


def test_a_missing_input_and_a_mistyped_command(tmp_path: Path) -> None:
    _says(tmp_path, ["nosuch.tgz"], say("intake.no_such_input", path="nosuch.tgz"))
    _says(tmp_path, ["rule"], say("cli.no_such_input_command", path="rule", command=f"{PROG} rules"))


def test_an_output_that_cannot_be_written(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "r.txt"
    _says(tmp_path, [FAILING, "-o", missing],
          say("output.folder_missing", path=str(missing), folder=str(missing.parent)))
    _says(tmp_path, [FAILING, "-f", "html", "-o", tmp_path],
          say("output.is_folder", path=str(tmp_path), example=str(tmp_path / "report.html")))
    (tmp_path / "link.html").symlink_to(tmp_path / "elsewhere.html")
    _says(tmp_path, ["render", FAILING / "expected.json", "-o", "link.html"], say("output.symlink", path="link.html"))


def test_an_unknown_finding_id(tmp_path: Path) -> None:
    _says(tmp_path, ["explain", "NO_SUCH_FINDING"], say("cli.unknown_finding", id="'NO_SUCH_FINDING'",
                                                         command=f"{PROG} rules"))


def test_a_window_that_matches_nothing_and_bad_times(tmp_path: Path) -> None:
    timeline = analyze(FAILING, Options()).timeline
    since = say("cli.window_bound", option="--since", time="2030-01-01T00:00:00Z")
    _says(tmp_path, [FAILING, "--since", "2030-01-01"],
          say("cli.window_unmatched", window=since, first=timeline["first"], last=timeline["last"]))
    _says(tmp_path, [FAILING, "--since", "2030-01-01", "--until", "2020-01-01"],
          say("option.window_inverted", since="2030-01-01T00:00:00Z", until="2020-01-01T00:00:00Z"))
    _says(tmp_path, [FAILING, "--until", ""], say("option.time_empty", option="--until"))
    _says(tmp_path, [FAILING, "--since", "yesterday"],
          say("option.time_invalid", option="--since", value="'yesterday'"))


def test_a_file_that_is_no_report_and_a_batch_on_one_bundle(tmp_path: Path) -> None:
    path = _corrupt_gzip(tmp_path)
    with pytest.raises(StoredReportError) as raised:
        load_report(path.read_bytes())
    _says(tmp_path, ["render", path.name], say("intake.at_path", path=path.name, problem=raised.value.message))
    _says(tmp_path, ["batch", path.name, "--db", "c.sqlite"], say("batch.one_bundle", path=path.name))


def test_a_trailing_slash_is_a_usage_error_in_the_commands_language(tmp_path: Path) -> None:
    """``--lang`` is read before the other options, so that their own errors are worded in it too."""
    for lang, first in (("cs", True), ("cs", False), ("en", True)):
        extra = ["--lang", lang]
        args = [*extra, FAILING, "-o", "out/"] if first else [FAILING, "-o", "out/", *extra]
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and word(say("cli.output_slash", path="out/"), lang) in proc.stderr, proc.stderr


def test_the_lines_beside_a_written_report_follow_the_language(tmp_path: Path) -> None:
    proc = cli(FAILING, "-f", "html", "-o", "r.html", "--lang", "cs", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.strip() == word(say("cli.report_written", path="r.html"), "cs")


@pytest.mark.parametrize("raise_it, error_type", [
    (lambda tmp: analyze(tmp / "nothing-here", Options()), IntakeError),
    (lambda tmp: check_output(tmp / "no" / "such" / "x.json"), OutputError),
    (lambda tmp: Options(since="not a time"), OptionsError),
    (lambda tmp: load_report(b"{}"), StoredReportError),
])
def test_errors_carry_a_message_and_say_it_in_english(tmp_path: Path, raise_it: Callable[[Path], object],
                                                       error_type: type[MessageError]) -> None:
    """An error of the pipeline is a key with parameters (worded where it is shown) and an English ``str()``."""
    with pytest.raises(error_type) as raised:
        raise_it(tmp_path)
    error = raised.value
    assert isinstance(error, MessageError) and isinstance(error.message, Message)
    assert str(error) == word(error.message, "en") != word(error.message, "cs")
