"""The ``bundle-analyze`` command line (click). ``bundle-analyze PATH`` runs the default command.

click rather than typer: typer 0.2x checks every option through a pydantic ``TypeAdapter``, which imported
pydantic and built ten adapters before any command ran (0.12 s of CPU, a fifth of a small bundle's start).
"""

from __future__ import annotations

import os
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from analyzer.version import __version__

if TYPE_CHECKING:
    from parsers.base import Message

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


class _DefaultGroup(click.Group):
    """Runs ``analyze`` when the first argument is not a subcommand: ``bundle-analyze logs.tar.gz``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, "PATH [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix=" " * len("Usage: "))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they are declared, analyze first

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # a command interrupted: one line, no traceback, exit 130
            click.echo(f"\n{PROG}: {_interrupted()}", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


class _Argument(click.Argument):
    """A positional argument with a help text, listed under "Arguments" in the command's help."""

    def __init__(self, *args: Any, help: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = help


class _Command(click.Command):
    """A command whose help lists its arguments before its options."""

    def format_options(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(p.make_metavar(ctx), p.help + ("  [required]" if p.required else ""))
                for p in self.params if isinstance(p, _Argument)]
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        click.echo(f"bundle-analyzer {__version__}")
        ctx.exit(EXIT_OK)


@click.group(
    cls=_DefaultGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    help=(
        "Why did an Azure VM backup fail with a snapshot timeout? Point it at the customer's log bundle.\n\n"
        f"{PROG} PATH analyzes one bundle (a folder or a tar/tgz/zip/7z/gz archive) and prints the verdict, "
        f"the findings with their evidence, and what evidence is missing; `{PROG} PATH -h` lists its options "
        "(report format, output file, --fail-on, --lang, --since/--until, --timeout).\n\n"
        f"Examples: {PROG} logs.tar.gz;  {PROG} logs.zip -f html -o report.html;  "
        f"{PROG} explain DHCP_FAILURE\n\n" + EXIT_CODES
    ),
)
@click.option("--version", is_flag=True, callback=_version, is_eager=True, expose_value=False,
              help="Print the version and exit.")
def app() -> None:
    """The subcommands; PATH alone runs analyze."""


def _command(name: str, **kwargs: Any) -> Any:
    return app.command(name, cls=_Command, **kwargs)


def _path(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
    return None if value is None else Path(value)


def _output(ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
    return None if value is None else _output_path(value, _lang_of(ctx))


def _lang_option(help: str) -> Any:
    # eager: known before the other options are checked, so that their errors are worded in it too
    return click.option("--lang", type=click.Choice(Lang), default=Lang.en, is_eager=True, help=help)


def _lang_of(ctx: click.Context) -> str:
    """The command's ``--lang`` (English for a command without it)."""
    lang = ctx.params.get("lang")
    return lang.value if isinstance(lang, Lang) else Lang.en.value


def _say(message: Message, lang: str) -> str:
    """A message of the tool for stderr in ``lang``, escaped for the terminal; its parameters (members of the
    bundle, paths, a library's error) redacted like every other output, the tool's own sentence kept whole."""
    from analyzer.locale import word
    from analyzer.redact import Redactor
    from analyzer.report.display import display

    return display(word(_redacted(message, Redactor()), lang), limit=2000)


def _redacted(message: Message, redactor: Any) -> Message:
    from parsers.base import Message

    return Message(message.key, {k: _redacted(v, redactor) if isinstance(v, Message) else redactor.value(v)
                                 for k, v in message.params.items()})


def _fail(message: Message, lang: str = Lang.en.value) -> click.exceptions.Exit:
    """Print ``message`` as the command's error (``cli.error``) in ``lang``; the exit status is 2."""
    from parsers.base import say

    click.echo(f"{PROG}: {_say(say('cli.error', message=message), lang)}", err=True)
    return click.exceptions.Exit(EXIT_USAGE)


def _tell(message: Message, lang: str = Lang.en.value) -> None:
    """A line of the tool on stderr (what was written where), in ``lang``."""
    click.echo(_say(message, lang), err=True)


def _destination(output: Path | None, lang: str = Lang.en.value) -> Path | None:
    """The file to write (checked now, before any work), or None for standard output (``-o -``)."""
    from analyzer.output_file import OutputError, check_output, is_stdout

    if output is None or is_stdout(output):
        return None
    try:
        check_output(output)
    except OutputError as exc:
        raise _fail(exc.message, lang) from exc
    return output


def _output_path(raw: str, lang: str) -> Path:
    """An output option as typed: a trailing slash names a folder, which ``Path`` would silently drop."""
    from analyzer.locale import word
    from parsers.base import say

    if raw.endswith(("/", os.sep)):
        raise click.BadParameter(word(say("cli.output_slash", path=raw), lang))
    return Path(raw)


def _no_such_input(path: Path, lang: str = Lang.en.value) -> click.exceptions.Exit:
    """A missing input; a mistyped subcommand (``bundle-analyze rule``) gets the command's name."""
    import difflib

    from parsers.base import say

    if path.parent == Path(".") and not path.suffix:
        close = difflib.get_close_matches(path.name, list(app.commands), n=1)
        if close:
            return _fail(say("cli.no_such_input_command", path=str(path), command=f"{PROG} {close[0]}"), lang)
    return _fail(say("intake.no_such_input", path=str(path)), lang)


@_command(DEFAULT_COMMAND, epilog=EXIT_CODES)
@click.argument("path", cls=_Argument, metavar="PATH", callback=_path,
                help="Bundle: folder, tar/tgz/zip/7z/gz, nested archives.")
@click.option("--format", "-f", "fmt", type=click.Choice(Format), default=Format.text, help="Report format.")
@click.option("--output", "-o", metavar="FILE", callback=_output,
              help=f"Write the report to this file ({STDOUT_HELP}).")
@click.option("--fail-on", type=click.Choice(FailOn), default=FailOn.warning,
              help="Exit 1 when a finding is at or above this.")
@_lang_option("Language of the report.")
@click.option("--since", metavar="TIME", help="Only judge records from this time on (ISO-8601, UTC unless it names an "
              "offset), e.g. 2024-06-09T00:00Z.")
@click.option("--until", metavar="TIME", help="Only judge records up to this time (ISO-8601).")
@click.option("--quiet", "-q", is_flag=True, help="Only the verdict line.")
@click.option("--obfuscate/--no-obfuscate", default=False, help="Replace IPs, host names and ids with tokens.")
@click.option("--no-redact", is_flag=True, hidden=True, help="Internal use: keep secrets in the output.")
@click.option("--timeout", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Stop reading the bundle after this many seconds; what was read is analyzed and the report says "
              "what was not.")
def analyze_cmd(path: Path, fmt: Format, output: Path | None, fail_on: FailOn, lang: Lang, since: str | None,
                until: str | None, quiet: bool, obfuscate: bool, no_redact: bool, timeout: float | None) -> None:
    """Analyze one bundle and print or write the report."""
    from analyzer.api import analyze
    from analyzer.intake import IntakeError, Limits
    from analyzer.model import Options, OptionsError, RenderOptions, say, severity_rank

    destination = _destination(output, lang.value)
    try:
        options = Options(since=since, until=until, redact=not no_redact, obfuscate=obfuscate,
                          limits=Limits(max_seconds=timeout))
    except OptionsError as exc:
        raise _fail(exc.message, lang.value) from exc
    if not path.exists() and not path.is_symlink():
        raise _no_such_input(path, lang.value)
    if no_redact:
        click.echo(f"{PROG}: {_say(say('cli.no_redact'), lang.value)}", err=True)
    try:
        report = analyze(path, options)
    except IntakeError as exc:
        raise _fail(exc.message, lang.value) from exc
    window = report.extras.get("window") or {}
    if not window.get("matched", True):
        raise _fail(_window_error(window, report.timeline), lang.value)
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), destination)
    top = report.max_severity()
    if fail_on is not FailOn.never and top is not None and severity_rank(top) >= severity_rank(fail_on.value):
        raise click.exceptions.Exit(EXIT_FINDINGS)
    if report.verdict.status == "inconclusive":
        raise click.exceptions.Exit(EXIT_INCONCLUSIVE)
    raise click.exceptions.Exit(EXIT_OK)


def _window_error(window: dict[str, Any], timeline: dict[str, Any]) -> Message:
    from parsers.base import say

    shown = [say("cli.window_bound", option=f"--{k}", time=window[k]) for k in ("since", "until") if window.get(k)]
    within = say("cli.window_both", since=shown[0], until=shown[1]) if len(shown) == 2 else shown[0]
    if timeline.get("first"):
        return say("cli.window_unmatched", window=within, first=timeline["first"], last=timeline["last"])
    return say("cli.window_undated", window=within)


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
    from analyzer.errors import message_of
    from analyzer.output_file import OutputError, write_output
    from parsers.base import say

    try:
        write_output(output, text)
    except (OutputError, OSError) as exc:
        raise _fail(say("cli.report_unwritable", path=str(output), error=message_of(exc)), options.lang) from exc
    if options.format != Format.json.value or options.quiet:
        _tell(say("cli.report_written", path=str(output)), options.lang)


@_command("render")
@click.argument("report_json", cls=_Argument, metavar="REPORT_JSON", callback=_path,
                help="A JSON report (--format json, or the batch catalog's).")
@click.option("--format", "-f", "fmt", type=click.Choice(Format), default=Format.text, help="Report format.")
@click.option("--output", "-o", metavar="FILE", callback=_output,
              help=f"Write the report to this file ({STDOUT_HELP}).")
@_lang_option("Language of the report.")
@click.option("--quiet", "-q", is_flag=True, help="Only the verdict line.")
def render_cmd(report_json: Path, fmt: Format, output: Path | None, lang: Lang, quiet: bool) -> None:
    """Render a stored JSON report again, in any format and language, without the bundle."""
    from analyzer.errors import message_of
    from analyzer.model import RenderOptions, say
    from analyzer.report.stored import load_report

    destination = _destination(output, lang.value)
    try:
        report = load_report(report_json.read_bytes())
    except (OSError, ValueError) as exc:  # StoredReportError and JSON syntax errors are ValueErrors
        raise _fail(say("intake.at_path", path=str(report_json), problem=message_of(exc)), lang.value) from exc
    _write(report, RenderOptions(format=fmt.value, lang=lang.value, quiet=quiet), destination)
    raise click.exceptions.Exit(EXIT_OK)


class TimelineFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


@_command("timeline")
@click.argument("path", cls=_Argument, metavar="PATH", callback=_path, help="Bundle: folder or archive.")
@click.option("--output", "-o", metavar="FILE", required=True, callback=_output, help=f"File to write ({STDOUT_HELP}).")
@click.option("--format", "-f", "fmt", type=click.Choice(TimelineFormat), default=TimelineFormat.csv)
@click.option("--obfuscate/--no-obfuscate", default=False, help="Replace IPs, host names and ids with tokens.")
def timeline_cmd(path: Path, output: Path, fmt: TimelineFormat, obfuscate: bool) -> None:
    """Write every record of the bundle as one UTC-ordered timeline (redacted)."""
    from analyzer.errors import message_of
    from analyzer.export import export_timeline
    from analyzer.intake import IntakeError
    from analyzer.model import Options, say
    from analyzer.output_file import STDOUT, OutputError

    destination = _destination(output)
    if destination is None and fmt is TimelineFormat.parquet and sys.stdout.isatty():
        raise _fail(say("cli.parquet_terminal"))
    if not path.exists() and not path.is_symlink():
        raise _no_such_input(path)
    try:
        n = export_timeline(path, destination or Path(STDOUT), fmt.value, Options(obfuscate=obfuscate))
    except (IntakeError, OutputError) as exc:
        raise _fail(exc.message) from exc
    except OSError as exc:  # the disk filled up or the folder went away while writing
        raise _fail(say("cli.timeline_unwritable", path=str(destination), error=message_of(exc))) from exc
    where = say("cli.events_written", n=n, path=str(destination)) if destination else say("cli.events_stdout", n=n)
    _tell(where)


class ExportFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@_command("batch")
@click.argument("folder", cls=_Argument, metavar="DIR", callback=_path,
                help="Tickets as folders (<ticket>/<attachments>) or loose archives.")
@click.option("--db", metavar="FILE", required=True, callback=_output, help="SQLite catalog to create or resume.")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel bundles (default: cores).")
@click.option("--scheduler", help="Dask scheduler, tcp://host:port (needs the dask extra).")
@click.option("--report", metavar="FILE", callback=_output, help="Write the fleet report (HTML) here.")
@click.option("--export", type=click.Choice(ExportFormat), help="Also write the tables beside the db.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=600.0,
              help="Seconds per bundle before its worker is killed.")
@click.option("--memory-mb", type=click.IntRange(min=64), default=4096, help="Address-space limit per worker.")
@click.option("--retry-failed", is_flag=True,
              help="Analyze again the bundles whose stored analysis failed (after a timeout or a limit).")
@_lang_option("Language of the fleet report and its bundle reports.")
def batch_cmd(folder: Path, db: Path, workers: int | None, scheduler: str | None, report: Path | None,
              export: ExportFormat | None, timeout: float, memory_mb: int, retry_failed: bool, lang: Lang) -> None:
    """Analyze every bundle of a folder of tickets into a catalog; fleet findings, report and exports.

    Exit codes: 0 every bundle analyzed; 1 a bundle failed (the summary names it and why); 2 usage error,
    a folder that cannot be read or an output that cannot be written; 130 interrupted (rerun to resume).
    """
    from analyzer.batch.fleet_report import check_fleet_report, write_fleet_report
    from analyzer.batch.runner import BatchError, BatchOptions, check_folder, check_scheduler, run_batch, summary_lines
    from analyzer.errors import MessageError, message_of
    from analyzer.output_file import OutputError, check_output
    from parsers.base import say

    try:
        check_folder(folder)
        if scheduler is not None:
            check_scheduler(scheduler)
        for out in (db, *_export_paths(db, export)):
            check_output(out)
        if report is not None:
            check_fleet_report(report)
    except (BatchError, OutputError) as exc:
        raise _fail(exc.message, lang.value) from exc
    options = BatchOptions(workers=workers, scheduler=scheduler, timeout_s=timeout, memory_mb=memory_mb,
                           html=False, retry_failed=retry_failed, lang=lang.value)
    try:
        summary = run_batch(folder, db, options)
    except (BatchError, OutputError) as exc:
        raise _fail(exc.message, lang.value) from exc
    except KeyboardInterrupt:
        click.echo(f"\n{PROG}: {_say(say('cli.batch_interrupted'), lang.value)}", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    for line in summary_lines(summary, db, lang.value):
        click.echo(line, err=True)
    try:
        if report is not None:
            _tell(say("cli.fleet_report_written", path=str(write_fleet_report(db, report, lang.value))), lang.value)
        if export is not None:
            from analyzer.batch.catalog import Catalog

            catalog = Catalog(db)
            try:
                for out in catalog.export(export.value, lang.value):
                    _tell(say("cli.exported", path=str(out)), lang.value)
            finally:
                catalog.close()
    except (MessageError, OSError) as exc:
        raise _fail(message_of(exc), lang.value) from exc
    raise click.exceptions.Exit(EXIT_FINDINGS if summary.failures else EXIT_OK)


def _export_paths(db: Path, export: ExportFormat | None) -> list[Path]:
    from analyzer.batch.catalog import export_path

    return [] if export is None else export_path(db, export.value)


@_command("rules")
@_lang_option("Language of the titles.")
@click.option("--sources", is_flag=True, help="List the sources instead: parser, paths, what each proves, how to "
              "collect it, which detectors need it.")
def rules_cmd(lang: Lang, sources: bool) -> None:
    """List the detector catalog: id, severity, seed cause, sources needed, title."""
    from analyzer.detectors.catalog import render_rules, sources_table

    if sources:
        for s in sources_table():
            click.echo(f"{s['source']:<26} {s['os']:<8} parser {s['parser']:<22} proves {s['proves']}\n"
                       f"{'':<26} paths: {s['patterns']}\n{'':<26} linux: {s['linux']}\n"
                       f"{'':<26} windows: {s['windows']}\n{'':<26} needed by: {s['needed_by']}")
        raise click.exceptions.Exit(EXIT_OK)
    click.echo(render_rules(lang.value), nl=False)


@_command("explain")
@click.argument("finding_id", cls=_Argument, metavar="FINDING_ID", help="A finding id, e.g. DHCP_FAILURE.")
@_lang_option("Language of the text.")
def explain_cmd(finding_id: str, lang: Lang) -> None:
    """What a finding means, the evidence it uses, the error codes it explains, and the remediation."""
    from analyzer.detectors.catalog import explain, find

    detector = find(finding_id)
    if detector is None:
        from parsers.base import say

        raise _fail(say("cli.unknown_finding", id=repr(finding_id), command=f"{PROG} rules"), lang.value)
    click.echo(explain(detector, lang.value), nl=False)


@_command("eval")
@click.argument("corpus", cls=_Argument, metavar="DIR", callback=_path,
                help="Folder of samples, each with an expected.json (or one sample folder).")
def eval_cmd(corpus: Path) -> None:
    """Per-finding precision and recall, root-cause and verdict accuracy, false alarms, over a corpus of samples."""
    from analyzer.evaluate import evaluate, render, sample_dirs

    if not corpus.is_dir() or not sample_dirs(corpus):
        from parsers.base import say

        raise _fail(say("cli.no_samples", path=str(corpus)))
    click.echo(render(evaluate(corpus)), nl=False)


def _interrupted() -> str:
    """``interrupted`` in English: Ctrl-C may come before or while a command's ``--lang`` is read."""
    from analyzer.locale import word
    from parsers.base import say

    return word(say("cli.interrupted"))


def run() -> None:
    """The console script (started by ``analyzer/__main__.py``): click's main, except that Ctrl-C at any moment
    exits 130 with one line and no traceback or "Aborted!" (click turns an interrupt outside a command into
    Abort, exit 1)."""
    try:
        try:
            code = app.main(prog_name=PROG, standalone_mode=False)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # in click's own parsing
                click.echo(f"\n{PROG}: {_interrupted()}", err=True)
                raise SystemExit(EXIT_INTERRUPTED) from None
            click.echo("Aborted!", err=True)  # end of input at a prompt: as click says it
            raise SystemExit(1) from None
        except click.ClickException as exc:  # a usage error: the usage line and the error, exit 2
            exc.show()
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:  # Ctrl-C while the commands are being set up, before any of them runs
            click.echo(f"\n{PROG}: {_interrupted()}", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        raise SystemExit(code if isinstance(code, int) else EXIT_OK)
    finally:
        # from here the process only shuts down (worker threads joined, files closed): a Ctrl-C now would end it by
        # the signal (exit -2) after the outcome was printed; ignored, the exit status stays the command's
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    run()
