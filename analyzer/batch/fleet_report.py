"""The fleet report: one self-contained HTML page over a batch catalog.

Inline CSS allowed by its hash in a meta Content-Security-Policy (``default-src 'none'``, no script),
Jinja2 with autoescape on, an inline SVG chart, nothing fetched. Each attachment links to its bundle
report, written beside the fleet report under ``<name>_bundles/<n>.html`` (or ``.json`` when the
HTML report of the bundle is not available), under the attachment's own name even when another
attachment had the same content; files are named by index, never by ticket or path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from analyzer.batch import fleet
from analyzer.batch.catalog import Catalog
from analyzer.batch.progress import printable
from analyzer.escape import to_json_text
from analyzer.output_file import private_folder, write_output
from analyzer.version import __version__

_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac")
_CHART_HEIGHT = 180
_BAR_WIDTH = 18
_BAR_GAP = 8
_MAX_DAYS = 120
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class _Segment:
    y: float
    h: float
    color: str
    root_cause: str
    n: int


def _chart(rows: list[fleet.TrendRow]) -> dict[str, Any]:
    """Stacked bars: analyzed attachments per day, one colour per root cause (the last ``_MAX_DAYS`` days)."""
    days = sorted({r.key for r in rows if r.key != "unknown"})[-_MAX_DAYS:]
    causes = sorted({r.root_cause for r in rows if r.key in days})
    colors = {rc: _PALETTE[i % len(_PALETTE)] for i, rc in enumerate(causes)}
    per_day = {d: [r for r in rows if r.key == d] for d in days}
    top = max((sum(r.bundles for r in v) for v in per_day.values()), default=0)
    plot = _CHART_HEIGHT - 30
    bars = []
    for i, day in enumerate(days):
        y = 14.0 + plot
        segments = []
        for r in sorted(per_day[day], key=lambda r: r.root_cause):
            h = plot * r.bundles / top
            y -= h
            segments.append(_Segment(round(y, 1), round(h, 1), colors[r.root_cause], r.root_cause, r.bundles))
        bars.append({"x": i * (_BAR_WIDTH + _BAR_GAP), "day": day, "label": day[5:], "segments": segments})
    return {"bars": bars, "legend": list(colors.items()), "max": top, "bar_width": _BAR_WIDTH,
            "height": _CHART_HEIGHT, "width": max(1, len(days)) * (_BAR_WIDTH + _BAR_GAP) + 40}


def _csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; "
            "form-action 'none'; object-src 'none'")


def _bundle_reports(db: sqlite3.Connection, out_dir: Path, link_dir: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Write each analyzed attachment's report; (ticket, path) -> (relative link, "HTML"|"JSON").

    A content is analyzed once, under the name of the first attachment that had it; an attachment of the same
    content under another name gets the report with its own name (rendered again from the stored JSON)."""
    links: dict[tuple[str, str], tuple[str, str]] = {}
    rows = db.execute("SELECT b.ticket, b.path, r.report_html, r.report_json FROM bundles b"
                      " JOIN reports r ON r.sha256 = b.sha256 WHERE r.status = 'ok'"
                      " ORDER BY b.ticket, b.path").fetchall()
    if rows:
        private_folder(out_dir)
    for n, r in enumerate(rows, 1):
        html, doc = r["report_html"], json.loads(r["report_json"]) if r["report_json"] else None
        own = r["path"].rpartition("/")[2]
        if doc is not None and doc.get("bundle", {}).get("name") != own:
            doc["bundle"]["name"] = own
            html = _render_html(doc) if html else None
        if html:
            name, kind, text = f"{n}.html", "HTML", html
        elif doc is not None:
            name, kind, text = f"{n}.json", "JSON", to_json_text(doc)
        else:
            continue
        write_output(out_dir / name, text)
        links[(r["ticket"], r["path"])] = (f"{link_dir}/{name}", kind)
    return links


def _render_html(doc: dict[str, Any]) -> str:
    from analyzer.report.html import to_html
    from analyzer.report.stored import load_report

    html: str = to_html(load_report(doc), lang="en")
    return html


def write_fleet_report(db_path: Path, output: Path) -> Path:
    """Render the fleet report of the catalog at ``db_path`` into ``output`` (plus its bundle reports)."""
    catalog = Catalog(db_path)
    try:
        db = catalog.db
        link_dir = f"{output.stem}_bundles"
        links = _bundle_reports(db, output.parent / link_dir, link_dir)
        bundles = []
        for r in db.execute("SELECT ticket, path, sha256, status, error, root_cause FROM bundles"
                            " ORDER BY ticket, path").fetchall():
            link, kind = links.get((r["ticket"], r["path"]), ("", ""))
            bundles.append({"ticket": printable(r["ticket"]), "path": printable(r["path"]), "status": r["status"],
                            "error": printable(r["error"] or ""), "root_cause": r["root_cause"] or "none",
                            "link": link, "link_kind": kind})
        fleet_rows = []
        for r in db.execute("SELECT * FROM fleet_findings ORDER BY id, group_key").fetchall():
            detail = json.loads(r["detail"])
            fleet_rows.append({"id": r["id"], "group_key": printable(r["group_key"] or ""), "bundles": r["bundles"],
                               "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                               "tickets": [printable(t) for t in json.loads(r["tickets"])],
                               "windows": [{**w, "vms": [printable(v) for v in w["vms"]],
                                            "tickets": [printable(t) for t in w["tickets"]]}
                                           for w in detail.get("windows", [])]})
        root_causes = db.execute("SELECT COALESCE(root_cause, 'none') AS rc, COUNT(*) AS n FROM bundles"
                                 " WHERE status = 'ok' GROUP BY rc ORDER BY n DESC, rc").fetchall()
        css = (_TEMPLATES / "fleet.css").read_text(encoding="utf-8")
        env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True)
        html = env.get_template("fleet.html.j2").render(
            csp=_csp(css), css=css, version=__version__,
            generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            totals={"tickets": len({b["ticket"] for b in bundles}), "attachments": len(bundles),
                    "ok": sum(b["status"] == "ok" for b in bundles),
                    "failed": sum(b["status"] == "failed" for b in bundles)},
            root_causes=[(r["rc"], r["n"]) for r in root_causes],
            chart=_chart(fleet.trend(db, "day")),
            fleet=fleet_rows, min_vms=fleet.MIN_VMS, window_minutes=int(fleet.WINDOW.total_seconds() // 60),
            trends=[("agent version", fleet.trend(db, "agent")),
                    ("VMSnapshot extension version", fleet.trend(db, "extension"))],
            failed=[b for b in bundles if b["status"] == "failed"],
            bundles=bundles,
        )
    finally:
        catalog.close()
    write_output(output, html)
    return output
