"""The `evalkit` command: a typer app, one module per command.

Every command parses its arguments, calls the core, and prints. Expected failures
(`EvalkitError`) are printed without a traceback and exit with their own code.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any

import typer
import typer.main
from rich.markup import escape
from typer.exceptions import TyperException

from evalkit.cli import (
    baseline,
    cache,
    calibrate,
    compare,
    export,
    import_promptfoo,
    ingest,
    init,
    merge,
    promote,
    report,
    resume,
    review,
    run,
    runs,
    security,
    show,
    stats,
    trend,
    validate,
)
from evalkit.cli.console import err_console
from evalkit.cli.helptext import humanize
from evalkit.errors import EvalkitError
from evalkit.store.db import read_error
from evalkit.workspace import secrets
from evalkit.workspace.secrets import redact_text

app = typer.Typer(
    name="evalkit",
    help="Measure whether language models do your work well.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("init")(init.command)
app.command("run")(run.command)
app.command("resume")(resume.command)
app.command("review")(review.command)
app.command("validate")(validate.command)
app.command("runs")(runs.command)
app.command("show")(show.command)
app.command("export")(export.command)
app.command("report")(report.command)
app.command("trend")(trend.command)
app.command("compare")(compare.command)
app.command("calibrate")(calibrate.command)
app.command("import")(ingest.command)
# `evalkit import promptfoo FILE`: a sub-form of import (see `invoke`)
app.command("import-promptfoo", hidden=True)(import_promptfoo.command)
app.command("promote")(promote.command)
app.command("merge")(merge.command)
app.add_typer(baseline.app, name="baseline")
app.add_typer(stats.app, name="stats")
app.add_typer(security.app, name="security")
app.add_typer(cache.app, name="cache")


def _version(value: bool) -> None:
    if value:
        from evalkit import __version__

        print(f"evalkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure whether language models do your work well."""


@functools.cache
def _command() -> Any:
    """The click command tree, built once, with readable metavars and examples."""
    command = typer.main.get_command(app)
    humanize(command)
    return command


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with evalkit's pytest-style codes."""
    code = invoke(argv)
    if code == 2 and any(
        not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        # Interrupted with a target's function still running in a thread that cannot be
        # stopped: Python would wait for it at exit. Everything is committed by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def invoke(argv: list[str] | None = None) -> int:
    """Run the app and return its exit code instead of exiting (tests use this too)."""
    args = list(sys.argv[1:] if argv is None else argv)
    secrets.forget_all()
    if args[:1] == ["run"]:
        args = run.with_failed_default(args)
    if args[:2] == ["import", "promptfoo"]:  # `import FILE` stays the production-log import
        args = ["import-promptfoo", *args[2:]]
    try:
        result = _command().main(args=args, standalone_mode=False, prog_name="evalkit")
    except EvalkitError as exc:
        message = redact_text(str(exc))  # an error may quote a URL, a header, a body
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 2
    except TyperException as exc:  # bad flags: a usage error, exit 4 (DESIGN rule 2)
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            err_console.print(f"error: {exc.message}")
        return 4
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 2
    except OSError as exc:  # a file a command reads or writes: which, and why
        err_console.print(f"[bold red]error:[/] {escape(redact_text(_os_problem(exc)))}")
        return 3
    except Exception as exc:
        damaged = read_error(exc)  # a damaged database file, met by any query of any command
        if damaged is not None:
            err_console.print(f"[bold red]error:[/] {escape(redact_text(str(damaged)))}")
            return damaged.exit_code
        _internal_error(exc)
        return 3
    return result if isinstance(result, int) else 0


def _os_problem(exc: OSError) -> str:
    """`/x/report.html: Permission denied`: the file and what the OS said of it."""
    if exc.filename is None:
        return str(exc)
    path = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{path}: {exc.strerror or type(exc).__name__}"


def _internal_error(exc: Exception) -> None:
    """A bug in evalkit: its traceback (secrets redacted) and exit 3, never the bare
    traceback and exit 1 that CI would read as "the evals failed"."""
    import traceback

    trace = "".join(traceback.format_exception(exc))
    sys.stderr.write(redact_text(trace))
    err_console.print(
        f"[bold red]internal error:[/] {escape(redact_text(f'{type(exc).__name__}: {exc}'))}"
        "\n  this is a bug in evalkit: please report it with the traceback above; results "
        "already recorded are safe",
        highlight=False,
    )
