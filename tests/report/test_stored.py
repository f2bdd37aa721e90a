"""A stored JSON report renders again, in any format and language, exactly as the analysis rendered
directly (``bundle-analyze render``); reports written before the neutral form still render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.api import analyze
from analyzer.cli import app
from analyzer.evaluate import sample_dirs
from analyzer.model import RenderOptions, Report
from analyzer.report import render, to_json
from analyzer.report.stored import StoredReportError, load_report
from tests.conftest import ROOT
from tests.report.builders import sample_report, validated

SAMPLES = sample_dirs(ROOT / "samples")
FORMATS = ("text", "json", "html")


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return {p.name: analyze(p) for p in SAMPLES}


@pytest.mark.parametrize("stored_in", ["en", "cs"])
def test_every_sample_renders_from_its_json_as_analyzed_directly(reports: dict[str, Report], stored_in: str) -> None:
    for name, report in reports.items():
        stored = load_report(to_json(report, stored_in))
        for lang in ("en", "cs"):
            for fmt in FORMATS:
                options = RenderOptions(format=fmt, lang=lang)
                assert render(stored, options) == render(report, options), (name, stored_in, lang, fmt)


def test_built_report_with_every_kind_of_message_round_trips() -> None:
    report = sample_report()
    for lang in ("en", "cs"):
        doc = validated(report)
        again = load_report(json.dumps(doc))
        assert render(again, RenderOptions("html", lang)) == render(report, RenderOptions("html", lang))
        assert to_json(again, lang) == to_json(report, lang)


def test_a_report_written_before_the_neutral_form_still_renders() -> None:
    doc = json.loads(to_json(sample_report(), "cs"))
    doc.pop("lang"), doc.pop("extras")
    doc["verdict"].pop("messages")
    for f in doc["findings"]:
        for key in ("notes", "records", "live_records", "texts"):
            f.pop(key, None)
        for e in f["evidence"]:
            e.pop("message")
    for m in doc["missing_evidence"]:
        m.pop("message")
    for s in doc["sources"]:
        s.pop("note"), s.pop("detail"), s.pop("detail_message"), s.pop("problem_messages")
    old = load_report(doc)
    text = render(old, RenderOptions("text", "en"))
    assert "řádek 7: neplatné časové razítko" in text  # a problem as written, in the language it was written in
    assert "EvtxError: bad chunk" in render(old, RenderOptions("html", "en"))
    assert doc["verdict"]["summary"] in text  # its own words, in the language it was written in
    assert doc["missing_evidence"][0]["why"] in text
    assert "The VM cannot reach the Azure WireServer" in text  # known ids are worded again


@pytest.mark.parametrize("doc", ["[]", '{"schema_version": "2", "findings": []}', '{"schema_version": "1"}',
                                 '{"schema_version": "1", "findings": [{}]}'])
def test_not_a_report_is_refused(doc: str) -> None:
    with pytest.raises(StoredReportError):
        load_report(doc)


def test_cli_render(tmp_path: Path, reports: dict[str, Report]) -> None:
    report = reports["linux-dhcp-failure"]
    stored = tmp_path / "report.json"
    stored.write_text(to_json(report), encoding="utf-8")
    runner = CliRunner()
    for fmt in FORMATS:
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(app, ["render", str(stored), "--format", fmt, "--lang", "cs", "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_text(encoding="utf-8") == render(report, RenderOptions(fmt, "cs"))
    shown = runner.invoke(app, ["render", str(stored), "--lang", "cs", "--quiet"])
    assert shown.exit_code == 0 and shown.output.startswith("Závěr: Nalezeny problémy")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    for bad in ("bad.json", "missing.json"):
        failed = runner.invoke(app, ["render", str(tmp_path / bad)])
        assert failed.exit_code == 2 and "error" in failed.output
