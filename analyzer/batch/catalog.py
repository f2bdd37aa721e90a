"""The batch catalog: one SQLite file, written by the coordinator only (DESIGN.md 3.6).

Content-addressed: ``reports`` holds one analysis per sha256 (with the analyzer version that made
it), ``findings``, ``facts`` and ``unexplained`` (one row per unexplained error template, in the report's
order) hang off the sha256, and ``bundles`` has one row per attachment (unique on ticket and path) that
copies the summary of the analysis of its content. Every result is written in one transaction in WAL mode,
so a batch killed at any point resumes without losing or duplicating rows.

The ``error`` of a failed analysis holds no language: it is the message's key and parameters as JSON
(``{"key": "batch.timed_out", "params": {"seconds": 600}}``), worded when shown (the summary, the fleet report,
``--export``: :func:`failure_message`). A catalog written before holds English text there; it reads as it is.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analyzer.batch.discovery import Attachment
from analyzer.escape import machine_text, to_json_text
from analyzer.locale import word
from analyzer.output_file import OutputError, create_private, open_output
from analyzer.redact import Redactor
from parsers.base import Message, say

SCHEMA_VERSION = "1"
EXPORT_TABLES = ("bundles", "findings", "facts", "fleet_findings", "unexplained", "reports")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    sha256 TEXT PRIMARY KEY,
    analyzer_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    seconds REAL,
    layout TEXT,
    os TEXT,
    root_cause TEXT,
    verdict TEXT,
    day TEXT,
    analyzed_at TEXT NOT NULL,
    report_json TEXT,
    report_html TEXT
);
CREATE TABLE IF NOT EXISTS bundles (
    ticket TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT,
    bytes INTEGER,
    layout TEXT,
    os TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    analyzer_version TEXT NOT NULL,
    seconds REAL,
    root_cause TEXT,
    recorded_at TEXT NOT NULL,
    UNIQUE (ticket, path)
);
CREATE INDEX IF NOT EXISTS bundles_sha256 ON bundles (sha256);
CREATE TABLE IF NOT EXISTS findings (
    sha256 TEXT NOT NULL,
    id TEXT NOT NULL,
    severity TEXT NOT NULL,
    root_cause INTEGER NOT NULL CHECK (root_cause IN (0, 1)),
    first_seen TEXT,
    last_seen TEXT,
    fingerprint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_sha256 ON findings (sha256);
CREATE TABLE IF NOT EXISTS facts (sha256 TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS facts_sha256 ON facts (sha256);
CREATE INDEX IF NOT EXISTS facts_name ON facts (name, value);
CREATE TABLE IF NOT EXISTS unexplained (
    sha256 TEXT NOT NULL,
    rank INTEGER NOT NULL,
    template TEXT NOT NULL,
    level TEXT NOT NULL,
    source TEXT,
    count INTEGER NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    minutes_to_backup INTEGER,
    example_path TEXT,
    example_line INTEGER,
    example TEXT
);
CREATE INDEX IF NOT EXISTS unexplained_sha256 ON unexplained (sha256);
CREATE INDEX IF NOT EXISTS unexplained_template ON unexplained (template);
CREATE TABLE IF NOT EXISTS fleet_findings (
    id TEXT NOT NULL,
    tickets TEXT NOT NULL,
    detail TEXT NOT NULL,
    group_key TEXT,
    first_seen TEXT,
    last_seen TEXT,
    bundles INTEGER
);
"""

ATTEMPT_FACT = "backup.attempt"  # one row per backup attempt time seen in a bundle (ISO-8601 UTC)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _day(result: dict[str, Any]) -> str | None:
    """The day a bundle is about: its latest backup attempt, else its last timeline event."""
    when = max(result.get("attempts") or [""]) or (result.get("timeline") or {}).get("last") or ""
    return when[:10] or None


