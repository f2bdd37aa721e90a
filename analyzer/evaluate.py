"""``bundle-analyze eval CORPUS``: per-finding precision and recall, root-cause and verdict accuracy, and
false alarms, over a corpus of sample folders that each hold an ``expected.json``
(``{"findings": [...], "root_cause": ..., "verdict": ..., "optional": [...]}``).

A sample folder is either the bundle itself (``samples/``: the logs beside ``expected.json``) or holds
the bundle as one entry named ``bundle`` or ``bundle.<archive suffix>`` (a generated corpus, where the
bundle is an archive as a customer attaches it). ``CORPUS`` may also be one sample folder.

A finding counts as reported when it is at warning or above, or at info and listed in ``expected.json``
(info findings are context: listing them is optional, as in the golden test). ``optional`` findings (a
symptom the root cause explains, which a correct diagnosis may or may not show) are neither required
nor counted as false alarms.
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

    @property
    def false_alarms(self) -> set[str]:
        """Findings reported (at warning or above, or listed info) that the sample does not expect."""
        return self.reported - self.expected


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

    @property
    def verdict_accuracy(self) -> float:
        judged = [s for s in self.samples if s.verdict_expected is not None]
        return sum(s.verdict_expected == s.verdict_reported for s in judged) / len(judged) if judged else 0


def reported_ids(report: Report, expected: set[str]) -> set[str]:
    return {f.id for f in report.findings
            if severity_rank(f.severity) >= severity_rank("warning") or f.id in expected}


def load_expected(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def sample_dirs(corpus: Path) -> list[Path]:
    """The sample folders of a corpus; a folder that is itself a sample is a corpus of one."""
    if (corpus / "expected.json").is_file():
        return [corpus]
    return sorted(p for p in corpus.iterdir() if (p / "expected.json").is_file())


def bundle_of(folder: Path) -> Path:
    """The bundle a sample folder holds: its ``bundle`` / ``bundle.<suffix>`` entry, else the folder itself."""
    inner = [p for p in folder.iterdir() if p.name == "bundle" or p.name.startswith("bundle.")]
    return inner[0] if len(inner) == 1 else folder


def judge(name: str, expected_doc: dict[str, Any], report: Report) -> SampleResult:
    """Compare one report with its ``expected.json`` content."""
    optional = set(expected_doc.get("optional", []))
    expected = set(expected_doc.get("findings", [])) - optional
    reported = reported_ids(report, expected) - optional
    return SampleResult(name, expected, reported, expected_doc.get("root_cause"), report.verdict.root_cause,
                        expected_doc.get("verdict"), report.verdict.status)


def evaluate(corpus: Path) -> Scores:
    from analyzer.api import analyze

    scores = Scores()
    for folder in sample_dirs(corpus):
        scores.samples.append(judge(folder.name, load_expected(folder), analyze(bundle_of(folder))))
    return scores


def render(scores: Scores) -> str:
    lines = [f"{'finding':<40} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}"]
    for i, m in scores.per_finding().items():
        lines.append(f"{i:<40} {m['tp']:>3} {m['fp']:>3} {m['fn']:>3} {m['precision']:>9.2f} {m['recall']:>7.2f}")
    n = len(scores.samples)
    exact = sum(s.exact for s in scores.samples)
    alarms = sum(1 for s in scores.samples if s.false_alarms)
    healthy = [s for s in scores.samples if s.verdict_expected == "healthy"]
    lines.append(f"root-cause accuracy: {scores.root_accuracy:.2f} over {n} samples; "
                 f"verdict accuracy: {scores.verdict_accuracy:.2f}; exact matches: {exact}/{n}")
    lines.append(f"samples with a false alarm: {alarms}/{n}; healthy samples called healthy: "
                 f"{sum(s.verdict_reported == 'healthy' for s in healthy)}/{len(healthy)}")
    for s in scores.samples:
        if not s.exact:
            lines.append(f"  {s.name}: expected {sorted(s.expected)} root {s.root_expected} ({s.verdict_expected}), "
                         f"got {sorted(s.reported)} root {s.root_reported} ({s.verdict_reported})")
    return "\n".join(lines) + "\n"
