"""Render time: the words of a report in one language, from the locale files.

An analysis holds no language (``analyzer/model.py``); every renderer (terminal, JSON, HTML, the batch
catalog) asks a :class:`Wording` for the title of a finding, its explanation, a composed evidence
sentence, the verdict summary or a label. Text quoted from the bundle passes through unchanged.
"""

from __future__ import annotations

from typing import Any

from analyzer.locale import DEFAULT, LANGS, format_text, known_entry, number, template
from analyzer.model import Evidence, Finding, Message, MissingEvidence, Report, SourceEntry, Verdict

TZ_ASSUMED = "assumed-utc"


class Wording:
    """The words of ``lang`` (English for an unknown language)."""

    def __init__(self, lang: str = DEFAULT, report: Report | None = None) -> None:
        self.lang = lang if lang in LANGS else DEFAULT
        self._findings = {f.id: f for f in report.findings} if report is not None else {}

    # --- building blocks ---------------------------------------------------------------------------
    def label(self, key: str, **params: Any) -> str:
        """A heading or word of the report layout (``labels`` of the locale files)."""
        return format_text(template("labels", key, self.lang), params, self.lang, self.value)

    def say(self, message: Message, **extra: Any) -> str:
        """A composed sentence (``messages`` of the locale files) with its parameters."""
        return format_text(template("messages", message.key, self.lang), {**message.params, **extra}, self.lang,
                           self.value)

    def value(self, v: Any) -> str:
        """One parameter: a nested message is worded, a number formatted, a list joined, text shown as is."""
        if isinstance(v, Message):
            return self.say(v)
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, int | float):
            return number(v, self.lang)
        if isinstance(v, list | tuple):
            return ", ".join(self.value(x) for x in v)
        return "?" if v is None else str(v)

    # --- findings ----------------------------------------------------------------------------------
    def texts(self, f: Finding | str) -> dict[str, Any]:
        """``{title, meaning, remediation}`` of a finding: the locale entry of its id, else the detector's own."""
        fid = f if isinstance(f, str) else f.id
        found = known_entry(fid, self.lang)
        if found is not None:
            return found
        own = (f if isinstance(f, Finding) else self._findings.get(fid))
        texts = own.texts if own is not None and own.texts else {}
        return {"title": texts.get("title") or fid, "meaning": texts.get("meaning", ""),
                "remediation": list(texts.get("remediation", []))}

    def title(self, f: Finding | str) -> str:
        return str(self.texts(f)["title"])

    def remediation(self, f: Finding) -> list[str]:
        return [str(step) for step in self.texts(f)["remediation"]]

    def explanation(self, f: Finding) -> str:
        """The meaning, the detector's notes, how many records matched, and whether it recovered."""
        parts = [str(self.texts(f)["meaning"])]
        parts += [self.say(n) for n in f.notes]
        if f.records:
            parts.append(self.say(Message("finding.records", {"records": f.records, "live": f.live_records})))
            if not f.live_records:
                parts.append(self.say(Message("finding.recovered")))
        return " ".join(p.strip() for p in parts if p and p.strip())

    def evidence(self, e: Evidence) -> str:
        return self.say(e.message) if e.message is not None else e.text

    # --- verdict, missing evidence, sources -----------------------------------------------------------
    def summary(self, v: Verdict) -> str:
        title = self.title(v.root_cause) if v.root_cause else ""
        return " ".join(self.say(m, title=title) for m in v.summary)

    def why(self, m: MissingEvidence) -> str:
        return self.say(m.why)

    def then(self, m: MissingEvidence) -> str:
        """What to do with what the command collected ("" when the command says it all)."""
        return self.say(m.then) if m.then is not None else ""

    def source_note(self, s: SourceEntry) -> str:
        """Why a source was skipped or failed: the tool's words, then the technical detail as written."""
        parts = [self.say(s.note)] if s.note is not None else []
        if s.error:
            parts.append(s.error)
        return ": ".join(parts)

    def tz(self, value: str, source: Any = None) -> str:
        """The time zone line: the offset (or that UTC was assumed) and, when the report says it, how it was
        found (``extras.tz_source``, a message as a ``{key, params}`` object)."""
        text = self.label("tz.assumed-utc") if value == TZ_ASSUMED else value
        if isinstance(source, dict) and isinstance(source.get("key"), str):
            text += f", {self.say(Message(source['key'], dict(source.get('params') or {})))}"
        return text

    def redaction_kind(self, kind: str) -> str:
        try:
            return self.label(f"redaction.{kind}")
        except KeyError:  # a kind this version does not name: its id
            return kind

    def severity(self, severity: str) -> str:
        return self.label(f"severity.{severity}") if severity in ("critical", "error", "warning", "info") \
            else severity
