"""The fleet report: one self-contained HTML page over a batch catalog, in English or Czech.

What a support team asks of a night's batch, top to bottom: how many bundles by verdict; which root causes
dominate and how that changed day by day (a table heat map: one row per root cause, one column per day or
week); which agent and backup-extension versions the fleet runs and how often each has problems; which
deployments (cloud services) hold the failures; the fleet findings; the warnings and errors no finding explains,
by how many bundles show them (the catalog's ``unexplained`` table); the bundles whose analysis failed, with
the reason; and every ticket with its verdict, root cause and a link to its bundle report.

Inline CSS allowed by its hash in a meta Content-Security-Policy (``default-src 'none'``, no script),
Jinja2 with autoescape on, every label from the locale files (``analyzer/locale``), nothing fetched. Each
analyzed attachment's report is rendered again from the catalog's JSON in the report's language, under the
attachment's own name (identical content in two tickets is analyzed once, yet each report names its own
attachment), and written beside the fleet report under ``<name>_bundles/``, in a file named after its ticket
and attachment made safe for any file system (a ticket name comes from the filesystem and is not trusted):
letters, digits, ``.``, ``-`` and ``_`` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from analyzer.batch import fleet
from analyzer.batch.catalog import Catalog, failure_text
from analyzer.batch.progress import printable
from analyzer.output_file import OutputError, check_output, private_folder, write_output
from analyzer.report.wording import Wording
from analyzer.version import __version__
from parsers.base import say

_TEMPLATES = Path(__file__).with_name("templates")
MAX_COLUMNS = 28  # heat-map columns: days while they fit, else weeks
MAX_VERSIONS = 15  # rows of a version table; the rest summed up in one row
MAX_DEPLOYMENTS = 30
MAX_UNEXPLAINED = 20  # unexplained-error templates shown, the most widespread first
MAX_TICKETS = 5  # tickets named per template; the rest counted
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
VERDICTS = ("problems_found", "inconclusive", "healthy", "failed")


def safe_file_name(*parts: str, limit: int = 80) -> str:
    """A file name from untrusted names: ASCII letters, digits, ``.``, ``-`` and ``_``; no leading dot; short."""
    name = "_".join(p for p in (_SAFE.sub("_", part).strip("._-") for part in parts) if p)
    return name[:limit].strip("._-") or "bundle"


def check_fleet_report(output: Path) -> None:
    """Raise :class:`OutputError` when the fleet report or its bundle folder cannot be written (before any work)."""
    check_output(output)
    folder = _bundle_folder(output)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputError(say("output.not_folder", path=str(folder)))


def _bundle_folder(output: Path) -> Path:
    return output.parent / f"{output.stem}_bundles"


# --- what the page shows ------------------------------------------------------------------------------
@dataclass
class _Bundle:
    ticket: str
    path: str
    sha256: str
    verdict: str  # one of VERDICTS
    root_cause: str | None
    error: str
    day: str | None
    agent: str
    extension: str
    deployment: str | None
    own_name: str = ""  # the attachment's file name as stored, for its own report (which escapes it)
    link: str = ""

    @property
    def attachment(self) -> str:
        """The attachment's path inside its ticket folder (a loose archive: its file name)."""
        head, _, rest = self.path.partition("/")
        return rest if rest and head == self.ticket else self.path


@dataclass
class _HeatRow:
    key: str  # a root cause id, or "healthy" / "inconclusive"
    total: int
    cells: list[tuple[int, int]] = field(default_factory=list)  # (count, heat level 0-5) per column


def _bundles(db: sqlite3.Connection, lang: str) -> list[_Bundle]:
    rows = db.execute(
        "SELECT b.ticket, b.path, b.sha256, b.status, b.error, b.root_cause, r.verdict, r.day,"
        f" {fleet.dimension('agent')} AS agent, {fleet.dimension('extension')} AS extension,"
        " (SELECT value FROM facts f WHERE f.sha256 = b.sha256 AND f.name = 'deployment.name' LIMIT 1) AS deployment"
        " FROM bundles b LEFT JOIN reports r ON r.sha256 = b.sha256 ORDER BY b.ticket, b.path").fetchall()
    out = []
    for r in rows:
        verdict = "failed" if r["status"] == "failed" else r["verdict"] if r["verdict"] in VERDICTS else "inconclusive"
        out.append(_Bundle(printable(r["ticket"]), printable(r["path"]), r["sha256"] or "", verdict,
                           r["root_cause"] if verdict == "problems_found" else None,
                           printable(failure_text(r["error"], lang) or ""), r["day"], printable(r["agent"]),
                           printable(r["extension"]),
                           printable(r["deployment"]) if r["deployment"] else None,
                           (r["path"] or "").rpartition("/")[2]))
    return out


