"""Redaction of secrets in everything that leaves the tool (see shared reference secrets.md)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import fields, is_dataclass
from typing import Any

_SAS = re.compile(r"(?i)((?:https?://[^\s?\"'<>]+)?\?)((?:[^\s\"'<>&]*?(?:&amp;|&|%26|\\u0026))*?(?:sv|st|se|sr|sp|sip|spr|sig|sk|skoid|sktid|skt|ske|sks|skv)=[^\s\"'<>]*)")


class Redactor:
    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()

    def text(self, s: str) -> str:
        s, n = _SAS.subn(r"\1<redacted>", s)
        if n:
            self.by_kind["sas"] += n
        return s


def _walk(obj: Any, r: Redactor) -> Any:
    if isinstance(obj, str):
        return r.text(obj)
    if isinstance(obj, list):
        return [_walk(x, r) for x in obj]
    if isinstance(obj, dict):
        return {k: _walk(v, r) for k, v in obj.items()}
    if is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            setattr(obj, f.name, _walk(getattr(obj, f.name), r))
        return obj
    return obj


def redact_report(report: Any, obfuscate: bool = False) -> None:
    r = Redactor()
    _walk(report, r)
    report.redactions = {"count": sum(r.by_kind.values()), "by_kind": dict(r.by_kind)}
