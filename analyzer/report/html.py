"""The self-contained HTML report: one file, no network fetch, safe to send back to the customer.

- Jinja2 with ``autoescape=True`` and a ``finalize`` hook that passes every value through
  :func:`display`, so bundle text is neutralized and then escaped; no value is ever marked safe.
- The inline CSS and JS are our own files, included verbatim; a Content-Security-Policy meta tag, the
  first element of ``<head>``, allows exactly them by SHA-256 hash and nothing else
  (``default-src 'none'``): an injected script, style, image or form cannot run or call out.
- The timeline picture is inline SVG computed here from ``report.extras["histogram"]`` (events per
  source per hour), with backup attempts and each finding's first sighting marked.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from analyzer.model import SEVERITIES, Report
from analyzer.report.display import display
from analyzer.report.terminal import backup_distance, ordered_findings
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
        timeline=timeline_picture(report, findings),
        redaction_kinds=sorted(report.redactions.get("by_kind", {}).items()),
        unexplained_rows=UNEXPLAINED_ROWS,
        backup_distance=lambda minutes: backup_distance(w, minutes),
    )


# --- the timeline picture --------------------------------------------------------------------------
@dataclass
class Cell:
    x: float
    w: float
    opacity: float
    title: str


@dataclass
class Lane:
    name: str
    y: float
    total: int
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Marker:
    x: float
    kind: str  # attempt | sev-critical | sev-error | sev-warning | sev-info
    label: str
    title: str


@dataclass
class Picture:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    lanes: list[Lane]
    markers: list[Marker]
    ticks: list[tuple[float, str]]


WIDTH, LEFT, TOP, LANE, MAX_CELLS = 980, 170, 26, 22, 480


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def timeline_picture(report: Report, findings: list[Any]) -> Picture | None:
    hist: dict[str, list[tuple[str, int]]] = report.extras.get("histogram") or {}
    series = {src: [(t, n) for ts, n in rows if (t := _parse(ts)) is not None] for src, rows in hist.items()}
    series = {src: rows for src, rows in series.items() if rows}
    attempts = [(t, ts) for ts in report.extras.get("backup_attempts") or [] if (t := _parse(ts)) is not None]
    seen = [(t, i, f) for i, f in enumerate(findings, 1) if (t := _parse(f.first_seen)) is not None]
    times = [t for rows in series.values() for t, _ in rows] + [t for t, _ in attempts] + [t for t, _, _ in seen]
    if not times:
        return None
    start = min(times).replace(minute=0, second=0, microsecond=0)
    hours = int((max(times) - start).total_seconds() // 3600) + 1
    bin_hours = max(1, math.ceil(hours / MAX_CELLS))
    span = timedelta(hours=math.ceil(hours / bin_hours) * bin_hours)
    plot = WIDTH - LEFT - 10

    def x(t: datetime) -> float:
        return round(LEFT + (t - start) / span * plot, 1)

    cell_w = max(1.0, round(plot * bin_hours / (span.total_seconds() / 3600), 2))
    lanes: list[Lane] = []
    peak = max((n for rows in series.values() for _, n in rows), default=1)
    for i, (src, rows) in enumerate(sorted(series.items())):
        bins: Counter[datetime] = Counter()
        for t, n in rows:
            offset = int((t - start).total_seconds() // 3600) // bin_hours * bin_hours
            bins[start + timedelta(hours=offset)] += n
        lane = Lane(src, TOP + i * LANE, sum(bins.values()))
        for t, n in sorted(bins.items()):
            opacity = round(0.25 + 0.75 * math.log1p(n) / math.log1p(max(peak, n)), 2)
            lane.cells.append(Cell(x(t), cell_w, opacity, f"{src} {t:%Y-%m-%d %H:00} UTC: {n}"))
        lanes.append(lane)
    markers = [Marker(x(t), "attempt", "", ts) for t, ts in attempts]
    markers += [Marker(x(t), f"sev-{f.severity if f.severity in SEVERITIES else 'info'}", str(i),
                       f"{i}. {f.id} {f.first_seen}") for t, i, f in seen]
    n_ticks = 6
    ticks = []
    for k in range(n_ticks + 1):
        t = start + span * k / n_ticks
        ticks.append((x(t), f"{t:%m-%d %H:%M}"))
    height = TOP + max(1, len(lanes)) * LANE + 24
    return Picture(WIDTH, height, LEFT, TOP, plot, lanes, markers, ticks)
