"""The timeline picture of the HTML report: what a support engineer would draw on a whiteboard.

Two panels of inline SVG, computed here from ``report.extras`` (analyzer/extras.py) and drawn by the template:

- the **overview**: one lane per source with a human name, records per bin (the bin sized to the span:
  an hour for a day of logs, a day for a month), every backup run as a dot coloured by its outcome, each
  finding's first sighting as a numbered badge, and the stretch the zoom shows;
- the **zoom** around the failing backup: warnings, errors and backup records in bins of a minute or a
  few, coloured by their worst level, each backup run as a band from its start to its end coloured by its
  outcome, the findings first seen there.

Ticks fall on round times (every 5 minutes, hour, 6 hours, day...); badges are laid out in rows so that
none overlaps another; every cell, dot and band has a hover text (an SVG ``title``). The overview is left
out when the zoom already spans the whole bundle. Everything is worded by :class:`Wording` and escaped
by the template; nothing here is HTML.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.model import SEVERITIES, Finding, Message, Report
from analyzer.report.wording import Wording
from analyzer.timeline import parse_iso

WIDTH, LEFT, RIGHT = 1000, 200, 14
LANE, RUN_LANE, BADGE_ROW, AXIS = 20, 20, 18, 22
MAX_BADGE_ROWS = 3
MAX_BINS = 120
OVERVIEW_BINS_H = (1, 2, 3, 6, 12, 24, 48, 168)  # hours
TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2419200)
MAX_TICKS = 8
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)  # weekly ticks fall on Mondays
LANE_ORDER = ("waagent_log", "wa_app_agent_log", "vmsnapshot_log", "vmsnapshot_windows_log", "extension_state",
              "agent_state", "wire_xml", "syslog", "evtx", "event_xml", "event_csv", "event_text")
OUTCOMES = ("success", "error", "warning", "no_status", "unknown")


@dataclass
class Cell:
    x: float
    w: float
    y: float
    cls: str  # density | lv-error | lv-warning | lv-info
    opacity: float
    title: str


@dataclass
class Lane:
    name: str
    y: float


@dataclass
class Run:
    x: float
    w: float  # 0 in the overview: a dot
    cls: str  # out-<outcome>
    title: str
    label: str  # shown when the band is wide enough


@dataclass
class Badge:
    x: float  # where the finding was first seen
    bx: float  # the badge's centre (moved right when the row is taken there)
    y: float
    label: str
    cls: str  # sev-<severity>
    title: str


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Panel:
    kind: str  # overview | zoom
    caption: str
    height: float
    top: float  # y of the runs lane
    bottom: float  # y where the lanes end
    lanes: list[Lane] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    badges: list[Badge] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    zoom_box: tuple[float, float] | None = None  # the overview's x range that the zoom panel shows
    width: int = WIDTH
    left: int = LEFT
    plot_right: int = WIDTH - RIGHT


class _Scale:
    """UTC time -> x in the plot."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, max(end, start + timedelta(minutes=1))
        self.span = (self.end - self.start).total_seconds()

    def x(self, t: datetime) -> float:
        frac = (t - self.start).total_seconds() / self.span
        return round(LEFT + min(1.0, max(0.0, frac)) * (WIDTH - LEFT - RIGHT), 1)

    def contains(self, t: datetime) -> bool:
        return self.start <= t <= self.end


