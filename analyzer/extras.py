"""What a report carries beyond DESIGN.md 3.3 (``report.extras``), computed in one place from the analysis.

- ``histogram``: events per source and hour (UTC), the overview of the timeline picture;
- ``zoom``: the minutes around the failing backup: notable records (warnings, errors, backup steps) per
  source in bins of a minute or a few, each bin with its worst level and one of its records, for the
  zoomed strip of the picture and its hover texts;
- ``backup_runs``: every backup run (analyzer/detectors/scope.py) with its start, end and outcome;
  ``backup_attempts``: the UTC times the batch catalog trends;
- ``facts``: versions and host; ``window``: the ``--since``/``--until`` asked and whether any record
  falls inside; ``partial``: why reading stopped before the end of the bundle and what was not read.

Every string here that comes from the bundle is redacted with the rest of the report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analyzer.detectors.scope import Run, Scope
from analyzer.model import Analysis, Finding, severity_rank
from analyzer.sources import recognize_path
from analyzer.timeline import iso, iso_seconds, parse_iso

SAME_ATTEMPT = timedelta(minutes=2)  # an agent's enable and the extension's start of one run
TREND_FACTS = ("agent.daemon_version", "agent.goal_state_version", "agent.windows_version",
               "vmsnapshot.version", "host.distro", "host.name", "deployment.name", "role.instance")
AGENT_VERSION_FACTS = ("agent.goal_state_version", "agent.windows_version", "agent.daemon_version")
EXTENSION_VERSION_FACT = "vmsnapshot.version"

ZOOM_MIN = timedelta(minutes=12)
ZOOM_MAX = timedelta(hours=3)
ZOOM_BINS = (60, 120, 300, 600, 900)  # seconds; the smallest that keeps a zoom within MAX_ZOOM_BINS bins
MAX_ZOOM_BINS = 90
MAX_RUNS = 200  # newest backup runs carried (a bundle of months of hourly backups)
MAX_UNREAD = 50  # unread member paths named in ``partial``
TEXT_LIMIT = 300
_LEVELS = {"critical": 3, "error": 2, "warning": 1}


def collect(analysis: Analysis, findings: list[Finding]) -> dict[str, Any]:
    """``report.extras`` of an analysis (``seconds`` and ``tz`` are added by the caller)."""
    tl = analysis.timeline
    scope = Scope.of(analysis)
    extras: dict[str, Any] = {"histogram": tl.histogram(), "facts": fact_summary(analysis),
                              "backup_attempts": backup_attempts(analysis),
                              "backup_runs": [_run(r, scope.outcome_shown) for r in scope.runs[-MAX_RUNS:]]}
    zoom = _zoom(analysis, scope, findings)
    if zoom is not None:
        extras["zoom"] = zoom
    window = _window(analysis, extras["histogram"])
    if window is not None:
        extras["window"] = window
    if analysis.stopped is not None:
        # the files a parser would have read come first: they are what the report may lack
        unread = None if analysis.unread is None else sorted(analysis.unread, key=lambda p: recognize_path(p) is None)
        extras["partial"] = {"reason": analysis.stopped, "detail": analysis.stopped_detail,
                             "unread": (unread or [])[:MAX_UNREAD],
                             "unread_count": None if unread is None else len(unread)}
        if analysis.damaged:
            extras["partial"]["damaged"] = analysis.damaged[:MAX_UNREAD]
    return extras


def fact_summary(analysis: Analysis) -> dict[str, str]:
    """The last value of the facts worth showing and trending (versions, distro, deployment)."""
    out: dict[str, str] = {}
    for name in TREND_FACTS:
        f = analysis.fact(name)
        if f is not None and f.value not in (None, ""):
            out[name] = str(f.value)
    return out


def versions(facts: dict[str, str]) -> tuple[str | None, str | None]:
    """(guest agent version, backup extension version) of a fact summary."""
    agent = next((facts[n] for n in AGENT_VERSION_FACTS if facts.get(n)), None)
    return agent, facts.get(EXTENSION_VERSION_FACT) or None


def backup_attempts(analysis: Analysis) -> list[str]:
    """UTC times (ISO-8601) of every backup attempt the bundle shows (``vmsnapshot.invocation``), for the fleet.
    The agent's enable and the extension's start of one run, moments apart, are one attempt (the first)."""
    times = {f.value.get("ts") for f in analysis.facts_named("vmsnapshot.invocation") if isinstance(f.value, dict)}
    out: list[str] = []
    last: datetime | None = None
    for t in sorted(t for t in times if isinstance(t, str) and t):
        try:
            when = datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            continue
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if last is None or when - last > SAME_ATTEMPT:
            out.append(t)
        last = when
    return out


def _run(run: Run, outcome_shown: bool) -> dict[str, Any]:
    """One backup run for the picture: when, how it ended (``success``, ``error``, ``warning``; ``no_status``
    when no final status came back although the bundle holds a source that would show it, ``unknown`` when it
    holds none: ``Scope.outcome_shown``), the furthest stage it reached."""
    stages = [s.stage for s in run.dated]
    outcome = run.outcome or ("unknown" if run.ended or not outcome_shown else "no_status")
    return {"start": iso(run.ts), "end": iso(run.end_ts), "outcome": outcome, "seq": run.seq,
            "task_id": run.task_id, "stages": sorted(set(stages), key=stages.index)}


# --- the zoom around the failing backup ---------------------------------------------------------------
def _focus(scope: Scope, findings: list[Finding]) -> tuple[datetime, datetime] | None:
    """What the zoom must show: the newest backup run, else the root cause's sightings."""
    last = scope.last_run
    if last is not None:
        return last.ts, last.end_ts
    root = next((f for f in findings if f.root_cause), None)
    if root is None or not root.first_seen:
        return None
    first = parse_iso(root.first_seen)
    return first, parse_iso(root.last_seen) if root.last_seen else first


