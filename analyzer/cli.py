"""The ``bundle-analyze`` command line (typer). ``bundle-analyze PATH`` runs the default command."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from analyzer.version import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
DEFAULT_COMMAND = "analyze"


class _DefaultGroup(TyperGroup):
    """Runs ``analyze`` when the first argument is not a subcommand: ``bundle-analyze logs.tar.gz``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Why did an Azure VM backup fail with a snapshot timeout? Point it at the customer's log bundle.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # never print locals: they may hold secrets from the bundle
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bundle-analyzer {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """bundle-analyze PATH analyzes one bundle; the subcommands below do the rest."""


class Format(str, Enum):
    text = "text"
    json = "json"
    html = "html"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"
    never = "never"


class Lang(str, Enum):
    en = "en"
    cs = "cs"


def _fail(message: str) -> typer.Exit:
    from analyzer.redact import Redactor
    from analyzer.report.display import display

    # messages name members of the bundle: redacted and escaped like every other output
    typer.echo(f"bundle-analyze: error: {display(Redactor().text(message), limit=2000)}", err=True)
    return typer.Exit(EXIT_USAGE)


def _parse_time(value: str | None) -> Any:
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(f"--since/--until: not an ISO-8601 time: {value!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@app.command(DEFAULT_COMMAND)
def analyze_cmd(
    path: Annotated[Path, typer.Argument(help="Bundle: folder, tar/tgz/zip/7z/gz, nested archives.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when a finding is at or above this.")] = FailOn.warning,
    lang: Annotated[Lang, typer.Option(help="Language of the report.")] = Lang.en,
    since: Annotated[str | None, typer.Option(help="Only consider events from this UTC time (ISO-8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Only consider events up to this UTC time (ISO-8601).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the verdict line.")] = False,
    obfuscate: Annotated[bool, typer.Option(help="Replace IPs, host names and ids with tokens.")] = False,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Internal use: keep secrets in the output.")] = False,
    timeout: Annotated[float | None, typer.Option(min=0.1, help="Stop reading the bundle after this many seconds; "
                                                  "what was read is still analyzed.")] = None,
) -> None:
    """Analyze one bundle and print or write the report."""
    from analyzer.api import analyze
    from analyzer.intake import IntakeError, Limits
    from analyzer.model import Options, RenderOptions, severity_rank
    from analyzer.output_file import OutputError, check_output

    try:
        if output is not None:
            check_output(output)
    except OutputError as exc:
        raise _fail(str(exc)) from exc
    if no_redact:
        typer.echo("bundle-analyze: warning: --no-redact: the report may contain secrets", err=True)
    options = Options(since=_parse_time(since), until=_parse_time(until), redact=not no_redact,
                      obfuscate=obfuscate, limits=Limits(max_seconds=timeout))
    try:
        report = analyze(path, options)
    except IntakeError as exc:
        raise _fail(str(exc)) from exc
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), output)
    top = report.max_severity()
    if fail_on is not FailOn.never and top is not None and severity_rank(top) >= severity_rank(fail_on.value):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _write(report: Any, options: Any, output: Path | None) -> None:
    """Render ``report`` to ``output``, or to stdout (the text format in colour on a terminal)."""
    from analyzer.report import render

    if output is None and options.format == Format.text.value:
        from analyzer.report.terminal import render_terminal

        render_terminal(report, lang=options.lang, quiet=options.quiet)
        return
    text = render(report, options)
    if output is None:
        sys.stdout.write(text)
        return
    from analyzer.output_file import OutputError, write_output

    try:
        write_output(output, text)
    except (OutputError, OSError) as exc:
        raise _fail(f"{output}: cannot write the report: {exc}") from exc
    if options.format != Format.json.value or options.quiet:
        typer.echo(f"report written to {output}", err=True)


@app.command("render")
def render_cmd(
    report_json: Annotated[Path, typer.Argument(metavar="REPORT_JSON",
                                                help="A JSON report (--format json, or the batch catalog's).")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the report.")] = Lang.en,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the verdict line.")] = False,
) -> None:
    """Render a stored JSON report again, in any format and language, without the bundle."""
    from analyzer.model import RenderOptions
    from analyzer.output_file import OutputError, check_output
    from analyzer.report.stored import load_report

    try:
        if output is not None:
            check_output(output)
    except OutputError as exc:
        raise _fail(str(exc)) from exc
    try:
        report = load_report(report_json.read_bytes())
    except (OSError, ValueError) as exc:  # StoredReportError and JSON syntax errors are ValueErrors
        raise _fail(f"{report_json}: {exc}") from exc
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), output)
    raise typer.Exit(EXIT_OK)


class TimelineFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


