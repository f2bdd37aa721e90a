"""CONCURRENT_BACKUPS is fleet-level (DESIGN.md 3.5): generated bundles of several VMs, through ``batch``.

Each VM is a healthy generated Linux VM (its own layout, archive, generation and zone) whose
SharedConfig names the cloud service; three of one deployment start their backup within a few minutes
of each other. Controls: the same three spread over hours, and three deployments at the same minute.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analyzer.batch.runner import BatchOptions, run_batch
from tests.scenarios.layouts import pack
from tests.scenarios.linux import LinuxVM
from tests.scenarios.render import members_of
from tests.scenarios.stories import week_before
from tests.scenarios.vm import Variant

T0 = datetime(2024, 6, 10, 1, 0, tzinfo=UTC)
# the layouts that carry SharedConfig.xml (sosreport does not copy /var/lib/waagent)
VARIANTS = (
    Variant(os="linux", layout="collect", archive="zip", gen="G4", seed=1),
    Variant(os="linux", layout="manual", archive="targz", zone="prague", reveal="etc_timezone", gen="G2", seed=2),
    Variant(os="linux", layout="diskinspect", archive="7z", zone="newyork", reveal="tzif", gen="G1", seed=3),
)


def _vm(tickets: Path, ticket: str, variant: Variant, deployment: str, backup_at: datetime) -> None:
    vm = LinuxVM(variant, f"fleet-{ticket}", backup_at)
    vm.deployment = deployment
    vm.host = f"web-{ticket}"
    week_before(vm)
    vm.backup(backup_at)
    (tickets / ticket).mkdir(parents=True)
    pack(members_of(vm), variant.archive, tickets / ticket / "logs")


def _fleet(tmp_path: Path, plan: list[tuple[str, str, int]]) -> list[tuple[str, list[str]]]:
    tickets = tmp_path / "tickets"
    for (ticket, deployment, minutes), variant in zip(plan, VARIANTS * 3, strict=False):
        _vm(tickets, ticket, variant, deployment, T0 + timedelta(minutes=minutes))
    db = tmp_path / "fleet.sqlite"
    summary = run_batch(tickets, db, BatchOptions(workers=2, timeout_s=120))
    assert summary.failed == 0 and summary.analyzed == len(plan)
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT id, tickets FROM fleet_findings").fetchall()
    finally:
        con.close()
    return [(fid, json.loads(t)) for fid, t in rows]


def test_three_vms_of_one_service_backing_up_together(tmp_path: Path) -> None:
    found = _fleet(tmp_path, [("T-1001", "cs-contoso-web", 0), ("T-1002", "cs-contoso-web", 7),
                              ("T-1003", "cs-contoso-web", 18)])
    assert found == [("CONCURRENT_BACKUPS", ["T-1001", "T-1002", "T-1003"])]


def test_no_fleet_finding_for_spread_schedules_or_separate_services(tmp_path: Path) -> None:
    spread = _fleet(tmp_path / "spread", [("T-2001", "cs-fabrikam", 0), ("T-2002", "cs-fabrikam", 70),
                                          ("T-2003", "cs-fabrikam", 150)])
    separate = _fleet(tmp_path / "separate", [("T-3001", "cs-a", 0), ("T-3002", "cs-b", 2), ("T-3003", "cs-c", 4)])
    assert spread == [] and separate == []