def _zoom_span(scope: Scope, findings: list[Finding]) -> tuple[datetime, datetime] | None:
    focus = _focus(scope, findings)
    if focus is None:
        return None
    lo, hi = focus
    for f in findings:  # the first sighting of a problem shortly before the backup belongs in the picture
        if f.first_seen and severity_rank(f.severity) >= severity_rank("warning"):
            seen = parse_iso(f.first_seen)
            if hi - ZOOM_MAX < seen < lo:
                lo = seen
    pad = max(timedelta(minutes=2), (hi - lo) * 0.15)
    lo, hi = lo - pad, hi + pad
    if hi - lo < ZOOM_MIN:
        middle = lo + (hi - lo) / 2
        lo, hi = middle - ZOOM_MIN / 2, middle + ZOOM_MIN / 2
    if hi - lo > ZOOM_MAX:
        lo = hi - ZOOM_MAX
    return lo, hi


def _zoom(analysis: Analysis, scope: Scope, findings: list[Finding]) -> dict[str, Any] | None:
    span = _zoom_span(scope, findings)
    if span is None:
        return None
    lo, hi = span
    seconds = (hi - lo).total_seconds()
    step = next((b for b in ZOOM_BINS if seconds / b <= MAX_ZOOM_BINS), ZOOM_BINS[-1])
    lo = datetime.fromtimestamp(lo.timestamp() // step * step, lo.tzinfo)
    bins: dict[tuple[str, datetime], dict[str, Any]] = {}
    for e in analysis.timeline.notable:
        if e.ts is None or not lo <= e.ts <= hi:
            continue
        start = datetime.fromtimestamp(e.ts.timestamp() // step * step, e.ts.tzinfo)
        b = bins.setdefault((e.source, start), {"t": iso(start), "n": 0, "level": "", "ts": "", "kind": "",
                                                "text": "", "rank": -1})
        b["n"] += 1
        rank = _LEVELS.get(e.level, 0)
        if rank > b["rank"]:  # the bin shows its worst record, the first of that level
            b.update(level=e.level, rank=rank, ts=iso(e.ts), kind=e.kind, text=e.message[:TEXT_LIMIT])
    lanes: dict[str, list[dict[str, Any]]] = {}
    for (source, _), b in sorted(bins.items()):
        del b["rank"]
        lanes.setdefault(source, []).append(b)
    return {"start": iso(lo), "end": iso(hi), "bin_seconds": step, "lanes": lanes}


# --- the analysis window ---------------------------------------------------------------------------------
def _window(analysis: Analysis, histogram: dict[str, list[tuple[str, int]]]) -> dict[str, Any] | None:
    """The ``--since``/``--until`` asked, and whether any record falls inside (by the hours that hold records)."""
    since, until = analysis.options.since, analysis.options.until
    if since is None and until is None:
        return None
    assert since is None or isinstance(since, datetime)
    assert until is None or isinstance(until, datetime)
    hour = timedelta(hours=1)
    matched = any((until is None or parse_iso(ts) <= until) and (since is None or parse_iso(ts) + hour > since)
                  for rows in histogram.values() for ts, n in rows if n)
    tl = analysis.timeline
    if tl.first is not None and tl.last is not None:
        matched = matched and (since is None or since <= tl.last) and (until is None or until >= tl.first)
    return {"since": iso_seconds(since) if since else None, "until": iso_seconds(until) if until else None,
            "matched": matched}
