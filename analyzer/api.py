"""``analyze(path)``: the whole pipeline for one bundle, as a Python API beside the CLI.

intake -> recognition -> parsers -> timeline -> detectors -> diagnosis -> redaction -> Report
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime, timedelta, timezone, tzinfo
from functools import partial
from typing import BinaryIO

from analyzer.clock import (
    MIN_PAIRS,
    infer_zone,
    judge_leases,
    offset_from_readings,
    pairs_from_runs,
    pairs_from_twins,
    resolve_facts,
)
from analyzer.correlate import collector_kills
from analyzer.intake import IntakeError, IntakeProblem, Member, open_bundle
from analyzer.intake.limits import BudgetExhausted, LimitExceeded, TimeLimitReached
from analyzer.intake.sections import sections
from analyzer.intake.streams import damage_of
from analyzer.locale import word
from analyzer.model import Analysis, BundleInfo, Collected, Message, Options, Report, SourceEntry, say
from analyzer.sources import (
    LOG_PARSERS,
    Recognized,
    detect_layout,
    recognize_content,
    recognize_path,
    source_os,
    source_row,
)
from analyzer.timeline import Timeline, iso
from analyzer.version import __version__
from parsers import get_parser
from parsers.base import GENERIC_KIND, Fact, ParseContext, Problem
from parsers.state.time_zone import link_zone, zone_info

SNIFF_BYTES = 4096


def parse_bundle(path: str | os.PathLike[str], options: Options | None = None,
                 progress: Callable[[str], None] | None = None) -> tuple[Analysis, BundleInfo]:
    """Intake, recognize and parse every member; raises IntakeError when the input cannot be opened."""
    options = options or Options()
    bundle = open_bundle(path, options.limits)
    timeline = Timeline(keep_all=options.keep_all_events, log_sources=LOG_PARSERS)
    collected = Collected()  # the members' facts and problems, bounded
    facts, problems = collected.facts, collected.problems
    sources: list[SourceEntry] = []
    present: dict[str, list[str]] = {}
    os_votes = {"linux": 0, "windows": 0}
    stopped: BudgetExhausted | None = None
    try:
        for member in (part for outer in bundle.members() for part in _embedded(outer)):
            if progress:
                progress(member.path)
            collected.last = []
            entry, rec = _parse_member(member, timeline, collected, options)
            sources.append(entry)
            if rec is not None and entry.status != "empty":  # an empty member is missing evidence
                for name in rec.evidence or (rec.source,):
                    present.setdefault(name, []).append(member.path)
                o = source_os(rec.source)
                if o in os_votes and entry.status == "parsed":
                    os_votes[o] += 1
            for also in (f.value for f in collected.last if f.name == "source.also"):  # agent records in syslog
                row = source_row(also)
                for name in row.evidence if row is not None else (also,):
                    present.setdefault(name, []).append(member.path)
    except BudgetExhausted as exc:  # a time limit or a bundle-wide budget: the members after it are not read
        stopped = exc
        problems.append(Problem(str(path), None, say("problem.intake_stopped")))
        sources.append(SourceEntry(bundle.name, None, "failed", error=exc.message,
                                   note=say("source.intake_stopped")))
    except IntakeError as exc:  # the input itself broke while read
        if not sources:
            raise
        problems.append(Problem(str(path), None, say("problem.intake_stopped")))
        sources.append(SourceEntry(bundle.name, None, "failed", error=exc.message,
                                   note=say("source.intake_stopped")))
    collected.finish(bundle.name)
    for p in bundle.problems:
        sources.append(SourceEntry(p.path, None, "failed", error=p.message))
        zone = link_zone(p.path, word(p.message))  # a refused /etc/localtime link still names the zone
        if zone is not None:
            facts.append(Fact("host.timezone", zone, p.path, None, None, f"/etc/localtime links to {zone}"))
    if not sources and not bundle.member_paths:
        raise IntakeError(say("intake.no_files", path=str(path)))
    if not any(f.name == "tz.utc_offset_minutes" for f in facts):
        measured = offset_from_readings(facts)
        if measured is not None:
            facts.append(measured)
    for pairs in (pairs_from_twins(timeline.kept()), pairs_from_runs(facts)):
        if pairs is not None:
            facts.append(pairs)
    zone, tz_source = _time_zone(facts, timeline.latest_local())
    timeline.finalize(zone)
    collector_kills(timeline.notable)  # a kill the agent's log names as its collector's (L17)
    resolve_facts(facts, timeline.zone)
    judge_leases(facts, timeline.last)  # the bundle's collection time: the newest time it records
    for member_path, n in sorted(timeline.yearless.items()):
        ref = timeline.year_ref
        problems.append(Problem(member_path, None, say("problem.yearless_dated", n=n, newest=f"{ref:%Y-%m-%d %H:%M}")
                                if ref is not None else say("problem.yearless_undated", n=n)))
    for source, kind, n, member_path in timeline.dropped():
        problems.append(Problem(member_path, None, say("problem.events_dropped", n=n, kind=kind, source=source,
                                                       cap=timeline.max_notable)))
    os_name = max(os_votes, key=lambda k: os_votes[k]) if any(os_votes.values()) else "unknown"
    layout = detect_layout(bundle.member_paths)
    host = next((str(f.value) for f in reversed(facts) if f.name == "host.name" and f.value), None)
    info = BundleInfo(bundle.name, bundle.sha256, bundle.bytes, layout, os_name, host)
    analysis = Analysis(facts, timeline, sources, present, problems, os_name, layout, options, tz_source)
    if stopped is not None:
        analysis.stopped = "time" if isinstance(stopped, TimeLimitReached) else "budget"
        analysis.stopped_detail = str(stopped)
        analysis.unread = bundle.unread()
    elif damaged := _damaged(bundle.problems, sources):
        analysis.stopped, analysis.damaged = "damaged", damaged
        # the rest of an archive whose listing broke is unknown; a member cut short lost only its own end
        listing = any(p.message.key in _LISTING_DAMAGE and _is_damage(p.message) for p in bundle.problems)
        analysis.unread = None if listing else []
    return analysis, info


#: intake problems that say an archive could not be listed to its end (what follows the damage is unknown)
_LISTING_DAMAGE = frozenset({
    "intake.archive_corrupt", "intake.tar_unreadable", "intake.tar_cut_header", "intake.tar_header_cut",
    "intake.zip_corrupt", "intake.7z_corrupt", "intake.7z_data", "intake.7z_truncated", "intake.7z_corrupt_header",
    "intake.7z_header_truncated", "intake.7z_no_header_record"})
#: ... and that a member's data broke off (a member read up to damage says so in its row's note)
_MEMBER_DAMAGE = frozenset({"intake.corrupt_data", "intake.zip_entry_unreadable"})


def _is_damage(m: Message) -> bool:
    """An intake problem that says bytes are damaged or missing; not a limit that stopped the reading (an archive
    whose listing ended at a limit quotes the limit's message, which names it)."""
    inner = m.params.get("error")
    return m.key in _LISTING_DAMAGE | _MEMBER_DAMAGE and not (isinstance(inner, Message) and "limit" in inner.params)


def _damaged(problems: list[IntakeProblem], sources: list[SourceEntry]) -> list[str]:
    """The archives and members of the bundle that are damaged or cut short, in the order met."""
    paths = [p.path for p in problems if _is_damage(p.message)]
    paths += [s.path for s in sources if s.note is not None and s.note.key == "source.read_until_damage"]
    return list(dict.fromkeys(paths))


def _embedded(member: Member) -> Iterator[Member]:
    """The files a supportconfig section file (``*.txt``) holds, each a member; any other member as it is."""
    if not member.path.lower().endswith(".txt"):
        yield member
        return
    stream: BinaryIO = member.stream
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream, 65536)  # type: ignore[arg-type]
    yield from sections(Member(member.path, member.size, stream, member.origin),
                        stream.peek(SNIFF_BYTES)[:SNIFF_BYTES])  # type: ignore[attr-defined]


