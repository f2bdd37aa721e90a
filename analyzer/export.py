"""``bundle-analyze timeline``: the full UTC timeline of a bundle as CSV, JSONL or Parquet, redacted.

Rows are written as they come out of the timeline's merge, so memory stays bounded; Parquet is
written in row groups.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from analyzer.api import parse_bundle
from analyzer.escape import machine_text, to_json_text
from analyzer.model import Options
from analyzer.output_file import open_output
from analyzer.redact import Redactor
from analyzer.timeline import ROW_COLUMNS, row

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
    if options.obfuscate:  # names the bundle states are masked wherever they appear, as in the report
        for f in analysis.facts:
            if f.name in ("host.name", "deployment.name", "role.instance") and isinstance(f.value, str) and f.value:
                redactor.learn_name(f.value, "host")
    n = 0
    try:
        rows = ({k: redactor.value(v) for k, v in row(e).items()} for e in analysis.timeline.events())
        if fmt == "csv":
            with open_output(output, newline="") as f:
                w = csv.writer(f)
                w.writerow(ROW_COLUMNS)
                for r in rows:
                    w.writerow([r[c] if c == "line" else _cell(_text(r[c])) for c in ROW_COLUMNS])
                    n += 1
        elif fmt == "jsonl":
            with open_output(output) as f:
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


def _write_parquet(rows: object, output: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.int64() if c == "line" else pa.string()) for c in ROW_COLUMNS])
    n = 0
    with open_output(output, binary=True) as f, pq.ParquetWriter(f, schema) as writer:
        batch: list[dict[str, object]] = []
        for r in rows:  # type: ignore[attr-defined]
            batch.append({c: r[c] if c == "line" else _text(r[c]) for c in ROW_COLUMNS})
            if len(batch) >= _PARQUET_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                n += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema))
            n += len(batch)
    return n
