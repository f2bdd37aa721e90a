"""Diagnosis: link symptoms to causes, rank findings, name one root cause, set the verdict.

``CAUSES`` says which findings can cause which (DHCP failure -> WireServer unreachable -> snapshot
timeout; auto-update off -> outdated agent; ...). A finding's ``caused_by`` lists the present causes
at warning or above; the root cause is the strongest present finding that nothing present causes, an
observed failure before a finding about versions or settings, and it carries at least the severity of the
findings it causes (a root is never milder than its own consequence).
Without a finding at warning or above, warnings and errors that no finding explains make the verdict
inconclusive when they are live (no successful backup follows them): a VM with errors nobody can name is not
healthy. Like a finding that recovered, unexplained errors that a successful backup followed are listed for
context and leave a healthy VM healthy.
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.model import Analysis, Finding, MissingEvidence, UnexplainedError, Verdict, say, severity_rank

#: symptom -> the findings that can cause it (order = preference when several are present)
CAUSES: dict[str, tuple[str, ...]] = {
    "SNAPSHOT_TIMEOUT": ("DHCP_FAILURE", "WIRESERVER_UNREACHABLE", "EXTENSIONS_DISABLED", "AGENT_NOT_RUNNING",
                         "EXTENSION_LOAD_FAILED", "IAASVMPROVIDER_NOT_AUTOMATIC",
                         "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE", "VM_SHUTDOWN_IN_GUEST",
                         "HIGH_RESOURCE_USAGE", "SQL_VSS_FULL_BACKUP", "VSS_WRITER_FAILED",
                         "FS_FREEZE_FAILED", "STORAGE_UNREACHABLE", "CONCURRENT_BACKUPS", "SNAPSHOT_LIMIT_REACHED",
                         "AGENT_OUTDATED"),
    "WIRESERVER_UNREACHABLE": ("DHCP_FAILURE",),
    "AGENT_OUTDATED": ("AGENT_AUTO_UPDATE_DISABLED",),
    "AGENT_NOT_RUNNING": ("HIGH_RESOURCE_USAGE", "VM_SHUTDOWN_IN_GUEST"),
    "EXTENSION_LOAD_FAILED": ("EXTENSIONS_DISABLED", "SNAPSHOT_EXTENSION_OUTDATED", "IAASVMPROVIDER_NOT_AUTOMATIC",
                              "EXTENSION_BLOCKED_BY_SECURITY_SOFTWARE", "WIRESERVER_UNREACHABLE", "AGENT_OUTDATED"),
    "SNAPSHOT_LIMIT_REACHED": ("CONCURRENT_BACKUPS",),
    "VSS_WRITER_FAILED": ("SQL_VSS_FULL_BACKUP", "HIGH_RESOURCE_USAGE"),
    "FS_FREEZE_FAILED": ("HIGH_RESOURCE_USAGE",),
    "STORAGE_UNREACHABLE": ("DHCP_FAILURE",),
}

#: symptom -> causes that explain it only through a record both findings cite: an enable killed at its timeout
#: while CPU-throttled for much of it is the extension's failure and the starvation that caused it (L74); a
#: resource problem elsewhere in the window does not explain an extension that fails to load
SHARED_CAUSES: dict[str, tuple[str, ...]] = {
    "EXTENSION_LOAD_FAILED": ("HIGH_RESOURCE_USAGE",),
}

#: findings about how the VM is set up (an old version, a switch) rather than a failure seen in its logs: an
#: observed failure (crash loop, exception, relaunch loop) they do not cause outranks them as root cause
STANDING = frozenset({"AGENT_OUTDATED", "AGENT_AUTO_UPDATE_DISABLED", "VERBOSE_LOGGING_DISABLED"})


def _problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if severity_rank(f.severity) >= severity_rank("warning")]


def link(findings: list[Finding]) -> None:
    """Fill ``caused_by`` of every finding with the present causes (at warning or above)."""
    present = {f.id: f for f in _problems(findings)}
    for f in findings:
        f.caused_by = [c for c in CAUSES.get(f.id, ()) if c in present and c != f.id]
        f.caused_by += [c for c in SHARED_CAUSES.get(f.id, ()) if c in present and present[c].explains & f.explains]


def _consequences(finding_id: str, present: set[str]) -> set[str]:
    """The present findings this one explains, directly or through others."""
    seen: set[str] = set()
    todo = [finding_id]
    while todo:
        cause = todo.pop()
        for symptom, causes in CAUSES.items():
            if cause in causes and symptom in present and symptom not in seen:
                seen.add(symptom)
                todo.append(symptom)
    seen.discard(finding_id)
    return seen


def _descendants(finding_id: str, present: set[str]) -> int:
    """How many present findings this one explains, directly or through others."""
    return len(_consequences(finding_id, present))


def _carry_chain_severity(root: Finding, problems: list[Finding]) -> None:
    """A root cause is at least as severe as what it causes: a shutdown (warning) that left the requested
    backup never run (AGENT_NOT_RUNNING, error) is an error. The root's own evidence is unchanged; a note says
    whose severity it carries."""
    by_id = {f.id: f for f in problems}
    worst = max((by_id[i] for i in sorted(_consequences(root.id, set(by_id)))),
                key=lambda f: severity_rank(f.severity), default=None)
    if worst is not None and severity_rank(worst.severity) > severity_rank(root.severity):
        root.severity = worst.severity
        root.notes.append(say("note.root_severity", id=worst.id))


def rank(findings: list[Finding]) -> list[Finding]:
    """Severity, then causal position (causes before symptoms), then confidence; ties by id."""
    present = {f.id for f in _problems(findings)}
    return sorted(findings, key=lambda f: (-severity_rank(f.severity), bool(f.caused_by),
                                           -_descendants(f.id, present), -f.confidence, f.id))


def _chain(root: Finding, findings: list[Finding]) -> list[str]:
    """root -> the symptoms it explains, nearest first."""
    chain = [root.id]
    by_id = {f.id: f for f in findings}
    while True:
        nxt = [f.id for f in by_id.values() if chain[-1] in f.caused_by and f.id not in chain]
        if not nxt:
            return chain
        chain.append(min(nxt, key=lambda i: -_descendants(i, set(by_id))))


def diagnose(findings: list[Finding], missing: list[MissingEvidence], analysis: Analysis,
             unexplained: Sequence[UnexplainedError] = ()) -> Verdict:
    """Link, rank (in place), mark exactly one root cause, and say what the bundle shows (the summary's
    ``title`` parameter is the root cause's title, filled in at render time). Live unexplained errors
    (``analyzer.unexplained``) as the only sign make the verdict inconclusive, never healthy."""
    link(findings)
    findings[:] = rank(findings)
    problems = _problems(findings)
    records = sum(u.count for u in unexplained)
    if problems:
        uncaused = [f for f in problems if not f.caused_by] or problems
        root = next((f for f in uncaused if f.id not in STANDING), uncaused[0])
        root.root_cause = True
        _carry_chain_severity(root, problems)
        summary = [say("verdict.problems", id=root.id, n=len(problems))]
        chain = _chain(root, problems)
        if len(chain) > 1:
            summary.append(say("verdict.chain", chain=" -> ".join(chain)))
        if unexplained:
            summary.append(say("verdict.also_unexplained", templates=len(unexplained), records=records))
        findings.remove(root)
        findings.insert(0, root)
        return Verdict("problems_found", root.id, summary)
    why = None
    if analysis.stopped is not None:  # nothing wrong in what was read, but not everything was read
        why = say("why.damaged" if analysis.stopped == "damaged" else "why.partial")
    elif not any(s.status == "parsed" for s in analysis.sources):
        why = say("why.nothing_parsed")
    elif not analysis.has("agent_log"):
        why = say("why.no_agent_log")
    if why is not None:
        summary = [say("verdict.inconclusive", why=why)]
        if unexplained:
            summary.append(say("verdict.also_unexplained", templates=len(unexplained), records=records))
        return Verdict("inconclusive", None, summary)
    live = [u for u in unexplained if u.live]
    if live:
        return Verdict("inconclusive", None, [say("verdict.unexplained", templates=len(live),
                                                  records=sum(u.count for u in live)),
                                              say("verdict.unexplained_next")])
    summary = [say("verdict.healthy")]
    if unexplained:
        summary.append(say("verdict.recovered_unexplained", templates=len(unexplained), records=records))
    return Verdict("healthy", None, summary)
