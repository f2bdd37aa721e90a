"""Run the corpus, compare with the expectations, and sort the failures by the behaviour classes of issue 13.

    python3 -m tests.scenarios.triage            # failures grouped by class, with expected vs got
    python3 -m tests.scenarios.triage --write    # also rewrite known.py (the strict xfail table)

The class of a failure is proposed from the report's evidence (e.g. an FS_FREEZE_FAILED whose evidence
is ``Retry to aquire lock count: 0`` is class 2, a routine trace read as a failure); review the
proposal before committing known.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.scenarios.stories import STORIES
from tests.scenarios.vm import Variant

CLASSES = {
    "1": "class 1: a Windows backup attempt is not matched with the run it triggered",
    "2": "class 2: a routine trace is read as a failure",
    "3": "class 3: a re-reported status is counted as a fresh success",
    "4": "class 4: local times not converted with the zone the bundle shows",
    "5": "class 5: one symptom counted twice or as the wrong cause",
    "6": "class 6: causal reading (WireServer answered, DHCP chain, alive agent, observed failure first)",
    "7": "class 7: an older (2.2.x) agent wording is not recognized",
    "8": "class 8: a Windows text export or command output as people paste it is not read",
    "9": "class 9: verdict with agent records only in syslog/journal, or sources that yielded nothing",
    "D": "an event known by its EventData only (.evtx, wevtutil XML without RenderingInfo) is misread",
    "U": "unexplained errors (new capability of issue 13): an unknown failure must make the verdict inconclusive",
    "?": "unclassified: see the case",
}


def run_case(story_name: str, variant: Variant, out: Path) -> dict[str, Any]:
    """Render and analyze one case; a picklable summary of what the tool said."""
    from analyzer.api import analyze
    from analyzer.evaluate import bundle_of, judge
    from analyzer.report.wording import Wording
    from tests.scenarios.render import render_case

    folder = render_case(STORIES[story_name], variant, out)
    exp = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    report = analyze(bundle_of(folder))
    res = judge(folder.name, exp, report)
    words = Wording(report=report)
    return {
        "case": folder.name, "story": story_name, "variant": variant.to_dict(), "expected": exp,
        "ok": res.exact and (exp.get("verdict") is None or res.verdict_reported == exp["verdict"]),
        "reported": sorted(res.reported), "root": res.root_reported, "verdict": res.verdict_reported,
        "tz": report.extras.get("tz"),
        "findings": [{"id": f.id, "severity": f.severity, "root": f.root_cause, "explanation": words.explanation(f),
                      "evidence": [words.evidence(e) for e in f.evidence[:6]]} for f in report.findings],
        "sources": [{"path": s.path, "parser": s.parser, "status": s.status, "events": s.events}
                    for s in report.sources],
    }


def _tz_wrong(o: dict[str, Any]) -> bool:
    from tests.scenarios.stories import t0_for
    from tests.scenarios.zones import ZONES

    v = Variant(**o["variant"])
    zone = ZONES[v.zone]
    off = zone.offset(t0_for(o["story"], v))
    want = f"UTC{off.total_seconds() / 3600:+g}h"
    return off != timedelta(0) and o["tz"] != want


def classify(o: dict[str, Any]) -> list[str]:
    """Issue-13 classes that explain a failing case (see the module docstring)."""
    exp = o["expected"]
    v = Variant(**o["variant"])
    want = set(exp["findings"]) - set(exp.get("optional", []))
    got = set(o["reported"])
    extra, missing = got - want, want - got
    ev = {f["id"]: " | ".join(f["evidence"]) for f in o["findings"]}
    expl = {f["id"]: f["explanation"] for f in o["findings"]}
    out: set[str] = set()
    story = o["story"]
    for f in extra:
        text = ev.get(f, "")
        if f == "AGENT_NOT_RUNNING" and v.os == "windows" and "never invoked" in text:
            out.add("1")
        elif f == "AGENT_NOT_RUNNING" and "late-invocation" in story:
            out.add("6")
        elif f == "SNAPSHOT_TIMEOUT" and v.os == "windows":
            out.add("1")
        elif (f == "FS_FREEZE_FAILED" and ("lock count: 0" in text or "Logs during Freeze Start" in text)) or (
                f == "WIRESERVER_UNREACHABLE" and ("responseBody" in text or "extensionArtifact" in text)):
            out.add("2")
        elif f == "WIRESERVER_UNREACHABLE" and any(k in text for k in ("410", "ResourceGone", "vmSettings", "stale")):
            out.add("6")
        elif f == "HIGH_RESOURCE_USAGE" and "hung-task" in story:
            out.add("5")
        elif f == "SNAPSHOT_TIMEOUT" and "never reported a final status" in text and _tz_wrong(o):
            out.add("4")
        elif f == "AGENT_NOT_RUNNING" and v.os == "windows":
            out.add("1")
    root_e, root_g = exp["root_cause"], o["root"]
    if root_e != root_g:
        if (root_e, root_g) in (("HIGH_RESOURCE_USAGE", "EXTENSION_LOAD_FAILED"), ("FS_FREEZE_FAILED",
                                                                                 "HIGH_RESOURCE_USAGE")):
            out.add("5")
        if root_g == "AGENT_OUTDATED" and root_e not in (None, "AGENT_OUTDATED", "AGENT_AUTO_UPDATE_DISABLED"):
            out.add("6")
        if root_g == "AGENT_NOT_RUNNING" and root_e == "VM_SHUTDOWN_IN_GUEST" and v.os == "linux":
            out.add("6")
    if "WIRESERVER_UNREACHABLE" in missing and "DHCP_FAILURE" in want:
        out.add("6")
    if missing & {"AGENT_NOT_RUNNING", "WIRESERVER_UNREACHABLE"} and "-22x-" in story:
        out.add("7")
    if "republished-status" in STORIES[story].tags and any(
            f["id"] in want | {root_e} and f["severity"] == "info" and "recovered" in f["explanation"]
            for f in o["findings"]):
        out.add("3")
    if v.os == "windows" and "never invoked" in ev.get("AGENT_NOT_RUNNING", ""):
        out.add("1")
    if v.os == "linux" and v.agentlog != "file" and (missing or o["verdict"] == "inconclusive"):
        out.add("9")
    if exp["verdict"] == "inconclusive" and "empty" in story and o["verdict"] != "inconclusive":
        out.add("9")
    if exp["verdict"] == "inconclusive" and "unexplained" in story:
        out.add("U")
    if v.os == "windows":
        unread = [s for s in o["sources"] if (s["parser"] in ("event_csv", "event_text", "event_xml")
                                              and s["events"] == 0) or (s["status"] == "skipped" and any(
                                                  k in s["path"].lower() for k in ("system", "application")))]
        if unread and (missing or root_e != root_g):
            out.add("8")
    if v.os == "windows" and v.events in ("evtx", "wevtutil_xml") and v.layout != "tss" and missing:
        out.add("D")
    if _tz_wrong(o) and (missing or extra or root_e != root_g):
        out.add("4")
    del expl
    return sorted(out) or ["?"]


def reason(classes: list[str]) -> str:
    return "; ".join(CLASSES[c] for c in classes)


def run_all(strength: int = 1, workers: int | None = None) -> list[dict[str, Any]]:
    from tests.scenarios.design import corpus

    out = Path(tempfile.mkdtemp(prefix="scenarios-"))
    todo = [(s.name, v, out) for s, v in corpus(list(STORIES.values()), strength)]
    with ProcessPoolExecutor(workers or os.cpu_count() or 1) as ex:
        return list(ex.map(run_case, *zip(*todo, strict=True)))


def _summary(o: dict[str, Any]) -> str:
    e = o["expected"]
    return (f"{o['case']}: expected {e['findings']} root {e['root_cause']} ({e['verdict']}); got {o['reported']} "
            f"root {o['root']} ({o['verdict']}), tz {o['tz']}")


def signature(o: dict[str, Any]) -> tuple[tuple[str, ...], str | None, str]:
    """What a case's report says, for the metamorphic comparison (optional findings left out)."""
    return tuple(o["reported"]), o["root"], o["verdict"]


