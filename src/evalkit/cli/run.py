"""`evalkit run`: run plans, record them, print the verdict; `--watch` to iterate."""

from __future__ import annotations

import shlex
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from evalkit.analysis import summary
from evalkit.analysis.outcome import plural
from evalkit.cli.ci_gate import CiOptions, after_run, check_gates
from evalkit.cli.console import console, db_path, err_console, money
from evalkit.cli.limits import MAX_COUNT
from evalkit.cli.progress import live_trace, observers
from evalkit.cli.stats import detectable_drop_line
from evalkit.cli.summary import judge_line, print_failures, summary_table
from evalkit.cli.watch import watch_loop
from evalkit.engine.plan import Selection
from evalkit.engine.preflight import python_target_files
from evalkit.engine.session import RunOutcome, RunSettings, execute
from evalkit.engine.shards import parse_shard
from evalkit.errors import UsageError
from evalkit.graders.discovery import load_all
from evalkit.store import queries
from evalkit.store.db import Store
from evalkit.store.judging import judge_summary
from evalkit.store.lock import open_when_free, wait_seconds
from evalkit.store.queries import resolve_run
from evalkit.store.reruns import FailedTrials, failed_trials
from evalkit.workspace import load_plans
from evalkit.workspace.models import MAX_CONCURRENCY, MAX_EPOCHS
from evalkit.workspace.root import find_root


def command(
    plan: Annotated[
        str | None,
        typer.Argument(
            help="A plan name, a plan file, or a workspace folder (default: all plans)."
        ),
    ] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", "-k", help="Only cases matching this glob (suite/case or case)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only cases with this tag.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=MAX_COUNT, help="At most N cases per suite.")
    ] = None,
    target: Annotated[list[str] | None, typer.Option(help="Only this target (glob).")] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, max=MAX_EPOCHS, help="Repeat each case N times.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=MAX_CONCURRENCY, help="Concurrent calls per target.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Ignore cached responses (fresh ones are stored).")
    ] = False,
    label: Annotated[
        list[str] | None, typer.Option(help="Label the run, key=value (e.g. branch=main).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
    watch: Annotated[
        bool, typer.Option(help="Run again whenever a suite, prompt, plan or grader changes.")
    ] = False,
    failures: Annotated[
        int, typer.Option(min=0, max=MAX_COUNT, help="Failing trials to list after the table.")
    ] = 10,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate",
            help="Apply every rule of the plan's gate, comparing with its baseline; exit 1 "
            "when it fails.",
        ),
    ] = False,
    baseline: Annotated[
        str | None,
        typer.Option(help="With --gate: the baseline, label (key=value) or run to compare with."),
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    allow_skipped: Annotated[
        bool,
        typer.Option(
            "--allow-skipped",
            help="Count grades skipped for want of a judge key out, instead of exit 3.",
        ),
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            min=0.0,
            help="Stop (exit 3, resumable) before spent plus in-flight cost passes USD.",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="Run only shard K of N (e.g. 2/4), split by case; see `evalkit merge`."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes (default: the plan's, else one per core from 500 trials).",
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where trials run: local (default) or ray (pip install 'evalkit-cli[ray]')."
        ),
    ] = None,
    otel: Annotated[
        bool,
        typer.Option(
            "--otel",
            help="Send OpenTelemetry traces as trials finish (endpoint: "
            "$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT).",
        ),
    ] = False,
    failed: Annotated[
        str | None,
        typer.Option(
            metavar="[RUN]",
            help="Rerun only the trials that failed or errored in RUN (default: latest); "
            "RUN must follow --failed directly.",
        ),
    ] = None,
) -> int:
    """Run eval plans and record every result in DuckDB."""
    start = Path(plan) if plan and Path(plan).is_dir() else None
    root = find_root(start)
    plan_ref = None if start else plan
    database = db_path(db, root)
    rerun = _failed(database, failed) if failed is not None else None
    if rerun is not None:
        plan_ref = plan_ref or rerun.plan
        epochs = epochs or rerun.epochs
    settings = RunSettings(
        selection=Selection(
            filters=tuple(filter_ or ()),
            tags=tuple(tag or ()),
            targets=tuple(target or ()),
            limit=limit,
            epochs=epochs,
            trial_ids=rerun.trial_ids if rerun is not None else None,
        ),
        use_cache=not no_cache,
        concurrency=concurrency,
        labels=_labels(label or []),
        command=shlex.join(["evalkit", *sys.argv[1:]]),
        allow_skipped=allow_skipped,
        max_cost=max_cost,
        shard=parse_shard(shard) if shard is not None else None,
        workers=workers,
        executor=executor,
    )
    ci_options = CiOptions(gate, baseline, junit, markdown, json_out)

    def notify(message: str) -> None:
        err_console.print(f"[yellow]notice:[/] {escape(message)}")

    code_files: set[Path] = set()  # python targets' files: --watch runs again on an edit

    def once() -> int:
        load_all(root)
        plans = load_plans(root, plan_ref)
        for loaded_plan in plans:
            code_files.update(python_target_files(loaded_plan))
        check_gates(plans, ci_options)
        codes = []
        with open_when_free(database, wait=wait_seconds(), notify=notify) as store:
            for loaded in plans:
                live = live_trace(loaded) if otel else None
                outcome = execute(
                    loaded,
                    store,
                    settings,
                    observer_factory=partial(observers, console, loaded.name, live),
                    notify=notify,
                )
                _report(store, outcome, failures)
                if live is not None:
                    live.finish(outcome.run_id, outcome.status)
                    console.print(f"sent {live.sent} trial spans to OpenTelemetry", style="dim")
                gated = after_run(store, loaded, outcome, ci_options, len(plans) > 1)
                codes.append(outcome.exit_code if gated is None else gated)
        return _combine(codes)

    if watch:
        return watch_loop(root, once, console, extra=lambda: sorted(code_files))
    return once()