def _columns(days: list[str]) -> tuple[list[tuple[str, str]], str]:
    """Heat-map columns: (first day, label) per day, or per ISO week (Monday) when the days do not fit."""
    if not days:
        return [], "day"
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    if (last - first).days < MAX_COLUMNS:
        return [((first + timedelta(d)).isoformat(), (first + timedelta(d)).strftime("%m-%d"))
                for d in range((last - first).days + 1)], "day"
    monday = last - timedelta(last.weekday()) - timedelta(weeks=MAX_COLUMNS - 1)
    start = max(monday, first - timedelta(first.weekday()))
    weeks = (last - start).days // 7 + 1
    return [((start + timedelta(weeks=w)).isoformat(), (start + timedelta(weeks=w)).strftime("%m-%d"))
            for w in range(weeks)], "week"


def _heat(bundles: list[_Bundle]) -> dict[str, Any]:
    """Root causes (and healthy, inconclusive) by day or week of the backup each bundle is about."""
    dated = [b for b in bundles if b.verdict != "failed" and b.day]
    columns, unit = _columns(sorted({b.day for b in dated if b.day}))
    starts = [c for c, _ in columns]

    def column(day: str) -> int | None:
        if not starts or day < starts[0]:
            return None
        return max(i for i, s in enumerate(starts) if s <= day)

    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for b in dated:
        i = column(b.day or "")
        if i is not None:
            counts[b.root_cause or b.verdict][i] += 1
    peak = max((n for c in counts.values() for n in c.values()), default=0)
    rows = []
    for key, c in counts.items():
        row = _HeatRow(key, sum(c.values()))
        row.cells = [(c[i], -(-5 * c[i] // peak)) for i in range(len(columns))]  # level 0, or 1-5 by the peak
        rows.append(row)
    rows.sort(key=lambda r: (r.key in ("healthy", "inconclusive"), -r.total, r.key))
    months = sorted({c[:7] for c in starts})
    return {"columns": columns, "unit": unit, "rows": rows, "peak": peak, "months": months,
            "undated": sum(1 for b in bundles if b.verdict != "failed" and not b.day)}


def _distribution(bundles: list[_Bundle], attr: str) -> list[dict[str, Any]]:
    """One row per version: bundles, with problems, the most frequent root cause; the rarest summed up."""
    groups: dict[str, list[_Bundle]] = defaultdict(list)
    for b in bundles:
        if b.verdict != "failed":
            groups[getattr(b, attr)].append(b)
    rows = [_group_row(key, members) for key, members in groups.items()]
    rows.sort(key=lambda r: (r["key"] == "unknown", -r["bundles"], r["key"]))
    if len(rows) > MAX_VERSIONS:
        rest = [b for r in rows[MAX_VERSIONS - 1:] for b in r["members"]]
        rows = [*rows[:MAX_VERSIONS - 1], _group_row("", rest, others=len(rows) - MAX_VERSIONS + 1)]
    peak = max((r["bundles"] for r in rows), default=1)
    for r in rows:
        r["bar"] = round(100 * r["bundles"] / peak, 1)
        r["bar_problems"] = round(100 * r["problems"] / peak, 1)
    return rows


def _group_row(key: str, members: list[_Bundle], others: int = 0) -> dict[str, Any]:
    causes = Counter(b.root_cause for b in members if b.root_cause)
    return {"key": key, "others": others, "members": members, "bundles": len(members),
            "problems": sum(b.verdict == "problems_found" for b in members),
            "inconclusive": sum(b.verdict == "inconclusive" for b in members),
            "failed": sum(b.verdict == "failed" for b in members),
            "top": causes.most_common(3)}


def _deployments(bundles: list[_Bundle]) -> list[dict[str, Any]]:
    """Failures per deployment: bundles with problems, inconclusive and failed analyses, top root causes."""
    groups: dict[str, list[_Bundle]] = defaultdict(list)
    for b in bundles:
        groups[b.deployment or ""].append(b)
    rows = [_group_row(key, members) for key, members in groups.items()]
    rows.sort(key=lambda r: (r["key"] == "", -(r["problems"] + r["failed"]), -r["bundles"], r["key"]))
    return rows[:MAX_DEPLOYMENTS]


def _unexplained(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Unexplained-error templates across the fleet: bundles and records showing each, first and last seen, the
    worst level, some tickets and one example (as stored: redacted); the most widespread first."""
    worst = "MAX(CASE u.level WHEN 'critical' THEN 3 WHEN 'error' THEN 2 ELSE 1 END)"
    rows = db.execute(
        f"SELECT u.template, COUNT(DISTINCT u.sha256) AS bundles, SUM(u.count) AS records, {worst} AS level,"
        " MIN(u.first_seen) AS first, MAX(u.last_seen) AS last, MIN(u.rowid) AS example_row FROM unexplained u"
        " WHERE u.sha256 IN (SELECT sha256 FROM bundles WHERE status = 'ok') GROUP BY u.template"
        " ORDER BY bundles DESC, records DESC, u.template LIMIT ?", (MAX_UNEXPLAINED,)).fetchall()
    out = []
    for r in rows:
        ex = db.execute("SELECT sha256, source, example_path, example_line, example FROM unexplained WHERE rowid = ?",
                        (r["example_row"],)).fetchone()
        tickets = [printable(t["ticket"]) for t in db.execute(
            "SELECT DISTINCT b.ticket FROM bundles b JOIN unexplained u ON u.sha256 = b.sha256"
            " WHERE u.template = ? AND b.status = 'ok' ORDER BY b.ticket LIMIT ?", (r["template"], MAX_TICKETS + 1))]
        out.append({"template": printable(r["template"]), "bundles": r["bundles"], "records": r["records"],
                    "level": ("warning", "error", "critical")[r["level"] - 1], "first": r["first"], "last": r["last"],
                    "source": printable(ex["source"] or ""), "where": printable(ex["example_path"] or ""),
                    "line": ex["example_line"], "example": printable(ex["example"] or ""),
                    "tickets": tickets[:MAX_TICKETS], "more_tickets": len(tickets) > MAX_TICKETS})
    return out


def _bundle_reports(db: sqlite3.Connection, bundles: list[_Bundle], folder: Path, lang: str) -> None:
    """Render each analyzed attachment's report in ``lang`` under the attachment's own name; set its ``link``."""
    from analyzer.report.html import to_html
    from analyzer.report.stored import StoredReportError, load_report

    docs: dict[str, dict[str, Any] | None] = {}
    used: set[str] = set()
    for b in bundles:
        if b.verdict == "failed" or not b.sha256:
            continue
        if b.sha256 not in docs:
            row = db.execute("SELECT report_json FROM reports WHERE sha256 = ?", (b.sha256,)).fetchone()
            docs[b.sha256] = json.loads(row["report_json"]) if row is not None and row["report_json"] else None
        doc = docs[b.sha256]
        if doc is None:
            continue
        try:
            html = to_html(load_report({**doc, "bundle": {**doc.get("bundle", {}), "name": b.own_name}}), lang=lang)
        except (StoredReportError, ValueError):
            continue
        stem = safe_file_name(b.ticket, b.path.rsplit("/", 1)[-1])
        name, n = f"{stem}.html", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.html"
        used.add(name.lower())
        if len(used) == 1:
            private_folder(folder)
        write_output(folder / name, html)
        b.link = f"{folder.name}/{name}"


def write_fleet_report(db_path: Path, output: Path, lang: str = "en") -> Path:
    """Render the fleet report of the catalog at ``db_path`` into ``output`` (plus its bundle reports)."""
    w = Wording(lang)
    catalog = Catalog(db_path)
    try:
        db = catalog.db
        bundles = _bundles(db, w.lang)
        _bundle_reports(db, bundles, _bundle_folder(output), w.lang)
        fleet_rows = []
        for r in db.execute("SELECT * FROM fleet_findings ORDER BY id, group_key").fetchall():
            detail = json.loads(r["detail"])
            fleet_rows.append({"id": r["id"], "group_key": printable(r["group_key"] or ""), "bundles": r["bundles"],
                               "first_seen": r["first_seen"], "last_seen": r["last_seen"],
                               "tickets": [printable(t) for t in json.loads(r["tickets"])],
                               "windows": [{**win, "vms": [printable(v) for v in win["vms"]],
                                            "tickets": [printable(t) for t in win["tickets"]]}
                                           for win in detail.get("windows", [])]})
        unexplained = _unexplained(db)
    finally:
        catalog.close()
    verdicts = Counter(b.verdict for b in bundles)
    causes = Counter(b.root_cause for b in bundles if b.root_cause)
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    css = env.get_template("fleet.css").render()  # included verbatim by the page, allowed by this hash
    html = env.get_template("fleet.html.j2").render(
        w=w, lang=w.lang, csp=_csp(css), version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        tickets=len({b.ticket for b in bundles}), bundles=bundles, verdicts=verdicts, verdict_order=VERDICTS,
        root_causes=causes.most_common(), analyzed=sum(n for v, n in verdicts.items() if v != "failed"),
        heat=_heat(bundles), agents=_distribution(bundles, "agent"),
        extensions=_distribution(bundles, "extension"), deployments=_deployments(bundles),
        fleet=fleet_rows, min_vms=fleet.MIN_VMS, window_minutes=int(fleet.WINDOW.total_seconds() // 60),
        failed=[b for b in bundles if b.verdict == "failed"], unexplained=unexplained,
        max_unexplained=MAX_UNEXPLAINED,
    )
    write_output(output, html)
    return output


def _csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; "
            "form-action 'none'; object-src 'none'")