def write_known(results: list[dict[str, Any]]) -> None:
    failing = sorted((o for o in results if not o["ok"]), key=lambda x: x["case"])
    by_story: dict[str, list[dict[str, Any]]] = {}
    for o in results:
        by_story.setdefault(o["story"], []).append(o)
    unstable = {name: sorted({c for o in cases if not o["ok"] for c in classify(o)})
                for name, cases in sorted(by_story.items()) if len({signature(o) for o in cases}) > 1}
    lines = ['"""Corpus cases the analyzer gets wrong today, with the issue-13 classes that explain each',
             "(``triage.CLASSES``). Generated by ``python3 -m tests.scenarios.triage --write``, then reviewed.",
             "",
             "The corpus test marks each case ``xfail(strict=True)`` with these classes as the reason: when a fix",
             "makes a case pass, pytest reports XPASS(strict) and the entry must be removed.",
             '"""', "", "KNOWN: dict[str, str] = {"]
    for o in failing:
        lines += [f"    {o['case']!r}:", f"        {','.join(classify(o))!r},"]
    lines += ["}", "", "#: stories whose renderings disagree with each other today", "METAMORPHIC: dict[str, str] = {"]
    lines += [f"    {name!r}: {','.join(cls)!r}," for name, cls in unstable.items()]
    lines += ["}", ""]
    Path(__file__).with_name("known.py").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m tests.scenarios.triage", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="rewrite tests/scenarios/known.py from this run")
    args = ap.parse_args(argv)
    results = run_all()
    failing = [o for o in results if not o["ok"]]
    by_class: dict[str, list[dict[str, Any]]] = {}
    for o in failing:
        for c in classify(o):
            by_class.setdefault(c, []).append(o)
    for c in sorted(by_class):
        print(f"\n== {CLASSES[c]} ({len(by_class[c])} cases)")
        for o in by_class[c]:
            print("  " + _summary(o))
    print(f"\n{len(failing)} of {len(results)} cases fail")
    if args.write:
        write_known(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
