"""Titles, meanings, remediation steps and report phrases in English and Czech (``--lang``).

One JSON catalog per language (``en.json``, ``cs.json``): ``findings`` holds, per finding id, a
``title``, a ``meaning`` and ``remediation`` steps written from the seed article's solutions;
``phrases`` holds the sentences diagnosis and detectors compose. English is the fallback.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGS = ("en", "cs")
DEFAULT = "en"


@cache
def catalog(lang: str) -> dict[str, Any]:
    name = lang if lang in LANGS else DEFAULT
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def entry(finding_id: str, lang: str = DEFAULT, fallback: Any = None) -> dict[str, Any]:
    """``{title, meaning, remediation}`` of a finding in ``lang``; English, then the detector's own
    ``title``/``meaning``/``remediation`` attributes (third-party detectors) fill what is missing."""
    for name in (lang, DEFAULT):
        found = catalog(name)["findings"].get(finding_id)
        if found:
            return found
    return {
        "title": getattr(fallback, "title", "") or finding_id,
        "meaning": getattr(fallback, "meaning", ""),
        "remediation": list(getattr(fallback, "remediation", ())),
    }


def phrase(key: str, lang: str = DEFAULT, **values: Any) -> str:
    text = catalog(lang)["phrases"].get(key) or catalog(DEFAULT)["phrases"][key]
    return str(text).format(**values)
