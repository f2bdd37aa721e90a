"""``bundle-analyze timeline --obfuscate``: addresses and host names masked, versions kept."""

from __future__ import annotations

import json
from pathlib import Path

from analyzer.export import export_timeline
from analyzer.model import Options

LOG = (
    "2024-06-10T02:00:00.000000Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.9.1.1 is running as the "
    "goal state agent [DEBUG HeartbeatCounter: 1;HeartbeatId: 1;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1]\n"
    "2024-06-10T02:00:05.000000Z INFO EnvHandler ExtHandler Gateway:10.20.30.1 Routes:10.20.30.40\n"
)


def _export(tmp_path: Path, obfuscate: bool) -> str:
    bundle = tmp_path / "b" / "var" / "log"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "waagent.log").write_text(LOG)
    out = tmp_path / f"t{obfuscate}.jsonl"
    export_timeline(tmp_path / "b", out, "jsonl", Options(obfuscate=obfuscate))
    return out.read_text()


def test_obfuscated_timeline_masks_addresses_but_not_versions(tmp_path: Path) -> None:
    plain, masked = _export(tmp_path, False), _export(tmp_path, True)
    assert "10.20.30.40" in plain
    assert "10.20.30.40" not in masked and "10.20.30.1" not in masked and "<ip-" in masked
    rows = [json.loads(line) for line in masked.splitlines()]
    assert rows[0]["attrs"]["version"] == "2.9.1.1"
