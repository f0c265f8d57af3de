"""`evalkit merge A.duckdb B.duckdb ...`: join the shard runs of one plan into one run."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from evalkit.analysis import summary
from evalkit.cli.console import console, db_path
from evalkit.cli.summary import summary_table
from evalkit.store.db import Store
from evalkit.store.merge import merge_shards


def command(
    shards: Annotated[
        list[Path], typer.Argument(help="Shard databases (from `evalkit run --shard K/N --db`).")
    ],
    into: Annotated[
        Path | None,
        typer.Option(help="Database to write the merged run to (default: $EVALKIT_DB)."),
    ] = None,
) -> int:
    """Merge shard runs (same plan, suites, targets and commit) into one run."""
    database = db_path(into)
    command_line = shlex.join(["evalkit", *sys.argv[1:]])
    with Store.open(database) as store:
        merged = merge_shards(store, shards, command_line)
        for run in merged:
            parts = ", ".join(f"{s.shard} ({s.run_id})" for s in run.shards)
            verb = "merged" if run.written else "already merged"
            console.print(
                f"{verb}: plan [bold]{run.plan}[/] run {run.run_id}, {run.trials} trials "
                f"from shards {parts} into {database}",
                highlight=False,
            )
            rows = summary.summary_rows(store.con, run.run_id)
            if rows:
                console.print(summary_table(rows, f"{run.plan} · run {run.run_id}"))
    return 0
