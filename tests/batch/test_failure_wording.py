"""Why an analysis failed is stored in the catalog as a message (key and parameters) and worded where it is shown:
the batch summary and progress, the fleet report, the exports, each in the batch's language. A catalog written
before holds English text there, which still shows as it is: no row is lost."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from analyzer.batch.catalog import Catalog, failure_message, failure_text
from analyzer.batch.fleet_report import write_fleet_report
from analyzer.batch.progress import BatchProgress
from analyzer.batch.runner import BatchOptions, run_batch, summary_lines
from analyzer.locale import word
from analyzer.model import say
from tests.batch.bundles import bundle_files, write_tar_gz

OLD_TEXT = "timed out after 600 s (process killed)"  # as an older analyzer stored it


def _batch(tmp_path: Path, lang: str = "en") -> tuple[Path, Path, str]:
    """A folder of one good and one corrupt bundle, analyzed; returns the folder, the catalog, the progress."""
    root = tmp_path / "tickets"
    write_tar_gz(root / "OK" / "logs.tar.gz", bundle_files("vm1"))
    (root / "BAD").mkdir()
    (root / "BAD" / "logs.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    db = tmp_path / "c.sqlite"
    out = io.StringIO()
    run_batch(root, db, BatchOptions(workers=1, timeout_s=120, lang=lang), BatchProgress(2, out, lang))
    return root, db, out.getvalue()


def _stored_error(db: Path) -> str:
    with sqlite3.connect(db) as con:
        ((error,),) = con.execute("SELECT error FROM bundles WHERE status = 'failed'").fetchall()
    return str(error)


def _failed_section(html: str) -> str:
    return html.split('<section id="failed">', 1)[1].split("</section>", 1)[0]


def _exported_error(db: Path, lang: str) -> str:
    catalog = Catalog(db)
    try:
        written = catalog.export("csv", lang)
    finally:
        catalog.close()
    rows = list(csv.DictReader(written[0].open(encoding="utf-8")))
    return next(r["error"] for r in rows if r["status"] == "failed")


def test_a_failure_is_stored_as_a_message_and_worded_in_each_language(tmp_path: Path) -> None:
    root, db, progress = _batch(tmp_path, "cs")
    stored = json.loads(_stored_error(db))
    assert stored["key"] == "intake.corrupt_data" and stored["params"]["path"] == "logs.tar.gz"
    message = failure_message(_stored_error(db))
    assert message is not None
    english, czech = word(message, "en"), word(message, "cs")
    assert english != czech and "corrupt or truncated data" in english and "poškozená nebo useknutá data" in czech
    assert f"] {word(say('batch.status_failed'), 'cs')} BAD/logs.tar.gz (" in progress
    for lang, text in (("en", english), ("cs", czech)):
        html = write_fleet_report(db, tmp_path / f"fleet-{lang}.html", lang).read_text(encoding="utf-8")
        assert text in _failed_section(html), lang
        assert _exported_error(db, lang) == text
    rerun = run_batch(root, db, BatchOptions(workers=1), BatchProgress(2, io.StringIO()))
    lines = summary_lines(rerun, db, "cs")
    assert lines[0].startswith("2 balíčky: rozebráno 0, převzato 2, selhalo 1;")
    assert f"  BAD/logs.tar.gz: {czech}" in lines and "selhalo:" in lines
    assert f"  BAD/logs.tar.gz: {english}" in summary_lines(rerun, db, "en")


@pytest.mark.parametrize("old", [OLD_TEXT, "{not JSON: a path that starts with a brace",
                                 '{"key": "gone.key", "params": {}}'])
def test_an_older_catalogs_failure_text_still_shows(tmp_path: Path, old: str) -> None:
    """A failure stored as English text (or a text that only looks like a message) reads as it is, everywhere."""
    root, db, _ = _batch(tmp_path)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE bundles SET error = ? WHERE status = 'failed'", (old,))
        con.execute("UPDATE reports SET error = ? WHERE status = 'failed'", (old,))
    assert failure_text(old, "cs") == old
    for lang in ("en", "cs"):
        html = write_fleet_report(db, tmp_path / f"fleet-{lang}.html", lang).read_text(encoding="utf-8")
        assert "BAD" in _failed_section(html) and (old.replace('"', "&#34;") in html or old in html)
        assert _exported_error(db, lang) == old
    rerun = run_batch(root, db, BatchOptions(workers=1), BatchProgress(2, io.StringIO()))
    assert rerun.failed == 1 and f"  BAD/logs.tar.gz: {old}" in summary_lines(rerun, db, "cs")


def test_a_failures_parameters_are_redacted_where_it_is_made(tmp_path: Path) -> None:
    """A library's error text may quote the bundle: redacted in the worker's result, nested messages too, and
    again when a refused attachment's reason is stored."""
    from analyzer.batch.worker import failed

    made = failed(say("intake.at_path", path="logs.tgz", problem=say("batch.analysis_error",
                                                                     error="ValueError: password=hunter2")))
    assert "hunter2" not in json.dumps(made) and "<redacted:password>" in json.dumps(made)
    message = failure_message(made["error"])
    assert message is not None and word(message, "cs").startswith("logs.tgz: chyba rozboru: ValueError")