class Catalog:
    """The SQLite catalog. Only the batch coordinator opens it for writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _private_database(path)
        self.db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}"
                              f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def analysis(self, sha256: str, version: str) -> sqlite3.Row | None:
        """The stored analysis of this content by this analyzer version, if any."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM reports WHERE sha256 = ? AND analyzer_version = ?", (sha256, version)).fetchone()
        return row

    def record_analysis(self, sha256: str, version: str, result: dict[str, Any],
                        attachments: Iterable[tuple[Attachment, int]]) -> None:
        """Store one analysis result and the attachment rows that share its content, atomically."""
        bundle = result.get("bundle") or {}
        verdict = result.get("verdict") or {}
        report = result.get("report")
        with self.transaction() as db:
            db.execute("DELETE FROM findings WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM facts WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM unexplained WHERE sha256 = ?", (sha256,))
            db.execute(
                "INSERT OR REPLACE INTO reports (sha256, analyzer_version, status, error, seconds, layout, os,"
                " root_cause, verdict, day, analyzed_at, report_json, report_html)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha256, version, result["status"], _error(result.get("error")), result.get("seconds"),
                 bundle.get("layout"), bundle.get("os"), verdict.get("root_cause"), verdict.get("status"),
                 _day(result), _now(), to_json_text(report) if report else None, result.get("html")))
            db.executemany(
                "INSERT INTO findings (sha256, id, severity, root_cause, first_seen, last_seen, fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(sha256, f["id"], f["severity"], int(f["root_cause"]), f["first_seen"], f["last_seen"],
                  f["fingerprint"]) for f in result.get("findings", [])])
            facts = [(sha256, _field(k), _field(str(v)))
                     for k, v in sorted((result.get("facts") or {}).items())]
            facts += [(sha256, ATTEMPT_FACT, t) for t in result.get("attempts", [])]
            db.executemany("INSERT INTO facts (sha256, name, value) VALUES (?, ?, ?)", facts)
            db.executemany(
                "INSERT INTO unexplained (sha256, rank, template, level, source, count, first_seen, last_seen,"
                " minutes_to_backup, example_path, example_line, example) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(sha256, rank, _field(u["template"]), u["level"], u.get("source"), u["count"], u.get("first"),
                  u.get("last"), u.get("minutes_to_backup"), _field(u["example"]["path"]), u["example"]["line"],
                  _field(u["example"]["text"])) for rank, u in enumerate(result.get("unexplained", []), 1)])
            for att, size in attachments:
                self._upsert_bundle(db, att, size, sha256, version)

    def link(self, att: Attachment, size: int, sha256: str, version: str) -> None:
        """An attachment whose content was analyzed before: one row, no analysis."""
        with self.transaction() as db:
            self._upsert_bundle(db, att, size, sha256, version)

    def record_refused(self, att: Attachment, size: int | None, error: Message, version: str) -> None:
        """An attachment refused before analysis (over the size limit, unreadable): no content hash."""
        from analyzer.report import message_dict

        with self.transaction() as db:
            db.execute(_UPSERT_BUNDLE, (*_names(att), None, size, None, None, "failed", _error(message_dict(error)),
                                        version, 0.0, None, _now()))

    @staticmethod
    def _upsert_bundle(db: sqlite3.Connection, att: Attachment, size: int, sha256: str, version: str) -> None:
        r = db.execute("SELECT status, error, seconds, layout, os, root_cause FROM reports WHERE sha256 = ?",
                       (sha256,)).fetchone()
        db.execute(_UPSERT_BUNDLE, (*_names(att), sha256, size, r["layout"], r["os"], r["status"], r["error"],
                                    version, r["seconds"], r["root_cause"], _now()))

    def export(self, fmt: str, lang: str = "en") -> list[Path]:
        """Write every table beside the database as ``<db stem>.<table>.csv|parquet`` (:func:`export_path`); the
        ``error`` of a failed analysis worded in ``lang``."""
        written = []
        for table, out in zip(EXPORT_TABLES, export_path(self.path, fmt), strict=True):
            cur = self.db.execute(f"SELECT * FROM {table} ORDER BY rowid")  # fixed table names
            columns = [c[0] for c in cur.description]
            rows: list[Any] = cur.fetchall()
            if "error" in columns:
                at = columns.index("error")
                rows = [tuple(failure_text(v, lang) if i == at else v for i, v in enumerate(r)) for r in rows]
            if fmt == "csv":
                _write_csv(out, columns, rows)
            elif fmt == "parquet":
                _write_parquet(out, table, columns, rows, self.db)
            else:
                raise ValueError(f"unknown export format {fmt!r}")
            written.append(out)
        return written


