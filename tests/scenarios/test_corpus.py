"""The generated corpus: every case gives its story's findings, root cause and verdict, and the renderings of
one story agree with each other (metamorphic test).

Cases the analyzer gets wrong today are ``xfail(strict=True)`` with their issue-13 classes (known.py): a fix
that makes one pass turns it into XPASS(strict), and its entry must then be removed. A failing case can be
written out for a human with the command its failure message prints. ``--scenarios=pairwise|full`` runs
more of the variation space (known.py covers the default design only).
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.design import corpus, full_cases
from tests.scenarios.known import KNOWN, METAMORPHIC
from tests.scenarios.render import case_name
from tests.scenarios.stories import STORIES
from tests.scenarios.triage import classify, reason, run_case, signature
from tests.scenarios.vm import Variant


def _cases(config: pytest.Config) -> list[tuple[str, Variant]]:
    depth = config.getoption("--scenarios")
    cap = config.getoption("--scenario-max") or (300 if depth == "full" else 0)
    if depth == "full":
        out = [(s.name, v) for s in STORIES.values() for v in itertools.islice(full_cases(s), cap)]
    else:
        out = [(s.name, v) for s, v in corpus(list(STORIES.values()), 2 if depth == "pairwise" else 1)]
        if cap:
            out = [(name, v) for name, v in out if v.seed < cap]
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    cases = _cases(metafunc.config)
    if "case" in metafunc.fixturenames:
        params = []
        for name, v in cases:
            cid = case_name(name, v)
            marks = [pytest.mark.xfail(strict=True, reason=reason(KNOWN[cid].split(",")))] if cid in KNOWN else []
            params.append(pytest.param((name, v), id=cid, marks=marks))
        metafunc.parametrize("case", params)
    if "story_name" in metafunc.fixturenames:
        names = sorted({name for name, _ in cases})
        metafunc.parametrize("story_name", [
            pytest.param(n, id=n, marks=[pytest.mark.xfail(strict=True, reason=reason(METAMORPHIC[n].split(",")))]
                         if n in METAMORPHIC else []) for n in names])


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Render and analyze every case the session selected (both cores: each case is its own bundle)."""
    selected: dict[str, tuple[str, Variant]] = {}
    stories: set[str] = set()
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "case" in params:
            name, v = params["case"]
            selected[case_name(name, v)] = (name, v)
        if "story_name" in params:
            stories.add(params["story_name"])
    if stories:
        for name, v in _cases(request.config):
            if name in stories:
                selected[case_name(name, v)] = (name, v)
    out = tmp_path_factory.mktemp("corpus")
    todo = sorted(selected.values(), key=lambda c: case_name(*c))
    if not todo:
        return {}
    with ProcessPoolExecutor(min(os.cpu_count() or 1, 4)) as pool:
        results = list(pool.map(run_case, [n for n, _ in todo], [v for _, v in todo], [out] * len(todo)))
    return {o["case"]: o for o in results}


def _explain(o: dict[str, Any]) -> str:
    e = o["expected"]
    v = o["variant"]
    axes = ",".join(f"{k}={val}" for k, val in v.items() if k != "os")
    return (f"expected {e['findings']} root {e['root_cause']} ({e['verdict']}); got {o['reported']} root {o['root']} "
            f"({o['verdict']}); tz {o['tz']}\nproposed: {reason(classify(o))}\nto inspect it: python3 -m "
            f"tests.scenarios.render {o['story']} --variant {axes} -o DIR")


def test_case(case: tuple[str, Variant], outcomes: dict[str, dict[str, Any]]) -> None:
    o = outcomes[case_name(*case)]
    assert o["ok"], _explain(o)


def test_metamorphic(story_name: str, outcomes: dict[str, dict[str, Any]]) -> None:
    """All renderings of one story give the same findings (optional ones aside), root cause and verdict."""
    mine = [o for o in outcomes.values() if o["story"] == story_name]
    assert len(mine) >= 2, "a story needs two renderings to be compared"
    seen: dict[tuple[Any, ...], list[str]] = {}
    for o in mine:
        seen.setdefault(signature(o), []).append(o["case"].split("--", 1)[1])
    assert len(seen) == 1, "renderings disagree:\n" + "\n".join(f"  {sig}: {cases}" for sig, cases in seen.items())


def test_known_failures_name_existing_cases() -> None:
    """known.py lists only cases and stories of the default design (a stale entry would never be checked)."""
    ids = {case_name(s.name, v) for s, v in corpus(list(STORIES.values()))}
    assert set(KNOWN) <= ids, sorted(set(KNOWN) - ids)[:5]
    assert set(METAMORPHIC) <= set(STORIES)


def test_rendered_case_is_a_sample(tmp_path: Path) -> None:
    """A written case is what ``bundle-analyze eval`` reads: expected.json as in samples/, the bundle beside it."""
    import json

    from analyzer.evaluate import bundle_of, sample_dirs
    from tests.scenarios.render import render_case

    story = STORIES["linux-fs-freeze-failed"]
    folder = render_case(story, corpus([story])[0][1], tmp_path)
    exp = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert exp["findings"] == ["FS_FREEZE_FAILED"] and exp["root_cause"] == "FS_FREEZE_FAILED"
    assert exp["verdict"] == "problems_found" and exp["story"] == story.name
    assert sample_dirs(tmp_path) == [folder] and sample_dirs(folder) == [folder]
    assert bundle_of(folder).name.startswith("bundle")
