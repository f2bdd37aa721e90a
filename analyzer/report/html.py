"""The self-contained HTML report: one file, no network fetch, safe to send back to the customer.

- Jinja2 with ``autoescape=True`` and a ``finalize`` hook that passes every value through
  :func:`display`, so bundle text is neutralized and then escaped; no value is ever marked safe.
- The inline CSS and JS are our own files, included verbatim; a Content-Security-Policy meta tag, the
  first element of ``<head>``, allows exactly them by SHA-256 hash and nothing else
  (``default-src 'none'``): an injected script, style, image or form cannot run or call out.
- The timeline picture is inline SVG laid out by :mod:`analyzer.report.picture` from ``report.extras``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from analyzer.model import SEVERITIES, Report
from analyzer.report.display import display
from analyzer.report.order import ordered_findings, ordered_sources
from analyzer.report.picture import timeline_picture
from analyzer.report.terminal import backup_distance
from analyzer.report.wording import Wording

_CSS = "report.css"
UNEXPLAINED_ROWS = 25  # unexplained error templates shown (all are in the JSON report)
_JS = "report.js"


def _finalize(value: Any) -> Any:
    return display(value, limit=20000, newlines=True) if isinstance(value, str) else value


_ENV = Environment(
    loader=PackageLoader("analyzer.report", "templates"),
    autoescape=True,
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy() -> str:
    """The report's CSP: nothing but the report's own inline style and script, images only as data:."""
    style = _ENV.get_template(_CSS).render()
    script = _ENV.get_template(_JS).render()
    return (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; img-src data:; "
            "base-uri 'none'; form-action 'none'; object-src 'none'")


def to_html(report: Report, lang: str = "en") -> str:
    w = Wording(lang, report)
    findings = ordered_findings(report)
    index = {f.id: i for i, f in enumerate(findings, 1)}
    counts = Counter(s.status for s in report.sources)
    return _ENV.get_template("report.html.j2").render(
        lang=w.lang,
        w=w,
        csp=content_security_policy(),
        css=_CSS,
        js=_JS,
        report=report,
        findings=findings,
        index=index,
        severities=list(reversed(SEVERITIES)),
        severity_counts=Counter(f.severity for f in findings),
        source_counts={s: counts[s] for s in ("parsed", "empty", "skipped", "failed")},
        panels=timeline_picture(report, findings, w),
        sources=ordered_sources(report),
        partial=w.partial(report.extras.get("partial")),
        window=w.window(report.extras.get("window")),
        redaction_kinds=sorted(report.redactions.get("by_kind", {}).items()),
        unexplained_rows=UNEXPLAINED_ROWS,
        backup_distance=lambda minutes: backup_distance(w, minutes),
    )
