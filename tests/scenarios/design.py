"""Variation axes, what combinations a real bundle can have, and seeded covering designs over them.

CI renders, per story, a covering design of strength 1 (every value of every axis appears at least
once with the story), chosen greedily with a seeded generator so that the cases are the same on every
run. ``pairwise`` covers every pair of values of two axes; ``full`` is the whole cross product (very
large: use it with one story). Combinations a real bundle cannot have are excluded by ``valid``: e.g.
``waagent -collect-logs`` never copies /etc/timezone, a symlink survives only in tar and folders, the
interleaved-clock reveal needs a local-time daemon beside a UTC goal-state agent.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from tests.scenarios.layouts import ARCHIVES, LINUX_LAYOUTS, WINDOWS_LAYOUTS
from tests.scenarios.stories import Story
from tests.scenarios.vm import Variant, stable_seed
from tests.scenarios.zones import ZONES

ZONE_KEYS = tuple(ZONES)
LINUX_REVEALS = ("none", "interleaved", "etc_timezone", "tzif", "localtime_link", "localtime_text", "sysconfig_clock",
                 "timedatectl", "date")
WINDOWS_REVEALS = ("none", "registry", "systeminfo", "twin")
WINDOWS_EVENTS = ("evtx", "xml", "wevtutil_xml", "csv", "txt", "wevtutil_text", "copied", "formatlist", "keyvalue")
LOCAL_EXPORTS = ("csv", "txt", "wevtutil_text", "copied", "formatlist", "keyvalue")


def axes(story: Story) -> dict[str, tuple[str, ...]]:
    common = {"archive": ARCHIVES, "zone": ZONE_KEYS, "encoding": ("utf8", "crlf", "utf16")}
    if story.os == "linux":
        return {"layout": LINUX_LAYOUTS, **common, "reveal": LINUX_REVEALS,
                "rotation": ("none", "numbered", "dateext", "fresh"), "gen": story.gens,
                "agentlog": ("file", "syslog", "journal"), "extlog": ("py3", "py2")}
    return {"layout": WINDOWS_LAYOUTS, **common, "reveal": WINDOWS_REVEALS, "waa": ("A", "B"),
            "events": WINDOWS_EVENTS}


def valid(story: Story, c: dict[str, str]) -> bool:
    """Whether a real bundle can look like this (see the module docstring)."""
    zone, reveal, layout, archive = c["zone"], c["reveal"], c["layout"], c["archive"]
    if zone != "utc" and reveal == "none":
        return False  # a local-time VM whose bundle hides its zone: no tool can be right
    if story.os == "linux":
        old = "old-agent" in story.tags
        if reveal == "interleaved" and (old or c["gen"] not in ("G1", "G2")):
            return False
        if layout == "collect" and (old or reveal not in ("none", "interleaved")):
            return False
        if reveal in ("timedatectl", "date") and layout not in ("sosreport", "manual", "flat"):
            return False
        if reveal == "localtime_link" and (archive not in ("targz", "tarxz", "nested", "folder")
                                           or layout not in ("manual", "sosreport", "diskinspect")):
            return False
        if layout == "flat" and reveal in ("tzif", "localtime_link", "localtime_text", "sysconfig_clock"):
            return False
        if c["agentlog"] != "file" and layout not in ("sosreport", "manual", "flat"):
            return False  # collectors that take /var/log/waagent.log* always find it
        if c["encoding"] != "utf8" and layout not in ("manual", "flat"):
            return False  # collectors copy bytes as they are: CRLF/UTF-16 come from files handled on Windows
        if c["rotation"] != "none" and c["agentlog"] != "file":
            return False
        return not ("needs-waagent-log" in story.tags and c["agentlog"] != "file")
    events = c["events"]
    if events == "evtx" and layout == "flat":
        return False
    if reveal == "twin" and events in ("evtx", "xml", "wevtutil_xml"):
        return False  # the twin reveal is a local export *beside* a UTC one: rendered from the local side
    return not (layout == "tss" and events not in ("evtx", "csv", "txt"))


def _variant(story: Story, c: dict[str, str], seed: int) -> Variant:
    return Variant(os=story.os, seed=seed, **c)


MIN_CASES = 2  # per story: a metamorphic comparison needs two renderings


def _targets(ax: dict[str, tuple[str, ...]], strength: int) -> set[tuple[tuple[str, str], ...]]:
    out: set[tuple[tuple[str, str], ...]] = set()
    for combo in itertools.combinations(list(ax), strength):
        for values in itertools.product(*(ax[a] for a in combo)):
            out.add(tuple(zip(combo, values, strict=True)))
    return out


def _complete(story: Story, goal: dict[str, str], targets: set[tuple[tuple[str, str], ...]],
              rng: random.Random, tries: int = 60) -> tuple[dict[str, str] | None, int]:
    """The valid completion of ``goal`` (of ``tries`` random ones) that covers the most open targets."""
    ax = axes(story)
    if any(a not in ax or v not in ax[a] for a, v in goal.items()):
        return None, -1
    names = list(ax)
    open_vals = {a: [v for v in ax[a] if any((a, v) in t for t in targets)] for a in names}
    best: dict[str, str] | None = None
    best_gain = -1
    for _ in range(tries):
        c = dict(goal)
        for a in names:
            if a not in c:
                pool = open_vals[a] if open_vals[a] and rng.random() < 0.7 else ax[a]
                c[a] = rng.choice(pool)
        if not valid(story, c):
            continue
        gain = sum(1 for t in targets if all(c[a] == v for a, v in t))
        if gain > best_gain:
            best, best_gain = c, gain
    return best, best_gain


def family_cases(stories: list[Story], strength: int = 1) -> list[tuple[Story, Variant]]:
    """A seeded covering design for one story family (stories of one OS with one root cause, or healthy):
    every value (strength 1) or pair of values (2) of every axis that some valid bundle of the family can
    have appears in at least one case, and every story gets at least ``MIN_CASES`` cases."""
    stories = sorted(stories, key=lambda s: s.name)
    rng = random.Random(stable_seed("design", *(s.name for s in stories), strength))
    targets: set[tuple[tuple[str, str], ...]] = set()
    for s in stories:
        targets |= _targets(axes(s), strength)
    infeasible: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    made: dict[str, list[Variant]] = {s.name: [] for s in stories}

    def supports(s: Story, t: tuple[tuple[str, str], ...]) -> bool:
        ax = axes(s)
        return (s.name, t) not in infeasible and all(a in ax and v in ax[a] for a, v in t)

    def add(s: Story, c: dict[str, str]) -> None:
        nonlocal targets
        targets = {t for t in targets if not all(c.get(a) == v for a, v in t)}
        made[s.name].append(_variant(s, c, len(made[s.name])))

    while targets:
        progress = False
        for s in sorted(stories, key=lambda x: (len(made[x.name]), x.name)):
            goals = sorted(t for t in targets if supports(s, t))
            while goals:
                goal = rng.choice(goals)
                c, _ = _complete(s, dict(goal), targets, rng)
                if c is None:
                    c, _ = _complete(s, dict(goal), set(), rng, tries=600)  # rare values: search wider
                if c is not None:
                    add(s, c)
                    progress = True
                    break
                infeasible.add((s.name, goal))
                goals.remove(goal)
            if progress:
                break
        if not progress:
            break  # what is left no valid bundle of the family can have
    for s in stories:
        while len(made[s.name]) < MIN_CASES:
            c, _ = _complete(s, {}, targets, rng, tries=400)
            assert c is not None, f"{s.name}: no valid variant"
            add(s, c)
    order = {s.name: i for i, s in enumerate(stories)}
    return sorted(((s, v) for s in stories for v in made[s.name]), key=lambda x: (order[x[0].name], x[1].seed))


def corpus(stories: list[Story], strength: int = 1) -> list[tuple[Story, Variant]]:
    """Every family's covering design, families in a stable order."""
    fams: dict[tuple[str, str], list[Story]] = {}
    for s in stories:
        fams.setdefault((s.os, s.family), []).append(s)
    return [case for key in sorted(fams) for case in family_cases(fams[key], strength)]


def cases(story: Story, strength: int = 1) -> list[Variant]:
    """The cases of one story in the corpus design of its family."""
    from tests.scenarios.stories import STORIES

    family = [s for s in STORIES.values() if s.os == story.os and s.family == story.family]
    return [v for s, v in family_cases(family, strength) if s.name == story.name]


def full_cases(story: Story) -> Iterator[Variant]:
    """Every valid combination of every axis (lazily: there are many)."""
    ax = axes(story)
    names = list(ax)
    n = 0
    for values in itertools.product(*(ax[a] for a in names)):
        c = dict(zip(names, values, strict=True))
        if valid(story, c):
            yield _variant(story, c, n)
            n += 1


def uncovered(story: Story, variants: list[Variant]) -> set[tuple[str, str]]:
    """(axis, value) pairs no case of ``variants`` has, among those some valid bundle can have."""
    ax = axes(story)
    seen = {(a, getattr(v, a)) for v in variants for a in ax}
    possible = {(a, val) for a in ax for val in ax[a]}
    return possible - seen
