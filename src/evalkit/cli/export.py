"""`evalkit export RUN`: a run's trials as CSV, JSONL or Parquet."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli.console import console, db_path
from evalkit.store import queries
from evalkit.store.db import Store


class Format(StrEnum):
    """Export file formats."""

    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


def command(
    run: Annotated[str, typer.Argument(help="A run id, id prefix, `latest` or `latest~N`.")] = (
        "latest"
    ),
    format_: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = Format.csv,
    out: Annotated[Path | None, typer.Option(help="Output file (default: <run>.<format>).")] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Write every trial of a run, with its grades, to a file."""
    with Store.open(db_path(db), read_only=True) as store:
        run_id = queries.resolve_run(store.con, run)
        target = out or Path(f"{run_id}.{format_.value}")
        written = queries.export_run(store.con, run_id, format_.value, target)
    console.print(f"wrote {written}")
    return 0
