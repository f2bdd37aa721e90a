"""Unexplained errors in every report format: the terminal (through the CLI), JSON (validated against the
schema, read back and rendered again in Czech), HTML in headless Chromium, redacted and escaped like evidence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from playwright.sync_api import Browser

from analyzer.api import analyze
from analyzer.model import Evidence, RenderOptions, UnexplainedError
from analyzer.report import SCHEMA, render, to_json
from analyzer.report.html import UNEXPLAINED_ROWS, to_html
from analyzer.report.stored import load_report
from tests.conftest import ROOT
from tests.report.builders import sample_report, validated
from tests.report.test_browser import PAYLOAD, browser, open_report  # noqa: F401 - the browser fixture
from tests.unexplained_bundles import AGENT_FAILURE, linux_bundle

SECRET = "CnryU1unexplainedSig"
SAS = f" https://acct.blob.core.windows.net/pkgs/vmaccess.zip?sv=2020-08-04&sr=b&sig={SECRET}"
TEMPLATE = AGENT_FAILURE.replace("52", "<num>") + " <url>"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return linux_bundle(tmp_path_factory.mktemp("unexplained"), "G4", agent_failure=True, secret=SAS)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300, check=False)


def test_terminal_shows_template_times_count_and_a_redacted_example(bundle: Path) -> None:
    out = _cli(str(bundle))
    assert out.returncode == 3, out.stderr  # inconclusive (exit 3): no finding at or above warning explains it
    text = out.stdout
    assert text.startswith("Verdict: Inconclusive")
    assert "no finding explains 1 warning or error record" in text
    order = [text.index(s) for s in ("Findings (0)", "Unexplained errors (1)", "ERROR 1 record",
                                     "first seen 2024-06-10T02:20:00.000000Z", "19 min after the backup",
                                     f"template: {TEMPLATE}", "example: var/log/waagent.log:", "Missing evidence")]
    assert order == sorted(order)
    assert SECRET not in text and "vmaccess.zip?<redacted:sas>" in text  # redacted like every evidence line


def test_terminal_in_czech_has_no_english_of_this_section(bundle: Path) -> None:
    text = _cli(str(bundle), "--lang", "cs").stdout
    assert text.startswith("Závěr: Nelze rozhodnout")
    for czech in ("Nevysvětlené chyby (1)", "CHYBA 1 záznam", "19 min po záloze", f"vzor: {TEMPLATE}", "ukázka: ",
                  "nevysvětluje 1 záznam s úrovní varování nebo chyby"):
        assert czech in text
    for english in ("Unexplained", "record", "template:", "example:", "after the backup", "first seen"):
        assert english not in text


def test_json_validates_reads_back_and_renders_again_in_any_language(bundle: Path) -> None:
    report = analyze(bundle)
    doc = validated(report)
    (u,) = doc["unexplained_errors"]  # type: ignore[misc]
    assert u["template"] == TEMPLATE and (u["level"], u["source"], u["count"]) == ("error", "waagent_log", 1)
    assert (u["first"], u["last"], u["minutes_to_backup"]) == ("2024-06-10T02:20:00.000000Z",) * 2 + (19,)
    assert u["example"]["path"] == "var/log/waagent.log" and SECRET not in json.dumps(doc)
    stored = load_report(to_json(report))
    assert stored.unexplained == report.unexplained
    for fmt in ("text", "json", "html"):
        assert render(stored, RenderOptions(format=fmt, lang="cs")) == render(report, RenderOptions(format=fmt,
                                                                                                 lang="cs"))
    assert load_report({k: v for k, v in json.loads(to_json(report)).items()
                        if k != "unexplained_errors"}).unexplained == []  # an earlier report still reads


def test_schema_refuses_a_malformed_entry() -> None:
    report = sample_report()
    report.unexplained = [_entry(0)]
    doc = validated(report)
    entry = doc["unexplained_errors"][0]  # type: ignore[index]
    for broken in ({**entry, "count": 0}, {**entry, "level": "info"}, {**entry, "extra": 1},
                   {k: v for k, v in entry.items() if k != "example"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**doc, "unexplained_errors": [broken]}, SCHEMA)


def _entry(i: int, text: str = "") -> UnexplainedError:
    return UnexplainedError(f"Failure {i} of <path> after <num> tries {text}", "error" if i % 2 else "warning",
                            "waagent_log", 100 - i, "2024-05-01T10:00:00.000000Z", "2024-05-01T11:00:00.000000Z",
                            Evidence("var/log/waagent.log", 10 + i, "2024-05-01T11:00:00.000000Z",
                                     f"Failure {i} of /var/lib/x after 3 tries {text}"), -i)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "cs"])
def test_html_section_in_chromium(browser: Browser, tmp_path: Path, bundle: Path, lang: str) -> None:  # noqa: F811
    report = analyze(bundle)
    opened = open_report(browser, to_html(report, lang=lang), tmp_path / "report.html", f"unexplained-{lang}")
    opened.assert_clean()
    page = opened.page
    section = page.locator("table.unexplained")
    assert section.is_visible() and section.locator("tr").count() == 2
    row = section.locator("tr").nth(1).inner_text()
    assert TEMPLATE in row and "2024-06-10T02:20:00.000000Z" in row and SECRET not in row
    assert ("19 min po záloze" if lang == "cs" else "19 min after the backup") in row
    heading = page.locator("#unexplained").inner_text()
    assert heading == ("Nevysvětlené chyby (1)" if lang == "cs" else "Unexplained errors (1)")
    assert page.locator("#unexplained").bounding_box()["y"] > page.locator("#findings").bounding_box()["y"]  # type: ignore[index]
    section.screenshot(path=str(ROOT / "test-artifacts" / "report" / f"unexplained-table-{lang}.png"))


@pytest.mark.browser
def test_html_caps_the_rows_and_escapes_bundle_text(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    report = sample_report()
    report.unexplained = [_entry(i, PAYLOAD) for i in range(UNEXPLAINED_ROWS + 5)]
    report.unexplained[1].live_records = 0  # a successful backup followed every record of it
    validated(report)
    opened = open_report(browser, to_html(report), tmp_path / "many.html", "unexplained-many")
    opened.assert_clean()
    page = opened.page
    assert page.locator("table.unexplained tr").count() == UNEXPLAINED_ROWS + 1
    rows = page.locator("table.unexplained tr")
    assert "recovered: a successful backup followed" in rows.nth(2).inner_text()
    assert "recovered" not in rows.nth(1).inner_text()
    assert "5 more templates in the JSON report" in page.locator("body").inner_text()
    assert page.locator("img").count() == 0
    assert PAYLOAD in page.locator("table.unexplained .template").first.inner_text()


def test_a_recovered_template_is_marked_in_every_format_and_reads_back() -> None:
    report = sample_report()
    report.unexplained = [_entry(1), _entry(2)]
    report.unexplained[1].live_records = 0
    doc = validated(report)
    assert [u["live_records"] for u in doc["unexplained_errors"]] == [None, 0]  # type: ignore[index]
    assert load_report(to_json(report)).unexplained == report.unexplained
    for lang, label in (("en", "recovered: a successful backup followed"), ("cs", "pominulo: následovala úspěšná")):
        text = render(report, RenderOptions(format="text", lang=lang))
        assert text.count(label) == 1  # in the head of the second entry
        assert text.rindex("Failure 1 of") < text.index(label) < text.index("Failure 2 of")
        assert label in render(report, RenderOptions(format="html", lang=lang))
