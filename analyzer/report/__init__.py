"""Output formats of a report: terminal text, JSON (DESIGN.md 3.3) and self-contained HTML."""

from __future__ import annotations

import json

from analyzer.model import Report


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
