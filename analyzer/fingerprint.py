"""A stable fingerprint per finding: its id plus its evidence text with the run-to-run variance removed.

The same cause seen in two bundles (or twice in one, a day apart) gets the same fingerprint: times,
numbers, ids, addresses and directory parts of paths are normalized away, secrets are redacted first,
and the evidence lines are compared as a set. The batch catalog keys findings on it (DESIGN 3.6).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from analyzer.model import Evidence, Finding
from analyzer.redact import Redactor

_NORMALIZE = (
    # ISO-8601 and common log time stamps, with or without date, fraction and zone
    (re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?)?"
                r"(?:Z|[+-]\d{2}:?\d{2})?", re.I), " "),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\b"), " "),
    (re.compile(r"<(?:redacted:[a-z0-9-]{1,30}|[a-z]{2,10}-\d{1,9})>"), "<x>"),  # redaction and masking tokens
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<x>"),  # IPv4 addresses, masked or not
    (re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"), "<x>"),
    (re.compile(r"(?:[a-z]:)?[\\/]?(?:[\w.$~-]{1,200}[\\/]){1,64}(?=[\w.$~-])"), ""),  # directories of paths
    (re.compile(r"\b[0-9a-f]{8,128}\b"), "<hex>"),
    (re.compile(r"\d+"), "#"),
    (re.compile(r"\s+"), " "),
)


def normalize(text: str) -> str:
    t = Redactor().secrets(text).lower()
    for pattern, repl in _NORMALIZE:
        t = pattern.sub(repl, t)
    return t.strip()


def fingerprint(finding_id: str, evidence_texts: Iterable[str]) -> str:
    lines = sorted({normalize(t) for t in evidence_texts})
    digest = hashlib.sha256("\n".join([finding_id, *lines]).encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


def _neutral(e: Evidence) -> str:
    """The evidence in no language: the quoted line, or the message key and its parameters."""
    if e.message is None:
        return e.text
    return " ".join([e.message.key, *(f"{k}={v}" for k, v in sorted(e.message.params.items()))])


def assign_fingerprints(findings: Iterable[Finding]) -> None:
    for f in findings:
        f.fingerprint = fingerprint(f.id, map(_neutral, f.evidence))