def export_path(db: Path, fmt: str) -> list[Path]:
    """The files ``--export`` writes, one per table of :data:`EXPORT_TABLES`, beside the database."""
    return [db.with_name(f"{db.stem}.{table}.{fmt}") for table in EXPORT_TABLES]


def _error(error: dict[str, Any] | str | None) -> str | None:
    """The ``error`` column: a failure's message (``{"key", "params"}``) as JSON, its parameters (paths, a library's
    error) redacted; a plain text (an older worker's) redacted as it is."""
    if error is None:
        return None
    if not isinstance(error, dict):
        return _field(str(error))
    return to_json_text({"key": str(error.get("key")), "params": Redactor().value(error.get("params") or {})})


def failure_message(stored: dict[str, Any] | str | None) -> Message | None:
    """The message of a failure as stored (a catalog's ``error`` column, a worker's result); the English text of a
    catalog written before failures were stored as messages is kept as it is."""
    from analyzer.locale import template
    from analyzer.report.stored import message_from

    if stored is None:
        return None
    found = stored
    if isinstance(stored, str):
        try:
            found = json.loads(stored)
        except ValueError:
            found = None
    message = message_from(found)
    if message is not None:
        try:
            template("messages", message.key)
        except KeyError:  # a JSON-looking text of an older catalog, or a key of a newer analyzer
            message = None
    return message or say("verbatim", text=str(stored))


def failure_text(stored: Any, lang: str = "en") -> Any:
    """A catalog's ``error`` worded in ``lang`` (any other value as it is)."""
    message = failure_message(stored) if isinstance(stored, str) else None
    return stored if message is None else word(message, lang)


def _field(text: str | None) -> str | None:
    """A text field from a bundle or the filesystem (names are escaped already): redacted, controls escaped."""
    return None if text is None else machine_text(Redactor().text(text))


def _names(att: Attachment) -> tuple[str | None, str | None]:
    return _field(att.ticket), _field(att.path)


_UPSERT_BUNDLE = (
    "INSERT INTO bundles (ticket, path, sha256, bytes, layout, os, status, error, analyzer_version, seconds,"
    " root_cause, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (ticket, path) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,"
    " layout = excluded.layout, os = excluded.os, status = excluded.status, error = excluded.error,"
    " analyzer_version = excluded.analyzer_version, seconds = excluded.seconds,"
    " root_cause = excluded.root_cause, recorded_at = excluded.recorded_at"
)


def _write_csv(out: Path, columns: list[str], rows: list[sqlite3.Row]) -> None:
    from analyzer.export import _cell

    with open_output(out, newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in r])


_ARROW_TYPES = {"INTEGER": "int64", "REAL": "float64"}


def _write_parquet(out: Path, table: str, columns: list[str], rows: list[sqlite3.Row],
                   db: sqlite3.Connection) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    declared = {r["name"]: r["type"].upper() for r in db.execute(f"PRAGMA table_info({table})")}
    schema = pa.schema([(c, pa.from_numpy_dtype(_ARROW_TYPES[declared[c]]) if declared.get(c) in _ARROW_TYPES
                         else pa.string()) for c in columns])
    data = {c: [machine_text(r[i]) if isinstance(r[i], str) else r[i] for r in rows] for i, c in enumerate(columns)}
    with open_output(out, binary=True) as f:
        pq.write_table(pa.table(data, schema=schema), f)


def _private_database(path: Path) -> None:
    """A new catalog is created 0600 and never through a link; an existing one (and its journal files) must be
    regular files, not links planted beside it."""
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            mode = os.lstat(p).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise OutputError(say("output.catalog_not_regular", path=str(p)))
    with suppress(FileExistsError):
        os.close(create_private(path))
