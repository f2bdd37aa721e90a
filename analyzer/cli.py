"""The ``bundle-analyze`` command line (typer). ``bundle-analyze PATH`` runs the default command."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from analyzer.version import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_COMMAND = "analyze"
PROG = "bundle-analyze"
STDOUT_HELP = "'-' for standard output"

EXIT_CODES = (
    "Exit codes: 0 healthy, or nothing at or above --fail-on; 1 a finding at or above --fail-on; "
    "2 usage error, an input that cannot be read at all, an output that cannot be written, or a "
    "--since/--until window that matches nothing; 3 inconclusive (nothing recognizable in the bundle, "
    "or reading stopped before anything could be judged)."
)


class _DefaultGroup(TyperGroup):
    """Runs ``analyze`` when the first argument is not a subcommand: ``bundle-analyze logs.tar.gz``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: typer.Context, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, "PATH [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix=" " * len("Usage: "))


app = typer.Typer(
    cls=_DefaultGroup,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Why did an Azure VM backup fail with a snapshot timeout? Point it at the customer's log bundle.\n\n"
        f"{PROG} PATH analyzes one bundle (a folder or a tar/tgz/zip/7z/gz archive) and prints the verdict, "
        f"the findings with their evidence, and what evidence is missing; `{PROG} PATH -h` lists its options "
        "(report format, output file, --fail-on, --lang, --since/--until, --timeout).\n\n"
        f"Examples: {PROG} logs.tar.gz;  {PROG} logs.zip -f html -o report.html;  "
        f"{PROG} explain DHCP_FAILURE\n\n" + EXIT_CODES
    ),
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
    """The subcommands; PATH alone runs analyze."""


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
    typer.echo(f"{PROG}: error: {display(Redactor().text(message), limit=2000)}", err=True)
    return typer.Exit(EXIT_USAGE)


def _destination(output: Path | None) -> Path | None:
    """The file to write (checked now, before any work), or None for standard output (``-o -``)."""
    from analyzer.output_file import OutputError, check_output, is_stdout

    if output is None or is_stdout(output):
        return None
    try:
        check_output(output)
    except OutputError as exc:
        raise _fail(str(exc)) from exc
    return output


def _output_path(raw: str) -> Path:
    """An output option as typed: a trailing slash names a folder, which ``Path`` would silently drop."""
    if raw.endswith(("/", os.sep)):
        raise typer.BadParameter(f"{raw}: ends with a slash, so it names a folder; name a file in it")
    return Path(raw)


def _no_such_input(path: Path) -> typer.Exit:
    """A missing input; a mistyped subcommand (``bundle-analyze rule``) gets the command's name."""
    import difflib

    hint = ""
    if path.parent == Path(".") and not path.suffix:
        close = difflib.get_close_matches(path.name, [c.name for c in app.registered_commands if c.name], n=1)
        if close:
            hint = f" (did you mean `{PROG} {close[0]}`?)"
    return _fail(f"{path}: no such file or folder{hint}")


@app.command(DEFAULT_COMMAND, epilog=EXIT_CODES)
def analyze_cmd(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="Bundle: folder, tar/tgz/zip/7z/gz, nested archives.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", parser=_output_path,
                                                help=f"Write the report to this file ({STDOUT_HELP}).")] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when a finding is at or above this.")] = FailOn.warning,
    lang: Annotated[Lang, typer.Option(help="Language of the report.")] = Lang.en,
    since: Annotated[str | None, typer.Option(metavar="TIME", help="Only judge records from this time on (ISO-8601, "
                                              "UTC unless it names an offset), e.g. 2024-06-09T00:00Z.")] = None,
    until: Annotated[str | None, typer.Option(metavar="TIME", help="Only judge records up to this time (ISO-8601).")]
    = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the verdict line.")] = False,
    obfuscate: Annotated[bool, typer.Option(help="Replace IPs, host names and ids with tokens.")] = False,
    no_redact: Annotated[bool, typer.Option("--no-redact", hidden=True,
                                            help="Internal use: keep secrets in the output.")] = False,
    timeout: Annotated[float | None, typer.Option(min=0.1, metavar="SECONDS",
                                                  help="Stop reading the bundle after this many seconds; "
                                                  "what was read is analyzed and the report says what was not.")]
    = None,
) -> None:
    """Analyze one bundle and print or write the report."""
    from analyzer.api import analyze
    from analyzer.intake import IntakeError, Limits
    from analyzer.model import Options, RenderOptions, severity_rank

    destination = _destination(output)
    try:
        options = Options(since=since, until=until, redact=not no_redact, obfuscate=obfuscate,
                          limits=Limits(max_seconds=timeout))
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    if not path.exists() and not path.is_symlink():
        raise _no_such_input(path)
    if no_redact:
        typer.echo(f"{PROG}: warning: --no-redact: the report may contain secrets", err=True)
    try:
        report = analyze(path, options)
    except IntakeError as exc:
        raise _fail(str(exc)) from exc
    window = report.extras.get("window") or {}
    if not window.get("matched", True):
        raise _fail(_window_error(window, report.timeline))
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), destination)
    top = report.max_severity()
    if fail_on is not FailOn.never and top is not None and severity_rank(top) >= severity_rank(fail_on.value):
        raise typer.Exit(EXIT_FINDINGS)
    if report.verdict.status == "inconclusive":
        raise typer.Exit(EXIT_INCONCLUSIVE)
    raise typer.Exit(EXIT_OK)


