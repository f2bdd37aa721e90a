"""The generator itself: deterministic, covering, real-format (the EVTX it writes reads back)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tests.scenarios.design import _complete, axes, corpus, family_cases, valid
from tests.scenarios.render import build
from tests.scenarios.stories import STORIES
from tests.scenarios.vm import Variant
from tests.scenarios.zones import ZONES, same_offset, tzif

DESIGN_3_5 = {"WIRESERVER_UNREACHABLE", "STORAGE_UNREACHABLE", "AGENT_OUTDATED", "AGENT_NOT_RUNNING",
              "AGENT_AUTO_UPDATE_DISABLED", "VERBOSE_LOGGING_DISABLED", "EXTENSIONS_DISABLED", "EXTENSION_LOAD_FAILED",
              "SNAPSHOT_EXTENSION_OUTDATED", "IAASVMPROVIDER_NOT_AUTOMATIC", "SNAPSHOT_TIMEOUT", "FS_FREEZE_FAILED",
              "SQL_VSS_FULL_BACKUP", "VSS_WRITER_FAILED", "VM_SHUTDOWN_IN_GUEST", "CONCURRENT_BACKUPS",
              "HIGH_RESOURCE_USAGE", "DHCP_FAILURE", "SNAPSHOT_LIMIT_REACHED", "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE"}


def test_every_finding_is_a_root_cause_of_some_story() -> None:
    roots = {s.family for s in STORIES.values()}
    # CONCURRENT_BACKUPS is fleet-level (test_fleet.py); VERBOSE_LOGGING_DISABLED is advice (an expected info)
    assert DESIGN_3_5 - {"CONCURRENT_BACKUPS", "VERBOSE_LOGGING_DISABLED"} <= roots
    assert {"healthy", "inconclusive"} <= roots
    for s in STORIES.values():
        if s.family in DESIGN_3_5:
            vm, _ = build(s, corpus([s])[0][1])
            assert vm.expect is not None and vm.expect.root_cause == s.family, s.name


def test_every_axis_value_appears_with_every_family() -> None:
    """Strength 1: what a family's design lacks, no story of the family can have (checked by a wide search)."""
    families: dict[tuple[str, str], list] = {}
    for s in STORIES.values():
        families.setdefault((s.os, s.family), []).append(s)
    rng = random.Random(1)
    for key, stories in families.items():
        made = family_cases(stories)
        assert {s.name for s, _ in made} == {s.name for s in stories}
        assert all(sum(1 for s, _ in made if s.name == st.name) >= 2 for st in stories), key
        seen = {(a, getattr(v, a)) for s, v in made for a in axes(s)}
        for s in stories:
            for a, values in axes(s).items():
                for value in values:
                    if (a, value) not in seen:
                        c, _ = _complete(s, {a: value}, set(), rng, tries=3000)
                        assert c is None, f"{key}: {a}={value} is possible ({c}) but no case has it"


def test_cases_are_valid_and_stable() -> None:
    first = corpus(list(STORIES.values()))
    again = corpus(list(STORIES.values()))
    assert [(s.name, v) for s, v in first] == [(s.name, v) for s, v in again]
    for s, v in first:
        assert valid(s, {a: getattr(v, a) for a in axes(s)}), (s.name, v)


def test_rendering_is_deterministic() -> None:
    for name in ("linux-healthy-routine", "windows-shutdown-in-guest"):
        s = STORIES[name]
        v = corpus([s])[0][1]
        assert build(s, v)[1] == build(s, v)[1]


def test_backup_days_keep_one_offset_in_every_zone() -> None:
    from datetime import timedelta

    from tests.scenarios.stories import _DAYS

    for day in _DAYS:
        t0 = datetime.fromisoformat(day).replace(tzinfo=UTC)
        for z in ZONES.values():
            assert same_offset(z, t0 - timedelta(days=13), t0 + timedelta(days=2)), (day, z.key)


def test_tzif_reads_back_with_its_rules() -> None:
    import io
    from zoneinfo import ZoneInfo

    for z in ZONES.values():
        info = ZoneInfo.from_file(io.BytesIO(tzif(z)))
        for t in (datetime(2024, 1, 15, 12, tzinfo=UTC), datetime(2024, 7, 15, 12, tzinfo=UTC)):
            assert t.astimezone(info).utcoffset() == z.offset(t), z.key


def test_written_evtx_reads_back_event_by_event(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The evtx package reads every record the writer wrote, with its id, time, level and data."""
    import json

    import evtx

    s = STORIES["windows-shutdown-in-guest"]
    v = Variant(os="windows", layout="guest", archive="folder", events="evtx", seed=3)
    vm, members = build(s, v)
    for channel in ("System", "Application"):
        want = sorted((e for e in vm.events if e.channel == channel), key=lambda e: e.t)
        data = next((d for k, d in members.items() if k.endswith(f"winevt/Logs/{channel}.evtx")), None)
        if not want:
            continue
        path = tmp_path / f"{channel}.evtx"
        path.write_bytes(data)  # type: ignore[arg-type]
        got = [json.loads(r["data"])["Event"] for r in evtx.PyEvtxParser(str(path)).records_json()]
        assert len(got) == len(want)
        for g, e in zip(got, want, strict=True):
            system = g["System"]
            eid = system["EventID"]
            assert (eid["#text"] if isinstance(eid, dict) else eid) == e.event_id
            assert system["Provider"]["#attributes"]["Name"] == e.provider
            assert system["Level"] == e.level and system["Channel"] == channel
            stamp = system["TimeCreated"]["#attributes"]["SystemTime"]
            assert datetime.fromisoformat(stamp.replace("Z", "+00:00")) == e.t


def test_layouts_are_recognized() -> None:
    """The layout the report names is the one the generator rendered (Azure disk-inspect output has no public
    sample to check its marker against)."""
    from analyzer.sources import detect_layout

    want = {"collect": "waagent-collect-logs", "sosreport": "sosreport", "manual": "manual-tarball",
            "guest": "windows-guest-logs"}
    for name in ("linux-healthy-routine", "windows-healthy-routine"):
        s = STORIES[name]
        for layout, expected in want.items():
            if layout not in axes(s)["layout"]:
                continue
            v = next((v for _, v in family_cases([s]) if v.layout == layout), None)
            if v is None:
                v = _variant_with(s, layout)
            if v is None:
                continue
            _, members = build(s, v)
            assert detect_layout(list(members)) == expected, (name, layout)


def _variant_with(story, layout: str) -> Variant | None:  # type: ignore[no-untyped-def]
    c, _ = _complete(story, {"layout": layout}, set(), random.Random(layout), tries=2000)
    return None if c is None else Variant(os=story.os, seed=0, **c)
