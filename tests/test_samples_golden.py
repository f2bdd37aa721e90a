"""Corpus golden test (Hayabusa style): every sample under samples/ gives exactly its expected findings
(ids at warning or above, plus the info ids it lists), its root cause and its verdict."""

from __future__ import annotations

import pytest

from analyzer.api import analyze
from analyzer.evaluate import load_expected, reported_ids, sample_dirs
from analyzer.model import severity_rank
from tests.conftest import ROOT

SAMPLES = sample_dirs(ROOT / "samples")


def test_corpus_covers_every_finding_id_as_root_cause() -> None:
    from analyzer.detectors import BUILTIN

    roots = {load_expected(p).get("root_cause") for p in SAMPLES}
    assert {d.id for d in BUILTIN} - {"VERBOSE_LOGGING_DISABLED"} <= roots
    assert any(load_expected(p)["verdict"] == "healthy" for p in SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample(sample) -> None:  # type: ignore[no-untyped-def]
    expected = load_expected(sample)
    report = analyze(sample)
    wanted = set(expected["findings"])
    assert reported_ids(report, wanted) == wanted
    assert report.verdict.root_cause == expected["root_cause"]
    assert report.verdict.status == expected["verdict"]
    assert sum(f.root_cause for f in report.findings) == (1 if expected["root_cause"] else 0)
    if expected["verdict"] == "healthy":
        assert all(severity_rank(f.severity) <= severity_rank("info") for f in report.findings)
    assert (sample / "README.md").read_text(encoding="utf-8").strip()