def _window_error(window: dict[str, Any], timeline: dict[str, Any]) -> str:
    shown = " and ".join(f"--{k} {window[k]}" for k in ("since", "until") if window.get(k))
    if timeline.get("first"):
        return (f"no record of the bundle falls within {shown}: its records run from {timeline['first']} "
                f"to {timeline['last']} (UTC)")
    return f"no record of the bundle falls within {shown}: the bundle holds no dated record"


def _write(report: Any, options: Any, output: Path | None) -> None:
    """Render ``report`` to the checked ``output``, or to stdout (the text format in colour on a terminal)."""
    from analyzer.report import render

    if output is None and options.format == Format.text.value:
        from analyzer.report.terminal import render_terminal

        render_terminal(report, lang=options.lang, quiet=options.quiet)
        return
    text = render(report, options)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
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
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", parser=_output_path,
                                                help=f"Write the report to this file ({STDOUT_HELP}).")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the report.")] = Lang.en,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the verdict line.")] = False,
) -> None:
    """Render a stored JSON report again, in any format and language, without the bundle."""
    from analyzer.model import RenderOptions
    from analyzer.report.stored import load_report

    destination = _destination(output)
    try:
        report = load_report(report_json.read_bytes())
    except (OSError, ValueError) as exc:  # StoredReportError and JSON syntax errors are ValueErrors
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise _fail(f"{report_json}: {reason}") from exc
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), destination)
    raise typer.Exit(EXIT_OK)


class TimelineFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