def _parse_member(member: Member, timeline: Timeline, collected: Collected,
                  options: Options) -> tuple[SourceEntry, Recognized | None]:
    rec = recognize_path(member.path)
    stream: BinaryIO = member.stream
    if rec is not None and not rec.parser:
        return SourceEntry(member.path, None, "skipped", note=say(rec.note) if rec.note else None), rec
    if rec is None or rec.guess:
        stream = io.BufferedReader(stream, 65536) if not hasattr(stream, "peek") else stream  # type: ignore[arg-type]
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        rec = recognize_content(member.path, head, rec)
        if rec is None:
            return SourceEntry(member.path, None, "skipped", note=say("source.unrecognized")), None
    counter = None if timeline.keep_all else partial(timeline.count_ordinary, rec.parser)
    span_counter = None if timeline.keep_all else partial(timeline.count_span, rec.parser)
    dropper = None if timeline.keep_all else partial(timeline.count_dropped, rec.parser, member.path)
    floor = None if timeline.keep_all else partial(timeline.floor, rec.parser)
    ctx = ParseContext(member.path, rec.parser, counter, span_counter, max_line=options.limits.max_line,
                       max_notable=timeline.max_notable, drop_counter=dropper, floor=floor)
    n = records = 0
    try:
        parser = get_parser(rec.parser)
        for e in parser.parse(stream, ctx):
            timeline.add(e)
            n += 1
            records += e.ts is not None or e.kind != GENERIC_KIND  # not an undated block of stray lines
        damage = damage_of(member.stream)  # met after the parser had every byte before it
        if damage is not None:
            raise damage
    except IntakeError as exc:  # a limit broken or damage met while this member was read
        error = exc.message
        ctx.problem(error.key, **error.params)
        if records or ctx.counted:  # what was read before it is analyzed, and the row says where reading ended
            why = "source.read_until_limit" if isinstance(exc, LimitExceeded) else "source.read_until_damage"
            return _entry(member, rec.parser, "parsed", n, ctx, collected, error, say(why)), rec
        return _entry(member, rec.parser, "failed", n, ctx, collected, error), rec
    except Exception as exc:  # noqa: BLE001 - a bad file must never stop the bundle
        error = say("problem.parser_crashed", error=f"{type(exc).__name__}: {exc}")
        return _entry(member, rec.parser, "failed", n, ctx, collected, error), rec
    status = "parsed" if records or ctx.counted or ctx.facts else "empty"  # nothing to judge: missing evidence
    return _entry(member, rec.parser, status, n, ctx, collected, None), rec


