"""``bundle-analyze timeline``: the full UTC timeline of a bundle as CSV, JSONL or Parquet, redacted.

Rows are written as they come out of the timeline's merge, so memory stays bounded; Parquet is
written in row groups, with ``ts`` as a UTC timestamp (microseconds) and ``line`` as an integer. The
output is a file (0600, never through a link) or standard output for ``-``.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from analyzer.api import parse_bundle
from analyzer.escape import machine_text, to_json_text
from analyzer.model import Analysis, Options
from analyzer.output_file import is_stdout, open_destination
from analyzer.redact import Redactor
from analyzer.timeline import ROW_COLUMNS, parse_iso, row

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and full-width forms
_PARQUET_GROUP = 50_000


def _cell(value: str) -> str:
    """A CSV cell: control and bidi characters visible, spreadsheet formulas (a cell starting with = + - @
    runs as a formula in Excel) neutralized."""
    value = machine_text(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _text(value: Any) -> str:
    """A text column of the export: JSON for structured values, then the machine escapes."""
    return machine_text(value if isinstance(value, str) else to_json_text(value))


def export_timeline(path: str | os.PathLike[str], output: Path, fmt: str, options: Options | None = None) -> int:
    options = options or Options()
    options.keep_all_events = True
    analysis, _ = parse_bundle(path, options)
    redactor = Redactor(obfuscate=options.obfuscate)
    n = 0
    try:
        _learn(redactor, analysis)
        rows = (redactor.value(row(e)) for e in analysis.timeline.events())
        if fmt == "csv":
            with open_destination(output, newline="") as f:
                w = csv.writer(f)
                w.writerow(ROW_COLUMNS)
                for r in rows:
                    w.writerow([r[c] if c == "line" else _cell(_text(r[c])) for c in ROW_COLUMNS])
                    n += 1
        elif fmt == "jsonl":
            with open_destination(output) as f:
                for r in rows:
                    f.write(to_json_text(r) + "\n")
                    n += 1
        elif fmt == "parquet":
            n = _write_parquet(rows, output)
        else:
            raise ValueError(f"unknown timeline format {fmt!r}")
    finally:
        analysis.timeline.close()
    return n


def _learn(redactor: Redactor, analysis: Analysis) -> None:
    """Before the first row is written: the secrets the bundle names by key (in facts and kept events) and, with
    ``--obfuscate``, the host names it states anywhere (facts, event fields such as a Windows event's
    ``Computer``, name fields in messages), so that no row before the one naming them keeps them."""
    for f in analysis.facts:
        redactor.learn_keyed({"value": f.value})
        if redactor.obfuscate and f.name in _HOST_FACTS and isinstance(f.value, str) and f.value:
            redactor.learn_name(f.value, "host")
    events = analysis.timeline.events() if redactor.obfuscate else iter(analysis.timeline.notable)
    for e in events:  # the whole stream only when names are masked: it is read twice then
        redactor.learn_keyed(e.attrs)
        if redactor.obfuscate:
            redactor.learn([e.message])


_HOST_FACTS = ("host.name", "deployment.name", "role.instance")


def _write_parquet(rows: object, output: Path) -> int:
    """Parquet needs a seekable file: standard output gets it copied from an anonymous temporary file."""
    if not is_stdout(output):
        with open_destination(output, binary=True) as f:
            return _parquet_into(rows, f)
    with tempfile.TemporaryFile() as tmp:
        n = _parquet_into(rows, tmp)
        tmp.seek(0)
        with open_destination(output, binary=True) as out:
            shutil.copyfileobj(tmp, out)
    return n


def _parquet_into(rows: object, f: Any) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"ts": pa.timestamp("us", tz="UTC"), "line": pa.int64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in ROW_COLUMNS])
    n = 0
    with pq.ParquetWriter(f, schema) as writer:
        batch: list[dict[str, object]] = []
        for r in rows:  # type: ignore[attr-defined]
            batch.append({c: r[c] if c == "line" else _timestamp(r[c]) if c == "ts" else _text(r[c])
                          for c in ROW_COLUMNS})
            if len(batch) >= _PARQUET_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                n += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema))
            n += len(batch)
    return n


def _timestamp(value: str) -> datetime | None:
    """The row's ISO-8601 UTC ``ts`` as a datetime (``None`` for a record without a time)."""
    return parse_iso(value) if value else None
