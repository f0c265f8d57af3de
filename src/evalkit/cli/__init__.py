"""The `evalkit` command: a typer app, one module per command, imported when used.

Every command parses its arguments, calls the core, and prints. Expected failures
(`EvalkitError`) are printed without a traceback and exit with their own code.

A command's module (and what it imports: the engine, the graders, the reports) is
loaded only when that command runs: `evalkit compare` does not pay for `evalkit run`'s
imports, which took most of a second.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import signal
import sys
import threading
from typing import Any

import typer
import typer.main
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

from evalkit.cli.console import err_console
from evalkit.cli.helptext import humanize
from evalkit.errors import EvalkitError
from evalkit.store.db import read_error
from evalkit.workspace import secrets
from evalkit.workspace.secrets import redact_text

# command -> (module in evalkit.cli, whether it is a group of its own (`app`), hidden);
# in the order `evalkit --help` lists them
COMMANDS: dict[str, tuple[str, bool, bool]] = {
    "init": ("init", False, False),
    "run": ("run", False, False),
    "resume": ("resume", False, False),
    "review": ("review", False, False),
    "validate": ("validate", False, False),
    "runs": ("runs", False, False),
    "show": ("show", False, False),
    "export": ("export", False, False),
    "report": ("report", False, False),
    "trend": ("trend", False, False),
    "compare": ("compare", False, False),
    "calibrate": ("calibrate", False, False),
    "import": ("ingest", False, False),
    # `evalkit import promptfoo FILE`: a sub-form of import (see `invoke`)
    "import-promptfoo": ("import_promptfoo", False, True),
    "promote": ("promote", False, False),
    "merge": ("merge", False, False),
    "baseline": ("baseline", True, False),
    "stats": ("stats", True, False),
    "security": ("security", True, False),
    "cache": ("cache", True, False),
}
_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}


class _LazyGroup(TyperGroup):
    """The root command: lists every command by name, builds one when it is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = _build(cmd_name)
        return self.commands[cmd_name]


def _build(name: str) -> Any:
    """The click command `name`, from its module, with readable metavars and examples."""
    module_name, is_group, hidden = COMMANDS[name]
    module = importlib.import_module(f"evalkit.cli.{module_name}")
    # built inside a one-command root, as typer builds a root's commands: a group of one
    # command (`stats power`) stays a group
    holder = typer.Typer(**_SETTINGS)
    if is_group:
        holder.add_typer(module.app, name=name)
    else:
        holder.command(name, hidden=hidden)(module.command)
    holder.callback()(_no_options)
    root: Any = typer.main.get_command(holder)
    command = root.commands[name]
    humanize(command, name)
    return command


def _no_options() -> None:
    """A root callback, so that typer builds a group (of one command)."""


app = typer.Typer(
    name="evalkit",
    help="Measure whether language models do your work well.",
    no_args_is_help=True,
    cls=_LazyGroup,
    **_SETTINGS,
)


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
    """The root click command, built once; its commands are built when first used."""
    command = typer.main.get_command(app)
    humanize(command)
    return command


def command_tree() -> Any:
    """The root click command with every command built (help checks walk it)."""
    root = _command()
    for name in COMMANDS:
        root.get_command(None, name)
    return root


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with evalkit's pytest-style codes."""
    # CI cancels a job with SIGTERM, whose default ends the process on the spot: a report
    # or export half-written stayed beside its --out (`.NAME.partial`, and an export's
    # parts). Every command ends as at a Ctrl-C instead, cleaning up (exit 2); `run`
    # drains its trials in flight on either (engine/session.py).
    signal.signal(signal.SIGTERM, _terminated)
    code = invoke(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    running = any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread())
    if running and code != 2:
        sys.exit(code)  # Python waits for them, as it always does
    # Everything is recorded and printed by now. Interrupted with a target's function still
    # running in a thread that cannot be stopped, Python would wait for it: exit now.
    # Otherwise the exit handlers run (logs, temporary files, exporters) and the process
    # ends without tearing down every imported module one by one, which took a quick
    # command like `compare` 50-100 ms.
    if not running:
        atexit._run_exitfuncs()
    os._exit(code)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def invoke(argv: list[str] | None = None) -> int:
    """Run the app and return its exit code instead of exiting (tests use this too)."""
    args = list(sys.argv[1:] if argv is None else argv)
    secrets.forget_all()
    if args[:1] == ["run"]:
        from evalkit.cli.run import with_failed_default

        args = with_failed_default(args)
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
        return 4 if isinstance(exc, _WRONG_KIND) else 3
    except Exception as exc:
        damaged = read_error(exc)  # a damaged database file, met by any query of any command
        if damaged is not None:
            err_console.print(f"[bold red]error:[/] {escape(redact_text(str(damaged)))}")
            return damaged.exit_code
        _internal_error(exc)
        return 3
    if result == _TYPER_INTERRUPTED:  # no evalkit command exits 130 of its own
        err_console.print("interrupted")
        return 2
    return result if isinstance(result, int) else 0


# Typer turns a Ctrl-C (or SIGTERM, see main) inside a command into this exit code,
# returned, not raised, outside standalone mode; evalkit's code for it is 2.
_TYPER_INTERRUPTED = 130


# A path the user gave names a folder where a file goes, or a file where a folder goes:
# the command line was wrong (exit 4), as `report --out DIR` says, not the machine (3).
_WRONG_KIND = (IsADirectoryError, NotADirectoryError, FileExistsError)
_WRONG_KIND_SAID = {
    IsADirectoryError: "is a folder; name a file in it",
    NotADirectoryError: "part of this path is a file, not a folder",
    FileExistsError: "is a file, where the path needs a folder",
}


def _os_problem(exc: OSError) -> str:
    """`/x/report.html: Permission denied`: the file and what the OS said of it."""
    if exc.filename is None:
        return str(exc)
    path = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    said = _WRONG_KIND_SAID.get(type(exc)) or exc.strerror or type(exc).__name__
    return f"{path}: {said}"


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
