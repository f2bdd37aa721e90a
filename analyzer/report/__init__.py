"""Output formats of a report: terminal text, JSON (DESIGN.md 3.3) and self-contained HTML."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from analyzer.escape import to_json_text
from analyzer.model import Report

#: the JSON Schema of :func:`to_json` output, shipped in the package
SCHEMA: dict[str, Any] = json.loads(resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8"))


def to_json(report: Report) -> str:
    """The JSON report: strict JSON (no NaN), valid UTF-8, control and bidi characters escaped."""
    return to_json_text(report.to_dict(), indent=2) + "\n"
