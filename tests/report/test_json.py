"""JSON report: DESIGN 3.3 through the shipped schema, strict JSON, stable fingerprints."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from analyzer.fingerprint import fingerprint
from analyzer.report import SCHEMA, to_json
from tests.report.builders import finding, sample_report, validated


def test_schema_is_shipped_as_package_data() -> None:
    text = resources.files("analyzer.report").joinpath("schema.json").read_text(encoding="utf-8")
    jsonschema.Draft202012Validator.check_schema(json.loads(text))
    assert json.loads(text) == SCHEMA


def test_sample_report_validates_with_the_contract_keys_then_the_documented_additions() -> None:
    doc = validated(sample_report())
    assert list(doc) == ["schema_version", "tool", "bundle", "verdict", "findings", "missing_evidence", "sources",
                         "timeline", "redactions", "lang", "extras", "unexplained_errors"]
    assert set(doc["findings"][0]) == {"id", "title", "severity", "confidence", "seed_cause", "error_codes",
                                       "explanation", "remediation", "evidence", "first_seen", "last_seen",
                                       "root_cause", "caused_by", "fingerprint",
                                       "notes", "records", "live_records", "texts"}
    for addition in ("lang", "extras"):  # additions only: a report without them is still schema 1
        doc.pop(addition)
    for f in doc["findings"]:
        for key in ("notes", "records", "live_records", "texts"):
            f.pop(key)
        for e in f["evidence"]:
            e.pop("message")
    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("breakage", [
    lambda d: d["findings"][0].update(severity="fatal"),
    lambda d: d["findings"][0].update(fingerprint=""),
    lambda d: d["verdict"].update(status="ok"),
    lambda d: d["sources"][0].update(status="done"),
    lambda d: d.update(extra=1),
    lambda d: d["findings"][0]["evidence"][0].update(ts="yesterday"),
])
def test_schema_rejects_contract_breaks(breakage) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(to_json(sample_report()))
    breakage(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_json_is_strict_and_utf8_even_with_surrogates() -> None:
    report = sample_report()
    report.findings[0].evidence[0].text = "bad bytes \udcff\udcfe end"
    text = to_json(report)
    text.encode("utf-8")
    validated(report)
    assert json.loads(text)["findings"][0]["evidence"][0]["text"] == "bad bytes \\xff\\xfe end"  # reversible escape
    report.findings[0].confidence = float("nan")
    report.extras["uptime"] = float("inf")
    doc = json.loads(to_json(report), parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    assert doc["findings"][0]["confidence"] is None


def test_fingerprint_ignores_times_numbers_paths_and_secrets() -> None:
    a = fingerprint("SNAPSHOT_TIMEOUT", [
        "2024-01-02T10:11:12.123Z ERROR /var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9150.0"
        "/main/handle.py failed with code 76 at https://a.blob.core.windows.net/c?sv=1&sig=AAA",
        "task 0f8fad5b-d9cb-469f-a165-70867728950e timed out after 300 s",
    ])
    b = fingerprint("SNAPSHOT_TIMEOUT", [
        "task 1e8fad5b-d9cb-469f-a165-70867728950f timed out after 600 s",
        "2025-03-04 01:02:03,456 ERROR /var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9225.0"
        "/main/handle.py failed with code 761 at https://b.blob.core.windows.net/c?sv=2&sig=BBB",
    ])
    assert a == b
    assert len(a) == 16
    assert fingerprint("FS_FREEZE_FAILED", ["task x timed out after 300 s"]) != a
    assert fingerprint("SNAPSHOT_TIMEOUT", ["freeze failed"]) != fingerprint("SNAPSHOT_TIMEOUT", ["thaw failed"])


def test_fingerprint_survives_masking() -> None:
    f = finding("WIRESERVER_UNREACHABLE", "error", "t", texts=("connect to 10.0.0.4 failed", "vm guid "
                                                                "0f8fad5b-d9cb-469f-a165-70867728950e"))
    raw = fingerprint(f.id, [e.text for e in f.evidence])
    masked = fingerprint(f.id, ["connect to <ip-1> failed", "vm guid <guid-1>"])
    assert raw == masked
