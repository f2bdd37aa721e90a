"""Canary test: secrets planted in every file type never leave the tool, in any output format.

Runs the real pipeline (intake, parsers, detectors) over a folder bundle, then searches the terminal
text, JSON, HTML (en and cs), the CLI's stdout and stderr, and the timeline CSV, JSONL and Parquet for
every canary, its base64 and its UTF-16 forms. A control run without redaction proves the canaries do
reach the outputs, so the test fails if redaction stops working.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from analyzer.api import analyze, parse_bundle
from analyzer.cli import app
from analyzer.export import export_timeline
from analyzer.model import Options
from analyzer.redact import Redactor
from analyzer.report import to_json
from analyzer.report.html import to_html
from analyzer.report.terminal import render_terminal
from analyzer.timeline import row
from tests.report.builders import validated
from tests.report.bundles import CANARIES, canary_bundle


def _forms(canary: str) -> list[str]:
    b64 = base64.b64encode(canary.encode()).decode().rstrip("=")
    return [canary, b64, canary.encode("utf-16-le").decode("latin-1")]


def _leaks(outputs: dict[str, str]) -> list[tuple[str, str]]:
    return [(fmt, name) for fmt, text in outputs.items() for name, canary in CANARIES.items()
            if any(form in text for form in _forms(canary))]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return canary_bundle(tmp_path_factory.mktemp("canary") / "bundle")


def _timeline_outputs(bundle: Path, out: Path, options: Options | None = None) -> dict[str, str]:
    texts = {}
    for fmt in ("csv", "jsonl", "parquet"):
        target = out / f"timeline.{fmt}"
        export_timeline(bundle, target, fmt, options)
        if fmt == "parquet":
            raw = target.read_bytes().decode("latin-1")
            texts["parquet-bytes"] = raw
            texts[fmt] = json.dumps(pq.read_table(target).to_pylist(), default=str)
        else:
            texts[fmt] = target.read_text(encoding="utf-8")
    return texts


def test_control_canaries_reach_the_pipeline(bundle: Path) -> None:
    """Without redaction the canaries are there: in the report, and in the timeline rows."""
    report = analyze(bundle, Options(redact=False))
    in_report = {name for _, name in _leaks({"json": to_json(report)})}
    analysis, _ = parse_bundle(bundle, Options(keep_all_events=True))
    try:
        rows = json.dumps([row(e) for e in analysis.timeline.events()], default=str)
    finally:
        analysis.timeline.close()
    in_rows = {name for _, name in _leaks({"rows": rows})}
    assert "member_name_sas" in in_report  # member paths are always in the report
    assert len(in_report | in_rows) >= 3, (in_report, in_rows)


@pytest.mark.parametrize("obfuscate", [False, True])
def test_no_canary_in_any_report_format(bundle: Path, obfuscate: bool) -> None:
    report = analyze(bundle, Options(obfuscate=obfuscate))
    validated(report)
    outputs = {
        "text": render_terminal(report, file=None) or "",
        "text-cs": render_terminal(report, lang="cs", file=None) or "",
        "json": to_json(report),
        "html": to_html(report),
        "html-cs": to_html(report, lang="cs"),
        "extras": json.dumps(report.extras, default=str),
    }
    assert _leaks(outputs) == []
    assert report.redactions["by_kind"].get("sas", 0) >= 1
    assert report.redactions["count"] >= 1
    assert "<redacted:sas>" in outputs["json"]


def test_no_canary_in_timeline_exports(bundle: Path, tmp_path: Path) -> None:
    outputs = _timeline_outputs(bundle, tmp_path)
    assert outputs["csv"].count("\n") > 5  # the logs were read
    assert _leaks(outputs) == []


def test_no_canary_through_the_cli(bundle: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = {}
    for args in (["--format", "text"], ["--format", "json"], ["--format", "html", "-o", str(tmp_path / "r.html")],
                 ["--format", "text", "--lang", "cs", "-o", str(tmp_path / "r.txt")],
                 ["timeline", "--format", "jsonl", "-o", str(tmp_path / "t.jsonl")]):
        cmd = [args[0], str(bundle), *args[1:]] if args[0] == "timeline" else [str(bundle), *args]
        result = runner.invoke(app, cmd)
        assert result.exit_code in (0, 1), result.output
        outputs[" ".join(args)] = result.stdout + result.stderr
    for name in ("r.html", "r.txt", "t.jsonl"):
        outputs[name] = (tmp_path / name).read_text(encoding="utf-8")
    assert outputs["--format text"].startswith("Verdict: Problems found")
    validated_doc = json.loads(outputs["--format json"])
    assert validated_doc["schema_version"] == "1"
    assert _leaks(outputs) == []


def test_every_canary_file_redacted_as_whole_text_and_line_by_line(bundle: Path) -> None:
    """Independent of what the parsers emit today: the raw content of every file, whole and per line."""
    raw_texts, redacted = {}, {}
    for path in bundle.rglob("*"):
        if not path.is_file() or path.suffix == ".prv":
            continue
        raw = path.read_bytes()
        text = raw.decode("utf-16") if raw[:2] == b"\xff\xfe" else raw.decode("utf-8")
        name = str(path.relative_to(bundle))
        raw_texts[name] = name + "\n" + text
        r = Redactor()
        redacted[f"{name}:whole"] = r.text(name) + r.text(text)
        redacted[f"{name}:lines"] = "\n".join(r.text(line) for line in text.splitlines())
    planted = {name for _, name in _leaks(raw_texts)}
    assert planted == set(CANARIES) - {"private_key_file"}
    assert _leaks(redacted) == []