def _floor(t: datetime, seconds: int) -> datetime:
    base = _MONDAY if seconds % 604800 == 0 else datetime(1970, 1, 1, tzinfo=UTC)
    return base + timedelta(seconds=(t - base).total_seconds() // seconds * seconds)


def _ticks(scale: _Scale) -> list[Tick]:
    """Round times: the smallest step from TICK_STEPS that gives at most MAX_TICKS ticks; a date where the day
    changes."""
    step = next((s for s in TICK_STEPS if scale.span / s <= MAX_TICKS), TICK_STEPS[-1])
    t = _floor(scale.start, step)
    if t < scale.start:
        t += timedelta(seconds=step)
    ticks, last_day = [], None
    while t <= scale.end:
        if step >= 86400:
            label = t.strftime("%Y-%m-%d" if last_day is None or t.year != last_day.year else "%m-%d")
        else:
            label = t.strftime("%H:%M" if last_day == t.date() else "%m-%d %H:%M")
        ticks.append(Tick(scale.x(t), label))
        last_day = t.date() if step < 86400 else t
        t += timedelta(seconds=step)
    return ticks


def _lane_order(sources: set[str]) -> list[str]:
    return sorted(sources, key=lambda s: (LANE_ORDER.index(s) if s in LANE_ORDER else len(LANE_ORDER), s))


def _badges(panel: Panel, scale: _Scale, findings: list[Finding], w: Wording) -> int:
    """Numbered badges at each finding's first sighting inside the panel, in rows so that none overlaps;
    returns the rows used."""
    marks = sorted(((parse_iso(f.first_seen), i, f) for i, f in enumerate(findings, 1)
                    if f.first_seen and scale.contains(parse_iso(f.first_seen))), key=lambda m: (m[0], m[1]))
    ends: list[float] = []  # right edge of the last badge of each row
    placed: list[tuple[float, float, int, int, Finding]] = []  # (x, badge centre, row, number, finding)
    for t, i, f in marks:
        x, half = scale.x(t), 4 + 4 * len(str(i))
        row = next((r for r, end in enumerate(ends) if end + 2 <= x - half), None)
        if row is None and len(ends) < MAX_BADGE_ROWS:
            row = len(ends)
            ends.append(-math.inf)
        if row is None:  # every row is taken here: the one that frees up first, moved right
            row = min(range(len(ends)), key=lambda r: ends[r])
        bx = max(x, ends[row] + 2 + half)
        ends[row] = bx + half
        placed.append((x, bx, row, i, f))
    for x, bx, row, i, f in placed:  # row 0 nearest the lanes
        sev = f.severity if f.severity in SEVERITIES else "info"
        y = 4 + (len(ends) - 1 - row) * BADGE_ROW + BADGE_ROW / 2
        panel.badges.append(Badge(x, round(bx, 1), y, str(i), f"sev-{sev}",
                                  w.label("finding_marker", n=i, id=f.id, ts=f.first_seen)))
    return len(ends)


def _run_text(run: dict[str, Any], w: Wording) -> tuple[str, str]:
    """(hover text, short label) of a backup run."""
    outcome = w.outcome(run.get("outcome") if run.get("outcome") in OUTCOMES else "unknown")
    seq, task = run.get("seq"), run.get("task_id")
    name = w.say(Message("run.seq_task", {"seq": seq or "?", "task_id": task})) if task else \
        w.say(Message("run.seq", {"seq": seq or "?"}))
    title = w.label("run_title", run=name, outcome=outcome, start=run.get("start", ""), end=run.get("end", ""))
    return title, w.label("run_label", outcome=outcome)


def _runs(report: Report) -> list[tuple[datetime, datetime, dict[str, Any]]]:
    out = []
    for r in report.extras.get("backup_runs") or []:
        try:
            start, end = parse_iso(r["start"]), parse_iso(r["end"])
        except (KeyError, TypeError, ValueError):
            continue
        out.append((start, max(start, end), r))
    return out


def _frame(panel: Panel, rows: int, lanes: list[str], w: Wording) -> None:
    """Vertical layout: badge rows, the runs lane, the source lanes, the axis."""
    panel.top = 4 + rows * BADGE_ROW + 4
    panel.lanes = [Lane(w.lane(s), panel.top + RUN_LANE + i * LANE) for i, s in enumerate(lanes)]
    panel.bottom = panel.top + RUN_LANE + len(lanes) * LANE
    panel.height = panel.bottom + AXIS


def _overview(report: Report, findings: list[Finding], w: Wording,
              zoom: tuple[datetime, datetime] | None) -> Panel | None:
    hist = report.extras.get("histogram") or {}
    series: dict[str, list[tuple[datetime, int]]] = {}
    for src, rows in hist.items():
        for ts, n in rows:
            try:
                series.setdefault(src, []).append((parse_iso(ts), int(n)))
            except (TypeError, ValueError):
                continue
    runs = _runs(report)
    times = [t for rows in series.values() for t, _ in rows]
    ends = [t + timedelta(hours=1) for t in times] + [e for _, e, _ in runs]
    starts = times + [s for s, _, _ in runs] + [parse_iso(f.first_seen) for f in findings if f.first_seen]
    if not starts:
        return None
    start, end = min(starts), max(ends + starts)
    if zoom is not None and zoom[0] <= start and end <= zoom[1] + timedelta(hours=1) and \
            (end - start) <= timedelta(hours=4):
        return None  # the zoom shows it all, minute by minute
    hours = max(1.0, (end - start).total_seconds() / 3600)
    bin_h = next((b for b in OVERVIEW_BINS_H if hours / b <= MAX_BINS), OVERVIEW_BINS_H[-1])
    start = _floor(start, bin_h * 3600)
    end = max(end, start + timedelta(hours=bin_h))
    scale = _Scale(start, end)
    lanes = _lane_order(set(series))
    panel = Panel("overview", w.label("timeline_overview", bin=w.duration(bin_h * 3600)), 0, 0, 0)
    _frame(panel, _badges(panel, scale, findings, w), lanes, w)
    peak = 1
    binned: dict[str, Counter[datetime]] = {}
    for src in lanes:
        c: Counter[datetime] = Counter()
        for t, n in series[src]:
            c[_floor(t, bin_h * 3600)] += n
        binned[src] = c
        peak = max(peak, *c.values())
    cell_w = max(1.5, scale.x(start + timedelta(hours=bin_h)) - scale.x(start) - 0.5)
    for lane, src in zip(panel.lanes, lanes, strict=True):
        for t, n in sorted(binned[src].items()):
            panel.cells.append(Cell(scale.x(t), round(cell_w, 1), lane.y + 3, "density", _opacity(n, peak),
                                    w.label("cell_title", source=lane.name, start=t.strftime("%Y-%m-%d %H:%M"),
                                            n=n)))
    for s, _, r in runs:
        title, _ = _run_text(r, w)
        panel.runs.append(Run(scale.x(s), 0, f"out-{_outcome(r)}", title, ""))
    panel.ticks = _ticks(scale)
    if zoom is not None:
        x0, x1 = scale.x(zoom[0]), scale.x(zoom[1])
        panel.zoom_box = (x0 - 2, max(x1, x0 + 4) + 2)
    return panel


def _zoom(report: Report, findings: list[Finding], w: Wording) -> Panel | None:
    z = report.extras.get("zoom")
    if not isinstance(z, dict):
        return None
    try:
        scale = _Scale(parse_iso(z["start"]), parse_iso(z["end"]))
        step = int(z.get("bin_seconds") or 60)
    except (KeyError, TypeError, ValueError):
        return None
    lanes_data: dict[str, list[dict[str, Any]]] = {s: v for s, v in (z.get("lanes") or {}).items() if v}
    lanes = _lane_order(set(lanes_data))
    panel = Panel("zoom", w.label("timeline_zoom", start=scale.start.strftime("%Y-%m-%d %H:%M"),
                                  end=scale.end.strftime("%H:%M"), bin=w.duration(step)), 0, 0, 0)
    _frame(panel, _badges(panel, scale, findings, w), lanes, w)
    peak = max((int(b.get("n") or 0) for v in lanes_data.values() for b in v), default=1)
    cell_w = max(2.0, scale.x(scale.start + timedelta(seconds=step)) - scale.x(scale.start) - 1)
    for lane, src in zip(panel.lanes, lanes, strict=True):
        for b in lanes_data[src]:
            try:
                t = parse_iso(b["t"])
            except (KeyError, TypeError, ValueError):
                continue
            level = str(b.get("level") or "")
            cls = "lv-error" if level in ("error", "critical") else "lv-warning" if level == "warning" else "lv-info"
            n = int(b.get("n") or 0)
            title = w.label("zoom_cell_title", source=lane.name, start=t.strftime("%H:%M"), n=n, level=w.level(level),
                            ts=b.get("ts") or "", text=b.get("text") or "")
            panel.cells.append(Cell(scale.x(t), round(min(cell_w, panel.plot_right - scale.x(t)), 1), lane.y + 3,
                                    cls, max(0.55, _opacity(n, peak)), title))
    runs = _runs(report)
    for k, (s, ended, r) in enumerate(runs):
        if ended < scale.start or s > scale.end:
            continue
        # a run without a final status was still open when the bundle was taken: up to the next run, or the end
        e = min([scale.end, *(s2 for s2, _, _ in runs[k + 1:] if s2 > s)]) if _outcome(r) == "no_status" else ended
        title, label = _run_text(r, w)
        x0, x1 = scale.x(s), scale.x(e)
        panel.runs.append(Run(x0, round(max(3.0, x1 - x0), 1), f"out-{_outcome(r)}", title,
                              label if x1 - x0 > 7 * len(label) else ""))
    panel.ticks = _ticks(scale)
    return panel


def _outcome(run: dict[str, Any]) -> str:
    return str(run.get("outcome")) if run.get("outcome") in OUTCOMES else "unknown"


def _opacity(n: int, peak: int) -> float:
    return round(0.25 + 0.75 * math.log1p(n) / math.log1p(max(peak, n, 1)), 2)


def timeline_picture(report: Report, findings: list[Finding], w: Wording) -> list[Panel]:
    """The panels to draw, overview first; empty when the report holds no dated record."""
    zoom_panel = _zoom(report, findings, w)
    z = report.extras.get("zoom")
    span = (parse_iso(z["start"]), parse_iso(z["end"])) if zoom_panel is not None and isinstance(z, dict) else None
    overview = _overview(report, findings, w, span)
    return [p for p in (overview, zoom_panel) if p is not None]
