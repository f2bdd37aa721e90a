"""Fleet detectors over the catalog: findings no single bundle can show, and trends.

``CONCURRENT_BACKUPS`` (DESIGN.md 3.5, seed cause 4): bundles of one deployment (cloud service, the
``deployment.name`` fact from SharedConfig/HostingEnvironmentConfig) whose backup attempts start within
one window (30 minutes) on at least three distinct VMs. The fleet report groups bundles by agent and
VMSnapshot extension version (:func:`dimension`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analyzer.batch.catalog import ATTEMPT_FACT, Catalog

WINDOW = timedelta(minutes=30)
MIN_VMS = 3
MAX_WINDOWS_IN_DETAIL = 50


@dataclass(frozen=True)
class FleetFinding:
    id: str
    tickets: list[str]
    detail: dict[str, object]
    group_key: str
    first_seen: str
    last_seen: str
    bundles: int


@dataclass(frozen=True)
class _Attempt:
    at: datetime
    vm: str
    ticket: str
    sha256: str


def _fact(name: str) -> str:
    return f"(SELECT value FROM facts f WHERE f.sha256 = b.sha256 AND f.name = '{name}' LIMIT 1)"


_VM = f"COALESCE({_fact('host.name')}, {_fact('role.instance')}, b.sha256)"
_DIMENSIONS = {
    "agent": f"COALESCE({_fact('agent.goal_state_version')}, {_fact('agent.windows_version')},"
             f" {_fact('agent.daemon_version')}, 'unknown')",
    "extension": f"COALESCE({_fact('vmsnapshot.version')}, 'unknown')",
}


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # attempt times are UTC by contract


def concurrent_backups(db: sqlite3.Connection, window: timedelta = WINDOW,
                       min_vms: int = MIN_VMS) -> list[FleetFinding]:
    """One finding per deployment that has at least one window with ``min_vms`` VMs starting a backup."""
    rows = db.execute(
        f"SELECT b.ticket, b.sha256, d.value AS deployment, a.value AS attempt, {_VM} AS vm"
        " FROM bundles b"
        " JOIN facts d ON d.sha256 = b.sha256 AND d.name = 'deployment.name'"
        f" JOIN facts a ON a.sha256 = b.sha256 AND a.name = '{ATTEMPT_FACT}'"
        " WHERE b.status = 'ok'").fetchall()
    by_deployment: dict[str, list[_Attempt]] = {}
    for r in rows:
        at = _parse(r["attempt"])
        if at is not None:
            by_deployment.setdefault(r["deployment"], []).append(_Attempt(at, r["vm"], r["ticket"], r["sha256"]))
    out = []
    for deployment, attempts in sorted(by_deployment.items()):
        windows = _windows(sorted(attempts, key=lambda a: (a.at, a.vm, a.ticket)), window, min_vms)
        if not windows:
            continue
        members = [a for w in windows for a in w]
        tickets = sorted({a.ticket for a in members})
        detail: dict[str, object] = {
            "deployment": deployment,
            "window_minutes": window.total_seconds() / 60,
            "min_vms": min_vms,
            "windows": [{"start": _iso(w[0].at), "end": _iso(w[-1].at), "vms": sorted({a.vm for a in w}),
                         "tickets": sorted({a.ticket for a in w})} for w in windows[:MAX_WINDOWS_IN_DETAIL]],
            "windows_total": len(windows),
        }
        out.append(FleetFinding("CONCURRENT_BACKUPS", tickets, detail, deployment, _iso(windows[0][0].at),
                                _iso(windows[-1][-1].at), len({a.sha256 for a in members})))
    return out


def _windows(attempts: list[_Attempt], window: timedelta, min_vms: int) -> list[list[_Attempt]]:
    """Non-overlapping groups, each spanning at most ``window``, that hold at least ``min_vms`` VMs.

    Greedy from the earliest attempt: the group is every attempt within ``window`` of it; when that
    group is too small, the next attempt starts the next candidate.
    """
    out = []
    i = 0
    while i < len(attempts):
        j = i
        while j + 1 < len(attempts) and attempts[j + 1].at - attempts[i].at <= window:
            j += 1
        group = attempts[i:j + 1]
        if len({a.vm for a in group}) >= min_vms:
            out.append(group)
            i = j + 1
        else:
            i += 1
    return out


def refresh(catalog: Catalog) -> list[FleetFinding]:
    """Recompute every fleet finding from the catalog and replace the ``fleet_findings`` rows."""
    found = concurrent_backups(catalog.db)
    with catalog.transaction() as db:
        db.execute("DELETE FROM fleet_findings")
        db.executemany(
            "INSERT INTO fleet_findings (id, tickets, detail, group_key, first_seen, last_seen, bundles)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(f.id, json.dumps(f.tickets), json.dumps(f.detail, sort_keys=True), f.group_key, f.first_seen,
              f.last_seen, f.bundles) for f in found])
    return found


def dimension(name: str) -> str:
    """The SQL expression of a bundle's ``agent`` or ``extension`` version (``'unknown'`` when not shown), over
    ``bundles b``."""
    return _DIMENSIONS[name]
