"""`evalkit stats power`: how many cases a suite needs to see a drop of a given size."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from evalkit.analysis.power import PowerRow, power_row, run_power
from evalkit.analysis.verdict import compare_runs
from evalkit.cli.console import console, db_path
from evalkit.store import ci_rows
from evalkit.store.db import Store
from evalkit.store.queries import resolve_run

app = typer.Typer(help="Statistics over recorded runs.", no_args_is_help=True)


@app.command("power")
def power_command(
    run: Annotated[str, typer.Argument(help="The run whose variance to use.")] = "latest",
    drop: Annotated[
        float | None,
        typer.Option(min=0.0001, max=1.0, help="The drop to detect, e.g. 0.05 (5 points)."),
    ] = None,
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="Two-sided alpha.")] = 0.05,
    power: Annotated[float, typer.Option(min=0.5, max=0.999, help="Wanted power.")] = 0.8,
    metric: Annotated[str, typer.Option(help="`pass` (pass rate) or `score`.")] = "pass",
    against: Annotated[
        str | None,
        typer.Option(help="A second run: use the observed paired differences with it."),
    ] = None,
    correlation: Annotated[
        float,
        typer.Option(
            min=-0.99, max=0.99, help="Without --against: assumed correlation of two runs."
        ),
    ] = 0.0,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Cases needed to detect a drop, and the smallest drop each suite x target detects."""
    if metric not in ("pass", "score"):
        raise typer.BadParameter("--metric must be `pass` or `score`")
    with Store.open(db_path(db), read_only=True) as store:
        run_id = resolve_run(store.con, run)
        if against is None:
            rows = run_power(
                ci_rows.case_means(store.con, run_id, metric), drop, correlation, alpha, power
            )
            how = f"from run {run_id}'s variance, two runs assumed correlated {correlation:g}" + (
                " (independent: cautious)" if correlation == 0 else ""
            )
        else:
            base = resolve_run(store.con, against)
            rows = _observed(store.con, base, run_id, metric, drop, alpha, power)
            how = f"from the paired differences between runs {base} and {run_id}"
    console.print(f"power of a paired comparison of `{metric}`, {how}")
    console.print(f"two-sided alpha {alpha:g}, power {power:.0%}")
    _print(rows, drop)
    return 0 if rows else 5


def _observed(
    con: duckdb.DuckDBPyConnection,
    base: str,
    cand: str,
    metric: str,
    drop: float | None,
    alpha: float,
    power: float,
) -> list[PowerRow]:
    comparison = compare_runs(con, base, cand)
    rows = []
    for group in comparison.groups:
        found = group.metric(metric)
        if found is None:
            continue
        paired = found.paired
        # the (clustered) standard error times sqrt(n): an sd that carries the clustering
        sd = paired.stderr * math.sqrt(paired.n)
        rows.append(
            power_row(
                (group.suite, group.target_id, group.prompt_id), paired.n, sd, drop, alpha, power
            )
        )
    return rows


def _print(rows: list[PowerRow], drop: float | None) -> None:
    table = Table(header_style="bold")
    for name in ("suite", "target", "cases", "sd of a difference", "smallest detectable drop"):
        table.add_column(name, justify="left" if name in ("suite", "target") else "right")
    if drop is not None:
        table.add_column(f"cases to detect {drop:g}", justify="right")
    for row in rows:
        target = row.target_id + (f"[{row.prompt_id}]" if row.prompt_id else "")
        cells = [
            row.suite,
            target,
            str(row.cases),
            _num(row.difference_sd),
            _pct(row.detectable_drop),
        ]
        if drop is not None:
            cells.append("-" if row.cases_needed is None else str(row.cases_needed))
        table.add_row(*cells)
    console.print(table)


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) or math.isinf(value) else f"{value:.1%}"


def detectable_drop_line(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """One line for a run's summary: the smallest pass-rate drop each group can detect."""
    rows = run_power(ci_rows.case_means(con, run_id))
    if not rows:
        return None
    parts = []
    for row in rows:
        target = row.target_id + (f"[{row.prompt_id}]" if row.prompt_id else "")
        drop = row.detectable_drop
        # a pass rate can't fall by more than 100 points: say that too few cases were run
        shown = "none (too few cases)" if drop > 1 else _pct(drop)
        parts.append(f"{row.suite} x {target} {shown}")
    return (
        "smallest detectable drop in pass rate (alpha 0.05, power 80%, vs an independent "
        "run of these cases): " + " · ".join(parts)
    )