def _entry(member: Member, parser: str, status: str, n: int, ctx: ParseContext, collected: Collected,
           error: Message | None, note: Message | None = None) -> SourceEntry:
    ctx.finish()
    collected.add(ctx.facts, ctx.problems)
    note = say("source.empty") if status == "empty" else note
    return SourceEntry(member.path, parser, status, n + ctx.counted, [_at_line(p) for p in ctx.problems[:20]],
                       error, note)


def _at_line(p: Problem) -> Message:
    """A problem as its source row shows it: with its line, when it has one."""
    return say("problem.at_line", line=p.line, problem=p.message) if p.line else p.message


def _named_zone(facts: list[Fact], when: datetime | None) -> tuple[tzinfo, str] | None:
    """The VM's time zone as the bundle states it, with its name, to convert its wall-clock records.

    A named zone (``host.timezone``: /etc/timezone, timedatectl, /etc/sysconfig/clock, a localtime link)
    or the rule of a TZif ``/etc/localtime`` (``tz.posix_rule``) converts each record with the offset of
    its own date. A stated or measured offset (``tz.utc_offset_minutes``: date beside date --utc, registry
    TimeZoneInformation, systeminfo) wins when it disagrees with the zone at
    the bundle's newest local time ``when``; it is then one offset for the whole bundle.
    """
    offsets = [f.value for f in facts if f.name == "tz.utc_offset_minutes" and isinstance(f.value, int)]
    measured = timedelta(minutes=max(set(offsets), key=offsets.count)) if offsets else None
    for name in ("host.timezone", "tz.posix_rule"):
        value = next((f.value for f in reversed(facts) if f.name == name and isinstance(f.value, str)), None)
        zone = zone_info(value) if value else None
        if zone is not None and (measured is None or zone.utcoffset(when or datetime(2024, 1, 1)) == measured):
            return zone, str(value)
    return (timezone(measured), _offset_label(measured)) if measured is not None else None


