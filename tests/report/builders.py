"""Reports built directly (detectors are written elsewhere), for the rendering tests."""

from __future__ import annotations

import jsonschema

from analyzer.fingerprint import assign_fingerprints
from analyzer.model import BundleInfo, Evidence, Finding, MissingEvidence, Report, SourceEntry, Verdict, say
from analyzer.report import SCHEMA, to_json
from analyzer.report.wording import Wording


def finding(fid: str, severity: str, title: str, *, root: bool = False, texts: tuple[str, ...] = ("line",),
            path: str = "var/log/waagent.log", ts: str | None = "2024-05-01T10:15:00.000000Z") -> Finding:
    """A finding; ``title`` is shown only for an id the locale files do not know (a plugin's)."""
    return Finding(
        id=fid, severity=severity, confidence=0.9, seed_cause=1, error_codes=["ExtensionSnapshotFailedNoNetwork"],
        evidence=[Evidence(path, 100 + i, ts, text) for i, text in enumerate(texts)],
        records=len(texts), live_records=len(texts),
        first_seen=ts, last_seen="2024-05-01T12:40:00.000000Z", root_cause=root,
        caused_by=[] if root else ["WIRESERVER_UNREACHABLE"],
        texts={"title": title, "meaning": f"Why {fid} matters.",
               "remediation": [f"Fix {fid} step one.", f"Fix {fid} step two."]})


def title_of(f: Finding, lang: str = "en") -> str:
    return Wording(lang).title(f)


def sample_report(findings: list[Finding] | None = None, **bundle: object) -> Report:
    if findings is None:
        findings = [
            finding("SNAPSHOT_TIMEOUT", "error", "Snapshot task timed out",
                    texts=("VMSnapshot: snapshot task queued, no status after 300 s",)),
            finding("WIRESERVER_UNREACHABLE", "critical", "Guest cannot reach the WireServer", root=True,
                    texts=("[HTTP Failed] GET http://168.63.129.16/machine/?comp=goalstate -- IOError timed out",
                           "Error communicating with WireServer: [Errno 113] No route to host",
                           "third line", "fourth line")),
            finding("VERBOSE_LOGGING_DISABLED", "info", "Verbose logging is off", texts=("Logs.Verbose=n",),
                    path="etc/waagent.conf", ts=None),
        ]
    info = {"name": "logs.tar.gz", "sha256": "0" * 64, "bytes": 12345, "layout": "waagent-collect-logs",
            "os": "linux", "host": "vm01"}
    info.update(bundle)
    root = next((f for f in findings if f.root_cause), None)
    report = Report(
        tool={"name": "bundle-analyzer", "version": "0.1.0"},
        bundle=BundleInfo(**info),  # type: ignore[arg-type]
        verdict=Verdict("problems_found" if findings else "healthy", root.id if root else None,
                        [say("verdict.problems", id=root.id, n=len(findings))] if root else [say("verdict.healthy")]),
        findings=findings,
        missing_evidence=[MissingEvidence("vmsnapshot_log", say("missing.needed_by", detectors=["SNAPSHOT_TIMEOUT"]),
                                          "sudo tar czf vmsnapshot.tgz /var/log/azure/")],
        sources=[SourceEntry("var/log/waagent.log", "waagent_log", "parsed", 1200,
                             [say("problem.at_line", line=7, problem=say("problem.invalid_timestamp"))]),
                 SourceEntry("etc/waagent.conf", "waagent_conf", "parsed", 0),
                 SourceEntry("var/lib/waagent/abc.prv", None, "skipped", note=say("source.private_key")),
                 SourceEntry("var/log/broken.evtx", "evtx", "failed",
                             error=say("problem.parser_crashed", error="EvtxError: bad chunk"))],
        timeline={"events": 1234, "first": "2024-05-01T08:00:00.000000Z", "last": "2024-05-01T13:59:00.000000Z"},
    )
    report.extras["histogram"] = {
        "waagent_log": [("2024-05-01T08:00:00Z", 40), ("2024-05-01T09:00:00Z", 400), ("2024-05-01T10:00:00Z", 12),
                        ("2024-05-01T13:00:00Z", 3)],
        "vmsnapshot_log": [("2024-05-01T10:00:00Z", 25), ("2024-05-01T12:00:00Z", 2)],
    }
    report.extras["backup_attempts"] = ["2024-05-01T10:05:00Z", "2024-05-01T12:35:00Z"]
    report.extras["backup_runs"] = [
        {"start": "2024-05-01T10:05:00.000000Z", "end": "2024-05-01T10:11:00.000000Z", "outcome": "success",
         "seq": "3", "task_id": "task-3", "stages": ["request", "invocation", "start", "snapshot", "end"]},
        {"start": "2024-05-01T12:35:00.000000Z", "end": "2024-05-01T12:35:00.000000Z", "outcome": "no_status",
         "seq": "4", "task_id": None, "stages": ["request"]},
    ]
    report.extras["zoom"] = {
        "start": "2024-05-01T12:10:00.000000Z", "end": "2024-05-01T12:50:00.000000Z", "bin_seconds": 60,
        "lanes": {"waagent_log": [{"t": "2024-05-01T12:40:00.000000Z", "n": 3, "level": "error",
                                   "ts": "2024-05-01T12:40:07.000000Z", "kind": "wireserver.error",
                                   "text": "Error communicating with WireServer: [Errno 113] No route to host"}],
                  "vmsnapshot_log": [{"t": "2024-05-01T12:35:00.000000Z", "n": 1, "level": "info",
                                      "ts": "2024-05-01T12:35:02.000000Z", "kind": "snapshot.start",
                                      "text": "starting enable"}]},
    }
    report.extras["seconds"] = 0.42
    report.extras["tz"] = "assumed-utc"
    report.extras["facts"] = {"agent.goal_state_version": "2.2.53.1", "host.distro": "Ubuntu 20.04"}
    assign_fingerprints(report.findings)
    validated(report)
    return report


def validated(report: Report) -> dict[str, object]:
    """The JSON of ``report``, validated against the shipped schema."""
    import json

    doc = json.loads(to_json(report), parse_constant=_refuse)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def _refuse(name: str) -> None:
    raise ValueError(f"not JSON: {name}")
