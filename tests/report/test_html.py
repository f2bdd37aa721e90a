"""HTML report without a browser: CSP hashes, no external resource, escaping, languages, same findings as the
other formats. The browser checks are in test_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from analyzer.model import Evidence, say
from analyzer.report import to_json
from analyzer.report.html import to_html
from analyzer.report.terminal import render_terminal
from tests.report.builders import finding, sample_report, title_of, validated

XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'><svg onload=alert(3)>{{7*7}}</style></script>'
TEMPLATES = Path(__file__).resolve().parents[2] / "analyzer" / "report"


def _csp(html: str) -> str:
    m = re.search(r'<head>\s*<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert m, "the CSP meta tag must be the first element of <head>"
    return m.group(1).replace("&#39;", "'")


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_allows_exactly_the_inline_style_and_script() -> None:
    html = to_html(sample_report())
    csp = _csp(html)
    assert csp.startswith("default-src 'none'; ")
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    assert f"style-src {_digest(styles[0])};" in csp
    assert f"script-src {_digest(scripts[0])};" in csp
    assert "unsafe" not in csp and "base-uri 'none'" in csp and "form-action 'none'" in csp


def test_no_external_resource() -> None:
    html = to_html(sample_report())
    assert not re.search(r"""\b(?:src|href|xlink:href|action)\s*=\s*["']?[^#"'\s>]""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert ' style="' not in html  # inline style attributes would need 'unsafe-inline'


def test_bundle_text_is_escaped_everywhere() -> None:
    f = finding("THIRD_PARTY_CHECK", "error", XSS, root=True, texts=(XSS,), path=XSS)
    f.texts = {"title": XSS, "meaning": XSS, "remediation": [XSS]}
    f.notes = [say("verbatim", text=XSS)]
    f.evidence.append(Evidence(XSS, 1, None, "", say("evidence.heartbeat_gap", minutes=70, record=XSS)))
    f.error_codes = [XSS]
    report = sample_report([f], name=XSS, host=XSS, layout=XSS)
    report.sources[0].path = XSS
    report.sources[0].error = say("problem.parser_crashed", error=XSS)
    report.missing_evidence[0].collect = XSS
    report.verdict.summary = [say("verdict.problems", id=f.id, n=1), say("verbatim", text=XSS)]
    report.missing_evidence[0].why = say("missing.needed_by", detectors=[XSS])
    report.sources[1].note = say("verbatim", text=XSS)
    report.extras["facts"] = {XSS: XSS}
    report.extras["histogram"] = {XSS: [("2024-05-01T08:00:00Z", 3)]}
    report.extras["backup_attempts"] = [XSS, "2024-05-01T09:00:00Z"]
    report.redactions = {"count": 1, "by_kind": {XSS: 1}}
    validated(report)
    html = to_html(report)
    assert html.count("<script") == 1 and "<img" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 12  # every field above shows it, escaped
    assert "{{7*7}}" in html and "49&lt;/style&gt;" not in html  # shown as written, never evaluated


def test_no_way_around_autoescape_in_the_code() -> None:
    for path in [TEMPLATES / "html.py", *sorted((TEMPLATES / "templates").iterdir())]:
        text = path.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "Markup(" not in text
        assert "autoescape false" not in text.replace("  ", " ").lower()


def test_czech_labels_and_lang_attribute() -> None:
    html = to_html(sample_report(), lang="cs")
    assert '<html lang="cs">' in html
    for label in ("Závěr", "Hlavní příčina", "Nálezy", "Chybějící důkazy", "Zdroje", "Co bylo skryto", "Co dělat"):
        assert label in html
    assert "Missing evidence" not in html


def test_timeline_picture_overview_and_zoom() -> None:
    html = to_html(sample_report())
    svgs = re.findall(r"<svg class=\"timeline (overview|zoom)\".*?</svg>", html, re.S)
    assert svgs == ["overview", "zoom"]
    overview, zoom = re.findall(r"<svg class=\"timeline [a-z]+\".*?</svg>", html, re.S)
    assert overview.count('class="cell density"') == 6  # one cell per source and hour holding records
    assert overview.count('<circle class="dot"') == 2  # each backup run, coloured by its outcome
    assert 'class="run out-success"' in overview and 'class="run out-no_status"' in overview
    assert overview.count('class="badge-mark sev-') == 2  # two findings have a first_seen
    assert ">Guest agent log<" in overview and ">Backup extension log<" in overview  # human lane names
    assert "waagent_log<" not in html.split('id="findings"')[0]  # no internal name in the picture
    assert 'class="zoom-box"' in overview
    assert zoom.count('class="cell lv-error"') == 1 and zoom.count('class="cell lv-info"') == 1
    assert "No route to host" in zoom  # the record behind a cell is its hover text
    assert 'class="run out-no_status"' in zoom and 'class="band"' in zoom


def test_the_three_formats_show_the_same_findings() -> None:
    report = sample_report()
    ids = [f.id for f in report.findings]
    doc = json.loads(to_json(report))
    text = render_terminal(report, file=None)
    html = to_html(report)
    assert [f["id"] for f in doc["findings"]] == ids
    assert text is not None
    for f in report.findings:
        assert f.id in text and title_of(f) in text
        assert f"<code>{f.id}</code>" in html and title_of(f) in html