def _report(store: Store, outcome: RunOutcome, failures: int) -> None:
    if not outcome.recorded:
        console.print(
            Text(f"{outcome.plan}: nothing ran: no case x target was selected (no run recorded)")
        )
        return
    rows = summary.summary_rows(store.con, outcome.run_id)
    totals = outcome.totals
    if not rows:
        console.print(Text(f"{outcome.plan}: nothing ran (run {outcome.run_id})"))
        _print_reasons(outcome)
        return
    title = f"{outcome.plan} · run {outcome.run_id}"
    console.print(summary_table(rows, title, console.width))
    failing, total = queries.failure_rows(store.con, outcome.run_id, failures, preview=200)
    print_failures(console, failing, total, failures)
    judge = judge_line(judge_summary(store.con, outcome.run_id))
    if judge:
        console.print(judge, markup=False)  # the judge's spend, apart from the targets'
    costs = [row["cost_usd"] for row in rows]
    counts = outcome.counts
    parts = [
        plural(counts.trials, "trial"),
        f"{counts.passed} passed",
        f"{counts.failed} failed",
        plural(counts.errors, "error"),
    ]
    if counts.skipped:
        parts.append(f"{counts.skipped} skipped")
    if counts.skipped_grades:
        parts.append(f"{plural(counts.skipped_grades, 'grade')} skipped")
    if totals.cache_hits:
        parts.append(f"{totals.cache_hits} cached")
    if costs and all(c is not None for c in costs):
        parts.append(money(sum(costs)))
    elif any(c is not None for c in costs):
        parts.append("cost unknown (a model has no price: set `pricing:` in the plan)")
    console.print(" · ".join(parts))
    if drops := detectable_drop_line(store.con, outcome.run_id):
        console.print(drops, style="dim", markup=False)
    gate = outcome.gate
    if gate.configured:
        if gate.passed and outcome.exit_code in (0, 1):  # an unmeasured run passes no gate
            console.print("[green]gate passed[/]")
        for reason in gate.reasons:
            console.print(f"[red]gate failed:[/] {escape(reason)}")
    if outcome.status == "interrupted":
        console.print(
            f"[yellow]run {outcome.run_id} was interrupted after {totals.finished} of "
            f"{outcome.trials_planned} trials; finished results are saved[/]"
        )
        console.print(f"resume it with: evalkit resume {outcome.run_id}", highlight=False)
    if outcome.exit_code == 3:
        _print_reasons(outcome)


def _print_reasons(outcome: RunOutcome) -> None:
    """Why the run cannot pass (exit 3): one line each, on stderr for CI logs."""
    for reason in outcome.verdict.reasons:
        err_console.print(Text("error: ", style="bold red") + Text(reason))
    if outcome.status not in ("completed", "interrupted") and outcome.run_id:
        err_console.print(Text(f"resume it with: evalkit resume {outcome.run_id}"))


def _failed(database: Path, ref: str) -> FailedTrials:
    """The failed and errored trials of run `ref`; a usage error when there are none."""
    with Store.open(database, read_only=True) as store:
        found = failed_trials(store.con, resolve_run(store.con, ref))
    if not found.trial_ids:
        raise UsageError(
            f"run {found.run_id} has no failed or errored trials: nothing to rerun",
            hint="pick another run: evalkit run --failed RUN (see `evalkit runs`)",
        )
    return found


def with_failed_default(args: list[str]) -> list[str]:
    """`--failed` with no RUN after it means `--failed latest` (click has no optional values)."""
    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if arg == "--failed" and (following is None or following.startswith("-")):
            out.append("latest")
    return out


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--label '{pair}' is not key=value (e.g. --label branch=main)")
        labels[key.strip()] = value.strip()
    return labels


def _combine(codes: list[int]) -> int:
    """The most serious exit code wins: 3 > 2 > 1 > 5 > 0."""
    for code in (3, 4, 2, 1):
        if code in codes:
            return code
    if codes and all(code == 5 for code in codes):
        return 5
    return 0
