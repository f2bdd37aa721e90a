"""Render time: the words of a report in one language, from the locale files.

An analysis holds no language (``analyzer/model.py``); every renderer (terminal, JSON, HTML, the batch
catalog) asks a :class:`Wording` for the title of a finding, its explanation, a composed evidence
sentence, the verdict summary or a label. Text quoted from the bundle passes through unchanged.
"""

from __future__ import annotations

from typing import Any

from analyzer.locale import DEFAULT, LANGS, format_text, known_entry, template, value, word
from analyzer.model import Evidence, Finding, Message, MissingEvidence, Report, SourceEntry, Verdict

TZ_ASSUMED = "assumed-utc"
#: notes that say why a finding without live records is context (it passed, the guest was off): they replace the
#: generic "recovered before the last backup attempt"
CONTEXT_NOTES = frozenset({"note.failure_passed", "note.agent_silent_while_off"})


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
        return word(Message(message.key, {**message.params, **extra}) if extra else message, self.lang)

    def value(self, v: Any) -> str:
        """One parameter: a nested message is worded, a number formatted, a list joined, text shown as is."""
        return value(v, self.lang)

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
            if not f.live_records and not any(n.key in CONTEXT_NOTES for n in f.notes):
                parts.append(self.say(Message("finding.recovered")))
        return " ".join(p.strip() for p in parts if p and p.strip())

    def evidence(self, e: Evidence) -> str:
        return self.say(e.message) if e.message is not None else e.text

    # --- verdict, missing evidence, sources -----------------------------------------------------------
    def summary(self, v: Verdict, headline: bool = False) -> str:
        """The verdict's sentences; ``headline=True`` when the root cause is shown above them already (the
        terminal's and the HTML's verdict line), so that it is not named twice."""
        title = self.title(v.root_cause) if v.root_cause else ""
        messages = [Message("verdict.counts", {"n": m.params.get("n", 0)})
                    if headline and m.key == "verdict.problems" else m for m in v.summary]
        return " ".join(self.say(m, title=title) for m in messages)

    # --- what the analysis covered ----------------------------------------------------------------------
    def partial(self, partial: dict[str, Any] | None) -> list[str]:
        """The partial-result banner: why reading stopped, what was not read, what to do."""
        if not partial:
            return []
        reason = partial.get("reason")
        budget, damaged = reason == "budget", reason == "damaged"
        if damaged:
            lines = [self.label("partial.damaged", paths=", ".join(map(str, partial.get("damaged") or [])))]
        else:
            lines = [self.label("partial.budget" if budget else "partial.time")]
        unread, count = list(partial.get("unread") or []), partial.get("unread_count")
        if count is None:
            lines.append(self.label("partial.unread_unknown"))
        elif count:
            shown = ", ".join(unread)
            if count > len(unread):
                shown += " " + self.label("partial.unread_more", n=count - len(unread))
            lines.append(self.label("partial.unread", n=count, paths=shown))
        lines.append(self.label("partial.advice_damaged" if damaged else "partial.advice_budget" if budget
                                else "partial.advice"))
        return lines

    def window(self, window: dict[str, Any] | None) -> str:
        """``only records from ... to ... were judged`` for a ``--since``/``--until`` window, else ""."""
        if not window:
            return ""
        since, until = window.get("since"), window.get("until")
        if since and until:
            return self.label("window.range", since=since, until=until)
        return self.label("window.since", since=since) if since else self.label("window.until", until=until)

    # --- names in the pictures -----------------------------------------------------------------------------
    def _named(self, prefix: str, name: str) -> str:
        try:
            return self.label(f"{prefix}.{name}")
        except KeyError:  # a name this version does not know (a plugin's parser, a new fact): as it is
            return name

    def lane(self, source: str) -> str:
        """The human name of a timeline lane (a parser's records)."""
        return self._named("lane", source)

    def fact(self, name: str) -> str:
        """The human name of a fact of "Versions and host"."""
        return self._named("fact", name)

    def outcome(self, outcome: str) -> str:
        return self._named("outcome", outcome)

    def level(self, level: str) -> str:
        return self._named("level", level if level in ("critical", "error", "warning") else "info")

    def duration(self, seconds: float) -> str:
        """``5 minutes``, ``1 hour``, ``2 days``: a bin or tick step, in whole units."""
        for unit, size in (("days", 86400), ("hours", 3600)):
            if seconds >= size and seconds % size == 0:
                return self.label(f"duration.{unit}", n=int(seconds // size))
        return self.label("duration.minutes", n=max(1, round(seconds / 60)))

    def why(self, m: MissingEvidence) -> str:
        return self.say(m.why)

    def then(self, m: MissingEvidence) -> str:
        """What to do with what the command collected ("" when the command says it all)."""
        return self.say(m.then) if m.then is not None else ""

    def source_note(self, s: SourceEntry) -> str:
        """Why a source was skipped or failed: the tool's words, then what broke (its outside text as written)."""
        parts = [self.say(s.note)] if s.note is not None else []
        if s.error is not None:
            parts.append(self.say(s.error))
        return ": ".join(parts)

    def problems(self, s: SourceEntry) -> list[str]:
        """The parser's first problems of a source row."""
        return [self.say(p) for p in s.problems]

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