def _time_zone(facts: list[Fact], when: datetime | None) -> tuple[tzinfo | None, Message | None]:
    """The zone that converts the bundle's wall-clock records, and how it was found when the report should say.

    A zone the bundle states wins; records the bundle shows on both clocks (``tz.pairs``, :func:`infer_zone`)
    decide without one, and against one only when they contradict it on the dates they cover (the records
    were written with another offset than the zone file now says): the report then says so."""
    stated = _named_zone(facts, when)
    inferred = infer_zone(facts)
    if inferred is None:
        return (stated[0] if stated else None), None
    if inferred.zone is None:
        if stated:
            return stated[0], None
        key = "tz.too_few_pairs" if inferred.pairs == inferred.total and inferred.total < MIN_PAIRS else \
            "tz.pairs_disagree"
        return None, say(key, pairs=inferred.total)
    offsets = [_offset_label(timedelta(minutes=p.minutes)) for p in inferred.periods]
    if stated is None:
        key = "tz.inferred" if len(inferred.periods) == 1 else "tz.inferred_periods"
        return inferred.zone, say(key, pairs=inferred.pairs, files=len(inferred.members), offsets=offsets)
    zone, name = stated
    if all(zone.utcoffset(datetime(d.year, d.month, d.day, 12)) == timedelta(minutes=p.minutes)
           for p in inferred.periods for d in (p.first, p.last)):
        return zone, None
    return inferred.zone, say("tz.contradiction", zone=name, pairs=inferred.pairs, offsets=offsets)


def _offset_label(offset: timedelta) -> str:
    """``UTC+5:30`` style: hours, and minutes when not whole."""
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def analyze(path: str | os.PathLike[str], options: Options | None = None,
            progress: Callable[[str], None] | None = None) -> Report:
    """Analyze one bundle and return the (redacted) report."""
    from analyzer.detectors import run_detectors
    from analyzer.detectors.scope import Scope
    from analyzer.diagnosis import diagnose
    from analyzer.extras import collect as collect_extras
    from analyzer.extras import versions
    from analyzer.fingerprint import assign_fingerprints
    from analyzer.redact import redact_report
    from analyzer.unexplained import find_unexplained

    options = options or Options()
    started = time.monotonic()
    analysis, info = parse_bundle(path, options, progress)
    try:
        scope = Scope.of(analysis)
        findings, missing = run_detectors(analysis, scope=scope)
        unexplained = find_unexplained(analysis, scope, findings)
        verdict = diagnose(findings, missing, analysis, unexplained)
        tl = analysis.timeline
        report = Report(
            tool={"name": "bundle-analyzer", "version": __version__},
            bundle=info,
            verdict=verdict,
            findings=findings,
            missing_evidence=missing,
            sources=analysis.sources,
            timeline={"events": tl.count, "first": iso(tl.first) or None, "last": iso(tl.last) or None},
            unexplained=unexplained,
        )
        report.extras.update(collect_extras(analysis, findings))
        report.extras["seconds"] = round(time.monotonic() - started, 3)
        report.extras["tz"] = (
            f"UTC{tl.utc_offset.total_seconds() / 3600:+g}h" if tl.utc_offset is not None else "assumed-utc"
        )
        if analysis.tz_source is not None:
            report.extras["tz_source"] = asdict(analysis.tz_source)
        info.agent_version, info.extension_version = versions(report.extras["facts"])
    finally:
        analysis.timeline.close()
    assign_fingerprints(report.findings)  # from the raw evidence, so --obfuscate does not change them
    if options.redact:
        redact_report(report, obfuscate=options.obfuscate)
    return report
