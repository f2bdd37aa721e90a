"""What a generated VM holds before it is written out: records with UTC times, state files, expectations.

A story (``stories.py``) fills a :class:`LinuxVM` or :class:`WindowsVM` with *what happened*, in UTC:
agent records, extension records, kernel lines, Windows events, registry values. The renderers
(``linux.py``, ``windows.py``) then write it the way the real writer would for the variant at hand:
the record format of each agent generation, local or UTC clocks, syslog copies, rotations, CRLF or
UTF-16, the export format of the event logs. Nothing in a story depends on the variant except the
choices the real VM would make itself (the wording of an older agent).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenarios.zones import ZONES, Zone


@dataclass(frozen=True)
class Variant:
    """One rendering of a story. Every field is an axis of the corpus (``design.py``)."""

    os: str
    layout: str
    archive: str
    zone: str = "utc"
    reveal: str = "none"  # how the bundle shows the VM's time zone
    encoding: str = "utf8"  # utf8 | crlf | utf16
    rotation: str = "none"  # none | numbered | dateext | fresh
    gen: str = "G4"  # Linux: oldest agent record generation in the bundle
    agentlog: str = "file"  # Linux: file | syslog | journal (where the agent records are)
    extlog: str = "py3"  # Linux: VMSnapshot extension.log writer (py3 UTC, py2 local)
    waa: str = "B"  # Windows: WaAppAgent.log format A or B
    events: str = "evtx"  # Windows: how the event logs were exported
    seed: int = 0

    def id(self) -> str:
        parts = [self.layout, self.archive, f"{self.zone}-{self.reveal}", self.encoding, self.rotation]
        parts += [self.gen, self.agentlog, self.extlog] if self.os == "linux" else [f"waa{self.waa}", self.events]
        return "-".join(parts) + f"-s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Expect:
    findings: list[str]
    root_cause: str | None
    verdict: str
    optional: list[str] = field(default_factory=list)  # may be reported (e.g. a symptom at warning) or not

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"findings": sorted(self.findings), "root_cause": self.root_cause,
                               "verdict": self.verdict}
        if self.optional:
            out["optional"] = sorted(self.optional)
        return out


def stable_seed(*parts: object) -> int:
    import zlib

    return zlib.crc32("|".join(str(p) for p in parts).encode())


class VM:
    """State shared by both operating systems."""

    os = "any"

    def __init__(self, variant: Variant, story: str, t0: datetime) -> None:
        self.variant = variant
        self.story = story
        self.t0 = t0  # the failing (or the last) backup: CRP's command start time
        self.rng = random.Random(stable_seed(story, variant.seed))
        self.zone: Zone = ZONES[variant.zone]
        self.files: dict[str, bytes | str] = {}
        self.expect: Expect | None = None
        self.host = self.rng.choice(["vm-web01", "sqlprod02", "app-eus-03", "batchnode7", "contoso-db1"])
        self.deployment = uuid.UUID(int=self.rng.getrandbits(128)).hex
        self.attempts: list[datetime] = []  # backup attempts (UTC), for the fleet test
        self.earliest = t0  # first instant any file talks about (for the DST check)
        self.collected = t0 + timedelta(hours=3)  # when the bundle was collected

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def at(self, minutes: float) -> datetime:
        """``t0 + minutes``; also widens the period the bundle covers."""
        t = self.t0 + timedelta(minutes=minutes)
        self.earliest = min(self.earliest, t)
        return t

    def file(self, path: str, content: bytes | str) -> None:
        self.files[path] = content

    def expect_(self, findings: list[str], root: str | None, verdict: str | None = None,
                optional: list[str] | None = None) -> None:
        verdict = verdict or ("problems_found" if root else "healthy")
        self.expect = Expect(list(findings), root, verdict, list(optional or []))


def dotnet_ticks(t: datetime) -> int:
    from tests.batch.bundles import dotnet_ticks as ticks

    return ticks(t.astimezone(UTC))