@app.command("timeline")
def timeline_cmd(
    path: Annotated[Path, typer.Argument(help="Bundle: folder or archive.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[TimelineFormat, typer.Option("--format", "-f")] = TimelineFormat.csv,
    obfuscate: Annotated[bool, typer.Option(help="Replace IPs, host names and ids with tokens.")] = False,
) -> None:
    """Write every record of the bundle as one UTC-ordered timeline (redacted)."""
    from analyzer.export import export_timeline
    from analyzer.intake import IntakeError
    from analyzer.model import Options
    from analyzer.output_file import OutputError, check_output

    try:
        check_output(output)
        n = export_timeline(path, output, fmt.value, Options(obfuscate=obfuscate))
    except (IntakeError, OutputError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{n} events written to {output}", err=True)


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command("batch")
def batch_cmd(
    folder: Annotated[Path, typer.Argument(help="Tickets as folders (<ticket>/<attachments>) or loose archives.")],
    db: Annotated[Path, typer.Option("--db", help="SQLite catalog to create or resume.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel bundles (default: cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, tcp://host:port (needs the dask extra).")]
    = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the fleet report (HTML) here.")] = None,
    export: Annotated[ExportFormat | None, typer.Option(help="Also write the tables beside the db.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per bundle before its worker is killed.")] = 600.0,
    memory_mb: Annotated[int, typer.Option("--memory-mb", min=64, help="Address-space limit per worker.")] = 4096,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Analyze again the bundles whose stored "
                                               "analysis failed (after a timeout or a limit).")] = False,
) -> None:
    """Analyze every bundle of a folder of tickets into a catalog; fleet findings, report and exports."""
    from analyzer.batch.fleet_report import write_fleet_report
    from analyzer.batch.runner import BatchError, BatchOptions, run_batch
    from analyzer.output_file import OutputError, check_output

    options = BatchOptions(workers=workers, scheduler=scheduler, timeout_s=timeout, memory_mb=memory_mb,
                           html=report is not None, retry_failed=retry_failed)
    try:
        for out in (db, report):
            if out is not None:
                check_output(out)
        summary = run_batch(folder, db, options)
    except (BatchError, OutputError) as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        typer.echo("bundle-analyze: interrupted; every finished bundle is in the catalog, rerun to resume", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"{summary.attachments} bundles: {summary.analyzed} analyzed, {summary.reused} reused, "
               f"{summary.failed} failed; {summary.fleet_findings} fleet findings; catalog {db}", err=True)
    if summary.skipped:
        typer.echo(f"{len(summary.skipped)} entries skipped (not bundles)", err=True)
    try:
        if report is not None:
            typer.echo(f"fleet report written to {write_fleet_report(db, report)}", err=True)
        if export is not None:
            from analyzer.batch.catalog import Catalog

            catalog = Catalog(db)
            try:
                for out in catalog.export(export.value):
                    typer.echo(f"exported {out}", err=True)
            finally:
                catalog.close()
    except OutputError as exc:
        raise _fail(str(exc)) from exc
    raise typer.Exit(EXIT_OK)


@app.command("rules")
def rules_cmd(
    lang: Annotated[Lang, typer.Option(help="Language of the titles.")] = Lang.en,
    sources: Annotated[bool, typer.Option("--sources", help="List the sources instead: parser, paths, what "
                                          "each proves, how to collect it, which detectors need it.")] = False,
) -> None:
    """List the detector catalog: id, severity, seed cause, sources needed, title."""
    from analyzer.detectors.catalog import rules_table, sources_table

    if sources:
        for s in sources_table():
            typer.echo(f"{s['source']:<26} {s['os']:<8} parser {s['parser']:<22} proves {s['proves']}\n"
                       f"{'':<26} paths: {s['patterns']}\n{'':<26} linux: {s['linux']}\n"
                       f"{'':<26} windows: {s['windows']}\n{'':<26} needed by: {s['needed_by']}")
        raise typer.Exit(EXIT_OK)
    for r in rules_table(lang.value):
        typer.echo(f"{r['id']:<40} {r['severity']:<8} cause {r['seed_cause']:<2} {r['os']:<8} {r['title']}\n"
                   f"{'':<40} sources: {r['sources']}")


@app.command("explain")
def explain_cmd(
    finding_id: Annotated[str, typer.Argument(metavar="FINDING_ID", help="A finding id, e.g. DHCP_FAILURE.")],
    lang: Annotated[Lang, typer.Option(help="Language of the text.")] = Lang.en,
) -> None:
    """What a finding means, the evidence it uses, the error codes it explains, and the remediation."""
    from analyzer.detectors.catalog import explain, find

    detector = find(finding_id)
    if detector is None:
        raise _fail(f"unknown finding id {finding_id!r}; `bundle-analyze rules` lists them")
    typer.echo(explain(detector, lang.value), nl=False)


@app.command("eval")
def eval_cmd(corpus: Annotated[Path, typer.Argument(help="Folder of samples, each with an expected.json "
                                                     "(or one sample folder).")]) -> None:
    """Per-finding precision and recall, root-cause and verdict accuracy, false alarms, over a corpus of samples."""
    from analyzer.evaluate import evaluate, render, sample_dirs

    if not corpus.is_dir() or not sample_dirs(corpus):
        raise _fail(f"{corpus}: no sample folder with an expected.json")
    typer.echo(render(evaluate(corpus)), nl=False)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
