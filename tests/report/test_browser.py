"""The HTML report in real headless Chromium: no request leaves the page, no console error or CSP violation,
the report's own hashed script runs, the verdict and every finding are visible, hostile bundle text runs
nothing; the timeline picture and the print layout are measured. Screenshots (1400 px wide, and A4 print
size) go to test-artifacts/report/ (git-ignored)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from analyzer.api import analyze
from analyzer.model import Evidence, Report, say
from analyzer.report.html import to_html
from analyzer.report.order import ordered_findings
from tests.conftest import ROOT, require_chromium
from tests.report.builders import finding, sample_report, title_of, validated
from tests.report.bundles import XSS_LINE, XSS_NAME, xss_bundle

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "report"
# registered before any page script through the DevTools protocol, so the page's CSP does not apply to it
PRINT_WIDTH = 718  # CSS pixels of an A4 page between 12 mm margins
CSP_LISTENER = ("window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) {"
                " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")
PAYLOAD = ('<img src=x onerror="document.body.setAttribute(\'data-pwned\',1);alert(1)">'
           '<script>document.body.setAttribute("data-pwned",2);alert(2)</script>'
           '<svg><animate onbegin="document.body.setAttribute(\'data-pwned\',3)" attributeName=x dur=1s>'
           '"\'><a href="javascript:alert(4)">x</a></style></script><!--')


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium),
                              args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@dataclass
class Opened:
    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.blocked == [], f"requests left the page: {self.blocked}"
        assert all(u == self.url or u.startswith("data:") for u in self.requests), self.requests
        assert self.errors == [], self.errors
        assert self.page.evaluate("window.__csp") == []
        assert self.page.evaluate("document.documentElement.dataset.js") == "ready", "the hashed script did not run"
        assert self.page.evaluate("document.querySelector('[data-pwned]')") is None


def open_report(browser: Browser, html: str, path: Path, shot: str, width: int = 1400) -> Opened:
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    opened = Opened(page, path.as_uri())

    def route(r: Route) -> None:
        url = r.request.url
        if url == opened.url or url.startswith("data:"):
            r.continue_()
        else:
            opened.blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    page.goto(opened.url, wait_until="load")
    page.wait_for_timeout(300)  # let onbegin/onerror handlers fire if anything was injected
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    return opened


def shoot_print(page: Page, shot: str) -> int:
    """The page as printed: an A4 PDF (its page count is returned) and a screenshot at print width."""
    pdf = page.pdf(format="A4", print_background=True)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1400, "height": 900})
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def assert_verdict_and_findings_visible(opened: Opened, report: Report, lang: str = "en") -> None:
    page = opened.page
    verdict = page.locator("#verdict")
    assert verdict.is_visible()
    if report.verdict.root_cause:
        assert report.verdict.root_cause in verdict.inner_text()
    for i, f in enumerate(ordered_findings(report), 1):
        section = page.locator(f"#f{i}")
        assert section.is_visible(), f.id
        text = section.inner_text()
        assert f.id in text and title_of(f, lang) in text


@pytest.mark.parametrize("lang", ["en", "cs"])
def test_sample_report_in_chromium(browser: Browser, tmp_path: Path, lang: str) -> None:
    report = sample_report()
    opened = open_report(browser, to_html(report, lang=lang), tmp_path / "report.html", f"sample-{lang}")
    opened.assert_clean()
    assert_verdict_and_findings_visible(opened, report, lang)
    assert opened.page.locator("svg.timeline.overview rect.cell").count() == 6
    assert ("Nalezeny problémy" if lang == "cs" else "Problems found") in opened.page.locator("#verdict").inner_text()


def test_severity_filter_and_print_view(browser: Browser, tmp_path: Path) -> None:
    report = sample_report()
    opened = open_report(browser, to_html(report), tmp_path / "report.html", "filter")
    page = opened.page
    assert page.locator("#filter").is_visible()
    info = page.locator(".finding.sev-info")
    page.locator("input[data-sev=info]").uncheck()
    assert not info.is_visible()
    page.emulate_media(media="print")
    assert info.is_visible(), "print shows every finding"
    assert not page.locator("#filter").is_visible()
    page.emulate_media(media="screen")
    page.locator("input[data-sev=info]").check()
    assert info.is_visible()
    opened.assert_clean()


def test_hostile_text_in_every_field_runs_nothing(browser: Browser, tmp_path: Path) -> None:
    f = finding("THIRD_PARTY_CHECK", "error", "T " + PAYLOAD, root=True, texts=(PAYLOAD, "second"), path=PAYLOAD)
    f.texts = {"title": "T " + PAYLOAD, "meaning": PAYLOAD, "remediation": [PAYLOAD]}
    f.notes = [say("verbatim", text=PAYLOAD)]
    f.evidence.append(Evidence("x.log", 1, None, "", say("evidence.heartbeat_gap", minutes=70, record=PAYLOAD)))
    report = sample_report([f, finding("FS_FREEZE_FAILED", "warning", PAYLOAD)], name=PAYLOAD, host=PAYLOAD)
    report.sources[0].path = PAYLOAD
    report.sources[1].problems = [say("problem.json_unreadable", error=PAYLOAD)]
    report.missing_evidence[0].collect = PAYLOAD
    report.verdict.summary = [say("verbatim", text=PAYLOAD)]
    report.missing_evidence[0].why = say("missing.needed_by", detectors=[PAYLOAD])
    report.extras["facts"] = {PAYLOAD: PAYLOAD}
    report.extras["histogram"][PAYLOAD] = [("2024-05-01T11:00:00Z", 5)]
    report.redactions = {"count": 2, "by_kind": {PAYLOAD: 2}}
    validated(report)
    opened = open_report(browser, to_html(report), tmp_path / "hostile.html", "hostile-fields")
    opened.assert_clean()
    assert_verdict_and_findings_visible(opened, report)
    page = opened.page
    assert page.locator("img").count() == 0 and page.locator("a[href^=javascript]").count() == 0
    assert PAYLOAD in page.locator("#f1 td.text").first.inner_text()


def test_xss_bundle_through_the_pipeline(browser: Browser, tmp_path: Path) -> None:
    report = analyze(xss_bundle(tmp_path / "bundle"))
    validated(report)
    opened = open_report(browser, to_html(report), tmp_path / "xss.html", "xss-bundle")
    opened.assert_clean()
    assert_verdict_and_findings_visible(opened, report)
    page = opened.page
    body = page.locator("body").inner_text()
    assert XSS_NAME in body  # the file name, as text, in the sources table
    assert page.locator("img").count() == 0 and page.locator("body script").count() == 1
    shown = [e.text for f in report.findings for e in f.evidence if XSS_LINE in e.text]
    assert shown, "the hostile log line is evidence of a finding"
    assert XSS_LINE in body


def test_csp_alone_stops_payloads_that_escaped_escaping(browser: Browser, tmp_path: Path) -> None:
    """Defense in depth: payloads pasted raw into the page (as an escaping bug would) still run nothing."""
    html = to_html(sample_report()).replace("<footer>", "<footer>" + PAYLOAD.replace("<!--", ""), 1)
    opened = open_report(browser, html, tmp_path / "raw.html", "csp-alone")
    page = opened.page
    assert opened.dialogs == []
    assert page.evaluate("document.querySelector('[data-pwned]')") is None
    violations = page.evaluate("window.__csp")
    assert any(v.startswith("script-src-elem") for v in violations)
    assert any(v.startswith("script-src-attr") for v in violations)
    assert page.evaluate("document.documentElement.dataset.js") == "ready"


# --- the timeline picture and the print layout --------------------------------------------------------
def _boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(selector, "els => els.map(e => { const b = e.getBoundingClientRect();"
                                               " return {x: b.x, y: b.y, w: b.width, h: b.height}; })")


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    apart_x = a["x"] >= b["x"] + b["w"] or b["x"] >= a["x"] + a["w"]
    return not apart_x and not (a["y"] >= b["y"] + b["h"] or b["y"] >= a["y"] + a["h"])


def _assert_round_ticks(page: Page, panel: str) -> None:
    labels = page.eval_on_selector_all(f"svg.timeline.{panel} text.tick", "els => els.map(e => e.textContent)")
    xs = [b["x"] + b["w"] / 2 for b in _boxes(page, f"svg.timeline.{panel} text.tick")]
    assert len(labels) >= 3, labels
    minutes = [int(h) * 60 + int(m) for h, m in (re.search(r"(\d\d):(\d\d)$", t).groups() for t in labels)]  # type: ignore[union-attr]
    steps = {(b - a) % 1440 for a, b in itertools.pairwise(minutes)}
    assert len(steps) == 1, labels  # evenly spaced...
    step = steps.pop()
    assert all(m % step == 0 for m in minutes) or (step % 60 == 0 and all(m % 60 == 0 for m in minutes)), labels
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert max(gaps) - min(gaps) < 2, gaps  # ...in time and on the page


def test_timeline_picture_of_a_real_bundle(browser: Browser, tmp_path: Path) -> None:
    report = analyze(ROOT / "samples" / "linux-dhcp-failure")
    zoom = report.extras["zoom"]
    opened = open_report(browser, to_html(report), tmp_path / "dhcp.html", "picture-1400")
    opened.assert_clean()
    page = opened.page
    names = page.eval_on_selector_all("svg.timeline text.lane-name", "els => els.map(e => e.textContent)")
    assert "Guest agent log" in names and "Backup extension log" in names
    assert not [n for n in names if "_" in n], names  # human lane names, never a parser's id
    for panel in ("overview", "zoom"):
        _assert_round_ticks(page, panel)
        pills = _boxes(page, f"svg.timeline.{panel} .badge-mark rect.pill")
        assert pills and not [(a, b) for i, a in enumerate(pills) for b in pills[i + 1:] if _overlap(a, b)]
    # the zoom: minutes around the failing backup, in bins of a minute
    assert zoom["bin_seconds"] == 60 and len(page.locator("svg.timeline.zoom rect.cell").all()) >= 3
    assert "02:00" in page.locator("svg.timeline.zoom").inner_html()
    # the failing backup never reported a status: its band says so in its colour and hover text
    band = page.locator("svg.timeline.zoom g.run.out-no_status rect.bar").last
    colour = band.evaluate("e => getComputedStyle(e).fill")
    assert colour == "rgb(112, 72, 232)", colour
    assert "no final status" in page.locator("svg.timeline.zoom g.run.out-no_status > title").last.text_content()
    ok = page.locator("svg.timeline.overview g.run.out-success circle").first.evaluate("e => getComputedStyle(e).fill")
    assert ok == "rgb(43, 138, 62)", ok  # the earlier backup that succeeded, in another colour
    error_cell = page.locator("svg.timeline.zoom rect.cell.lv-error title").first.text_content() or ""
    record = error_cell.split(": ", 2)[-1]  # hover text: when, how many, and the record itself
    assert "at 2024-06-10T02:03" in error_cell and len(record) > 20
    assert record in (ROOT / "samples" / "linux-dhcp-failure" / "var" / "log" / "waagent.log").read_text()
    assert shoot_print(page, "picture-print") <= 3  # 4 findings print on three A4 pages at most


def test_badges_never_overlap_even_when_findings_share_a_minute(browser: Browser, tmp_path: Path) -> None:
    ids = ["WIRESERVER_UNREACHABLE", "DHCP_FAILURE", "SNAPSHOT_TIMEOUT", "AGENT_NOT_RUNNING", "FS_FREEZE_FAILED",
           "HIGH_RESOURCE_USAGE", "STORAGE_UNREACHABLE", "VSS_WRITER_FAILED", "AGENT_OUTDATED", "EXTENSIONS_DISABLED",
           "SNAPSHOT_LIMIT_REACHED", "VM_SHUTDOWN_IN_GUEST"]
    findings = [finding(fid, "error", fid, root=i == 0, ts=f"2024-05-01T12:3{i % 3}:00.000000Z")
                for i, fid in enumerate(ids)]
    report = sample_report(findings)
    opened = open_report(browser, to_html(report), tmp_path / "crowd.html", "badges-crowded")
    opened.assert_clean()
    page = opened.page
    for panel in ("overview", "zoom"):
        pills = _boxes(page, f"svg.timeline.{panel} .badge-mark rect.pill")
        svg = _boxes(page, f"svg.timeline.{panel}")[0]
        assert len(pills) == len(ids)
        assert not [(a, b) for i, a in enumerate(pills) for b in pills[i + 1:] if _overlap(a, b)]
        assert all(svg["x"] <= p["x"] and p["x"] + p["w"] <= svg["x"] + svg["w"] + 1 for p in pills)


def test_partial_result_banner_in_chromium(browser: Browser, tmp_path: Path) -> None:
    report = sample_report()
    report.extras["partial"] = {"reason": "time", "detail": "x: analysis time limit max_seconds=5 reached",
                                "unread": ["var/log/waagent.log.1", "var/log/syslog"], "unread_count": 2}
    report.extras["window"] = {"since": "2024-05-01T09:00:00Z", "until": None, "matched": True}
    validated(report)
    for lang, words in (("en", ("Partial result", "var/log/syslog", "--timeout", "2024-05-01T09:00:00Z")),
                        ("cs", ("Částečný výsledek", "var/log/syslog", "--timeout", "2024-05-01T09:00:00Z"))):
        opened = open_report(browser, to_html(report, lang=lang), tmp_path / f"partial-{lang}.html", f"partial-{lang}")
        opened.assert_clean()
        banner = opened.page.locator("#partial")
        assert banner.is_visible()
        top = opened.page.locator("#partial").bounding_box()
        assert top is not None and top["y"] < 400  # under the verdict, before anything else
        text = banner.inner_text() + opened.page.locator("#window").inner_text()
        assert all(word in text for word in words), text
