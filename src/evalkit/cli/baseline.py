"""`evalkit baseline set|list|delete`: name the runs CI compares with."""

from __future__ import annotations

import getpass
import unicodedata
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evalkit.cli.console import console, db_path
from evalkit.errors import UsageError
from evalkit.store import baselines
from evalkit.store.db import Store
from evalkit.store.queries import is_latest_ref, resolve_run

app = typer.Typer(
    help="Name the runs that `evalkit compare` and the gate compare with.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DbOption = Annotated[Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")]


@app.command("set")
def set_command(
    run: Annotated[
        str | None, typer.Argument(help="The run to pin: id, prefix, `latest` or `latest~N`.")
    ] = None,
    name: Annotated[str, typer.Option(help="The baseline's name, e.g. main.")] = "main",
    label: Annotated[
        str | None,
        typer.Option(help="Follow a label instead of pinning a run: key=value, e.g. branch=main."),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(help="The plan a label baseline is for (default: every plan)."),
    ] = None,
    db: DbOption = None,
) -> int:
    """Pin RUN as baseline NAME of its plan, or make NAME follow a label's newest run."""
    _check_name(name)
    if (run is None) == (label is None):
        raise UsageError(
            "give either a RUN to pin or --label key=value to follow, not both or neither",
            hint="evalkit baseline set latest --name main   or   "
            "evalkit baseline set --label branch=main --name main",
        )
    with Store.open(db_path(db)) as store:
        if run is not None:
            run_id = resolve_run(store.con, run, plan)
            made = baselines.set_baseline(
                store.con,
                name,
                plan=baselines.run_plan(store.con, run_id),
                run_id=run_id,
                set_by=_who(),
            )
        else:
            assert label is not None
            key, sep, value = label.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--label '{label}' is not key=value (e.g. branch=main)")
            made = baselines.set_baseline(
                store.con, name, plan=plan, label=(key.strip(), value.strip()), set_by=_who()
            )
    scope = f"plan '{made.plan}'" if made.plan else "every plan"
    console.print(f"baseline '{made.name}' of {scope}: {made.describes}")
    return 0


@app.command("list")
def list_command(db: DbOption = None) -> int:
    """Every baseline: its name, plan, and the run or label it stands for."""
    with Store.open(db_path(db), read_only=True) as store:
        found = baselines.list_baselines(store.con)
    if not found:
        console.print("no baselines set; `evalkit baseline set RUN --name main` sets one")
        return 0
    table = Table(header_style="bold")
    for column in ("name", "plan", "points at", "set at", "set by"):
        table.add_column(column)
    for b in found:
        table.add_row(
            b.name, b.plan or "(every plan)", b.describes, f"{b.set_at:%Y-%m-%d %H:%M}", b.set_by
        )
    console.print(table)
    return 0


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The baseline's name.")],
    plan: Annotated[str | None, typer.Option(help="Only this plan's (default: all).")] = None,
    db: DbOption = None,
) -> int:
    """Remove a baseline (the runs themselves stay)."""
    with Store.open(db_path(db)) as store:
        removed = baselines.delete_baseline(store.con, name, plan)
    if not removed:
        raise UsageError(f"no baseline named '{name}'", hint="`evalkit baseline list` shows them")
    console.print(f"removed baseline '{name}' ({removed})")
    return 0


MAX_NAME = 100


def _check_name(name: str) -> None:
    """Refuse a name `baseline list` can't show or `compare` would read as something else."""
    shown = repr(name) if len(name) <= 60 else f"{name[:60]!r}... ({len(name):,} characters)"
    problem = None
    if not name.strip() or name != name.strip():
        problem = "it is blank or has leading or trailing spaces"
    elif len(name) > MAX_NAME:
        problem = f"it is longer than {MAX_NAME} characters"
    elif any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        problem = "it holds a control or invisible formatting character"
    elif is_latest_ref(name):
        problem = "`compare` would read it as a run reference"
    elif "=" in name:
        problem = "`compare` would read it as a key=value label"
    if problem is not None:
        raise UsageError(
            f"--name {shown} is not a baseline name: {problem}; give 1 to {MAX_NAME} "
            "visible characters without '=', other than `latest` or `latest~N`",
            hint="evalkit baseline set latest --name main",
        )


def _who() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary container uid
        return None
