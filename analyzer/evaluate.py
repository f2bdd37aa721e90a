"""``bundle-analyze eval samples/``: per-finding precision and recall, and root-cause accuracy, over a corpus
of sample folders that each hold an ``expected.json`` (``{"findings": [...], "root_cause": ..., "verdict": ...}``).

A finding counts as reported when it is at warning or above, or at info and listed in ``expected.json``
(info findings are context: listing them is optional, as in the golden test).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.model import Report, severity_rank


@dataclass
class SampleResult:
    name: str
    expected: set[str]
    reported: set[str]
    root_expected: str | None
    root_reported: str | None
    verdict_expected: str | None
    verdict_reported: str

    @property
    def exact(self) -> bool:
        return (self.expected == self.reported and self.root_expected == self.root_reported
                and self.verdict_expected in (None, self.verdict_reported))


@dataclass
class Scores:
    samples: list[SampleResult] = field(default_factory=list)

    def per_finding(self) -> dict[str, dict[str, float | int]]:
        ids = sorted({i for s in self.samples for i in s.expected | s.reported})
        out: dict[str, dict[str, float | int]] = {}
        for i in ids:
            tp = sum(1 for s in self.samples if i in s.expected and i in s.reported)
            fp = sum(1 for s in self.samples if i not in s.expected and i in s.reported)
            fn = sum(1 for s in self.samples if i in s.expected and i not in s.reported)
            out[i] = {"tp": tp, "fp": fp, "fn": fn, "precision": tp / (tp + fp) if tp + fp else 1.0,
                      "recall": tp / (tp + fn) if tp + fn else 1.0}
        return out

    @property
    def root_accuracy(self) -> float:
        return sum(s.root_expected == s.root_reported for s in self.samples) / len(self.samples) if self.samples else 0


def reported_ids(report: Report, expected: set[str]) -> set[str]:
    return {f.id for f in report.findings
            if severity_rank(f.severity) >= severity_rank("warning") or f.id in expected}


def load_expected(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def sample_dirs(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if (p / "expected.json").is_file())


def evaluate(corpus: Path) -> Scores:
    from analyzer.api import analyze

    scores = Scores()
    for folder in sample_dirs(corpus):
        exp = load_expected(folder)
        expected = set(exp.get("findings", []))
        report = analyze(folder)
        scores.samples.append(SampleResult(folder.name, expected, reported_ids(report, expected),
                                           exp.get("root_cause"), report.verdict.root_cause, exp.get("verdict"),
                                           report.verdict.status))
    return scores


def render(scores: Scores) -> str:
    lines = [f"{'finding':<40} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}"]
    for i, m in scores.per_finding().items():
        lines.append(f"{i:<40} {m['tp']:>3} {m['fp']:>3} {m['fn']:>3} {m['precision']:>9.2f} {m['recall']:>7.2f}")
    exact = sum(s.exact for s in scores.samples)
    lines.append(f"root-cause accuracy: {scores.root_accuracy:.2f} over {len(scores.samples)} samples; "
                 f"exact matches: {exact}/{len(scores.samples)}")
    for s in scores.samples:
        if not s.exact:
            lines.append(f"  {s.name}: expected {sorted(s.expected)} root {s.root_expected}, "
                         f"got {sorted(s.reported)} root {s.root_reported} ({s.verdict_reported})")
    return "\n".join(lines) + "\n"
