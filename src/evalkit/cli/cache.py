"""`evalkit cache stats | clear`: what the response cache holds, and emptying it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evalkit.cli.console import console, db_path
from evalkit.errors import UsageError
from evalkit.store.cache import cache_stats, clear_cache
from evalkit.store.db import Store

app = typer.Typer(
    help="The response cache: what it holds, and clearing it.",
    no_args_is_help=True,
)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DB_OPTION = typer.Option(metavar="FILE", help="Results database (default: $EVALKIT_DB).")


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `2w`, `45m`, `90s` -> a timedelta; a usage error otherwise."""
    found = _DURATION.match(text)
    if not found:
        raise UsageError(
            f"--older-than '{text}' is not a duration",
            hint="a number and a unit: 90s, 45m, 12h, 30d or 2w",
        )
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]  # a float from here on
    return f"{count} B"


@app.command("stats")
def stats_command(db: Annotated[Path | None, DB_OPTION] = None) -> int:
    """How many responses are cached, their size and age, per provider."""
    with Store.open(db_path(db), read_only=True) as store:
        stats = cache_stats(store.con)
    if not stats.entries:
        console.print("the response cache is empty")
        return 0
    table = Table(title="response cache")
    for name in ("provider", "entries", "size"):
        table.add_column(name, justify="left" if name == "provider" else "right")
    for provider, entries, size in stats.providers:
        table.add_row(provider, str(entries), _size(size))
    console.print(table)
    console.print(
        f"{stats.entries} entries · {_size(stats.bytes)} · oldest {stats.oldest:%Y-%m-%d %H:%M} "
        f"· newest {stats.newest:%Y-%m-%d %H:%M}",
        highlight=False,
    )
    return 0


@app.command("clear")
def clear_command(
    older_than: Annotated[
        str | None,
        typer.Option(metavar="AGE", help="Only entries stored longer ago than AGE (30d, 12h)."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Only responses recorded for this target id."),
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
) -> int:
    """Delete cached responses: all of them, or only old ones or one target's."""
    age = parse_duration(older_than) if older_than is not None else None
    with Store.open(db_path(db)) as store:
        deleted = clear_cache(store.con, older_than=age, target=target)
    console.print(f"deleted {deleted} cached response{'s' if deleted != 1 else ''}")
    return 0