@app.command("timeline")
def timeline_cmd(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="Bundle: folder or archive.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", parser=_output_path,
                                         help=f"File to write ({STDOUT_HELP}).")],
    fmt: Annotated[TimelineFormat, typer.Option("--format", "-f")] = TimelineFormat.csv,
    obfuscate: Annotated[bool, typer.Option(help="Replace IPs, host names and ids with tokens.")] = False,
) -> None:
    """Write every record of the bundle as one UTC-ordered timeline (redacted)."""
    from analyzer.export import export_timeline
    from analyzer.intake import IntakeError
    from analyzer.model import Options
    from analyzer.output_file import STDOUT, OutputError

    destination = _destination(output)
    if destination is None and fmt is TimelineFormat.parquet and sys.stdout.isatty():
        raise _fail("-o -: Parquet is binary; redirect standard output to a file or name one with -o")
    if not path.exists() and not path.is_symlink():
        raise _no_such_input(path)
    try:
        n = export_timeline(path, destination or Path(STDOUT), fmt.value, Options(obfuscate=obfuscate))
    except (IntakeError, OutputError) as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:  # the disk filled up or the folder went away while writing
        raise _fail(f"{destination}: cannot write the timeline: {exc.strerror or exc}") from exc
    typer.echo(f"{n} events written to {destination or 'standard output'}", err=True)


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command("batch")
def batch_cmd(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Tickets as folders (<ticket>/<attachments>) or "
                                           "loose archives.")],
    db: Annotated[Path, typer.Option("--db", metavar="FILE", parser=_output_path,
                                     help="SQLite catalog to create or resume.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel bundles (default: cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, tcp://host:port (needs the dask extra).")]
    = None,
    report: Annotated[Path | None, typer.Option("--report", metavar="FILE", parser=_output_path,
                                                help="Write the fleet report (HTML) here.")] = None,
    export: Annotated[ExportFormat | None, typer.Option(help="Also write the tables beside the db.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per bundle before its worker is killed.")] = 600.0,
    memory_mb: Annotated[int, typer.Option("--memory-mb", min=64, help="Address-space limit per worker.")] = 4096,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Analyze again the bundles whose stored "
                                               "analysis failed (after a timeout or a limit).")] = False,
    lang: Annotated[Lang, typer.Option(help="Language of the fleet report and its bundle reports.")] = Lang.en,
) -> None:
    """Analyze every bundle of a folder of tickets into a catalog; fleet findings, report and exports.

    Exit codes: 0 every bundle analyzed; 1 a bundle failed (the summary names it and why); 2 usage error,
    a folder that cannot be read or an output that cannot be written; 130 interrupted (rerun to resume).
    """
    from analyzer.batch.fleet_report import check_fleet_report, write_fleet_report
    from analyzer.batch.runner import BatchError, BatchOptions, check_folder, check_scheduler, run_batch, summary_lines
    from analyzer.output_file import OutputError, check_output

    try:
        check_folder(folder)
        if scheduler is not None:
            check_scheduler(scheduler)
        for out in (db, *_export_paths(db, export)):
            check_output(out)
        if report is not None:
            check_fleet_report(report)
    except (BatchError, OutputError) as exc:
        raise _fail(str(exc)) from exc
    options = BatchOptions(workers=workers, scheduler=scheduler, timeout_s=timeout, memory_mb=memory_mb,
                           html=False, retry_failed=retry_failed)
    try:
        summary = run_batch(folder, db, options)
    except (BatchError, OutputError) as exc:
        raise _fail(str(exc)) from exc
    except KeyboardInterrupt:
        typer.echo(f"\n{PROG}: interrupted; every finished bundle is in the catalog, rerun to resume", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for line in summary_lines(summary, db):
        typer.echo(line, err=True)
    try:
        if report is not None:
            typer.echo(f"fleet report written to {write_fleet_report(db, report, lang.value)}", err=True)
        if export is not None:
            from analyzer.batch.catalog import Catalog

            catalog = Catalog(db)
            try:
                for out in catalog.export(export.value):
                    typer.echo(f"exported {out}", err=True)
            finally:
                catalog.close()
    except (OutputError, OSError) as exc:
        raise _fail(str(exc)) from exc
    raise typer.Exit(EXIT_FINDINGS if summary.failures else EXIT_OK)


def _export_paths(db: Path, export: ExportFormat | None) -> list[Path]:
    from analyzer.batch.catalog import export_path

    return [] if export is None else export_path(db, export.value)


@app.command("rules")
def rules_cmd(
    lang: Annotated[Lang, typer.Option(help="Language of the titles.")] = Lang.en,
    sources: Annotated[bool, typer.Option("--sources", help="List the sources instead: parser, paths, what "
                                          "each proves, how to collect it, which detectors need it.")] = False,
) -> None:
    """List the detector catalog: id, severity, seed cause, sources needed, title."""
    from analyzer.detectors.catalog import render_rules, sources_table

    if sources:
        for s in sources_table():
            typer.echo(f"{s['source']:<26} {s['os']:<8} parser {s['parser']:<22} proves {s['proves']}\n"
                       f"{'':<26} paths: {s['patterns']}\n{'':<26} linux: {s['linux']}\n"
                       f"{'':<26} windows: {s['windows']}\n{'':<26} needed by: {s['needed_by']}")
        raise typer.Exit(EXIT_OK)
    typer.echo(render_rules(lang.value), nl=False)


@app.command("explain")
def explain_cmd(
    finding_id: Annotated[str, typer.Argument(metavar="FINDING_ID", help="A finding id, e.g. DHCP_FAILURE.")],
    lang: Annotated[Lang, typer.Option(help="Language of the text.")] = Lang.en,
) -> None:
    """What a finding means, the evidence it uses, the error codes it explains, and the remediation."""
    from analyzer.detectors.catalog import explain, find

    detector = find(finding_id)
    if detector is None:
        raise _fail(f"unknown finding id {finding_id!r}; `{PROG} rules` lists them")
    typer.echo(explain(detector, lang.value), nl=False)


@app.command("eval")
def eval_cmd(corpus: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of samples, each with an "
                                                     "expected.json (or one sample folder).")]) -> None:
    """Per-finding precision and recall, root-cause and verdict accuracy, false alarms, over a corpus of samples."""
    from analyzer.evaluate import evaluate, render, sample_dirs

    if not corpus.is_dir() or not sample_dirs(corpus):
        raise _fail(f"{corpus}: no sample folder with an expected.json")
    typer.echo(render(evaluate(corpus)), nl=False)


def run() -> None:
    try:
        app(prog_name=PROG)
    except KeyboardInterrupt:  # Ctrl-C while the commands are being set up, before any of them runs
        typer.echo(f"\n{PROG}: interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None


if __name__ == "__main__":
    run()
