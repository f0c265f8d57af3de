"""`evalkit calibrate`: how well each model-graded grader agrees with human labels,
per judge version over time."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from evalkit.analysis.calibration import Kappa, Rate
from evalkit.analysis.calibration_history import MetricCalibration, PairSet, Version, by_version
from evalkit.cli.console import console, db_path
from evalkit.errors import UsageError
from evalkit.store import queries
from evalkit.store.calibration_rows import Scope, labelled_pairs, run_judging
from evalkit.store.db import Store


def command(
    grader: Annotated[
        str | None, typer.Option(help="Only this metric (or grader name), e.g. llm-rubric.")
    ] = None,
    run: Annotated[
        str | None, typer.Option(help="Only this run (id, prefix, `latest`, `latest~N`).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only runs started on or after this date (YYYY-MM-DD).")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="Only runs of this plan.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Judge vs human labels per model-graded grader: agreement, Cohen's kappa, confusion."""
    with Store.open(db_path(db), read_only=True) as store:
        run_id = queries.resolve_run(store.con, run, plan) if run is not None else None
        scope = Scope(run_id=run_id, since=_date(since), plan=plan, grader=grader)
        metrics = by_version(labelled_pairs(store.con, scope), run_judging(store.con, scope))
    if as_json:
        console.out(json.dumps({"metrics": [m.to_json() for m in metrics]}, indent=2))
        return 0 if metrics else 5
    if not metrics:
        which = f"'{grader}'" if grader else "any model-graded grader"
        console.print(
            f"no human labels on {which} in these runs yet; label some with "
            f"`evalkit review --grader {grader or 'NAME'}`, then run this again",
            markup=False,
        )
        return 5
    for metric in metrics:
        _print_metric(metric)
    return 0


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date", hint="write it as YYYY-MM-DD, e.g. 2026-11-01"
        ) from None


def _print_metric(metric: MetricCalibration) -> None:
    overall = metric.overall
    console.print(Text(f"{metric.metric}", style="bold"), end=" ")
    console.print(Text(_provenance(overall)), style="dim")
    table = _table(
        "version", "judge", "runs", "first – last", "pairs", "agreement (95% CI)", "kappa [95% CI]"
    )
    matrix = _table(
        "version",
        "pass·pass",
        "missed (judge pass, human fail)",
        "false alarm (judge fail, human pass)",
        "fail·fail",
        "fail recall",
        "fail precision",
        left=1,
    )
    rows: list[tuple[str, PairSet, Version | None]] = [
        (f"v{v.number}", v.pairs, v) for v in metric.versions
    ]
    if len(metric.versions) > 1:
        rows.append(("all", overall, None))
    for name, pairs, version in rows:
        numbers = _numbers(pairs)
        style = "bold" if version is None else ""
        when = f"{version.first_at:%Y-%m-%d} – {version.last_at:%Y-%m-%d}" if version else ""
        table.add_row(
            name,
            Text(", ".join(version.judge_models) if version else ""),
            str(len(version.runs)) if version else "",
            when,
            *numbers[:3],
            style=style,
        )
        matrix.add_row(name, *numbers[3:], style=style)
    console.print(table)
    console.print(matrix)
    for version in metric.versions:
        if version.changes:
            console.print(Text(f"  v{version.number}: {'; '.join(version.changes)}", style="dim"))
    for version in metric.versions:
        if reason := version.pairs.result.kappa.reason:
            console.print(Text(f"  v{version.number} kappa: {reason}", style="dim"))
    if metric.unlabelled_versions:
        console.print(
            Text(f"  {metric.unlabelled_versions} other judge version(s) have no labels yet")
        )
    console.print()


def _table(*names: str, left: int = 2) -> Table:
    table = Table(header_style="bold")
    for i, name in enumerate(names):
        table.add_column(name, justify="left" if i < left else "right", no_wrap=i < left)
    return table


def _provenance(pairs: PairSet) -> str:
    return (
        f"· {pairs.result.confusion.n} pairs ({pairs.from_grade} labelled on the grade, "
        f"{pairs.from_trial} from the trial's label) · {pairs.not_comparable} not comparable "
        f"(judge error/skipped) · reviewers {', '.join(pairs.reviewers) or '-'}"
    )


def _numbers(pairs: PairSet) -> list[Any]:
    result = pairs.result
    table = result.confusion
    return [
        str(table.n),
        _rate(result.agreement),
        _kappa(result.kappa),
        str(table.both_pass),
        Text(str(table.missed), style="red" if table.missed else ""),
        Text(str(table.false_alarm), style="yellow" if table.false_alarm else ""),
        str(table.both_fail),
        _rate(result.fail_recall),
        _rate(result.fail_precision),
    ]


def _rate(rate: Rate) -> str:
    if rate.value is None:
        return "-"
    return f"{rate.value:.0%} ({rate.low:.0%}–{rate.high:.0%})"


def _kappa(kappa: Kappa) -> str:
    if kappa.value is None:
        return "undefined"
    if kappa.low is None or kappa.high is None:
        return f"{kappa.value:.2f}"
    return f"{kappa.value:.2f} [{kappa.low:.2f}, {kappa.high:.2f}]"
