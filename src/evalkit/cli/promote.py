"""`evalkit promote RUN --failing | --reviewed`: trials become regression cases."""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from evalkit.cli.console import console, db_path, err_console
from evalkit.errors import EvalkitError, UsageError
from evalkit.feedback.promoter import PromotionPlan, Selection, plan_promotion
from evalkit.feedback.suite_writer import SuiteFile, append_cases, open_suite
from evalkit.graders.discovery import load_all
from evalkit.store import feedback_rows
from evalkit.store.audit import stamp
from evalkit.store.db import Store
from evalkit.store.labels import human_labels
from evalkit.store.lock import open_when_free, wait_seconds
from evalkit.store.queries import resolve_run
from evalkit.workspace.root import find_root
from evalkit.workspace.yamlfile import load_yaml

DEFAULT_SUITE = Path("suites/regressions.yaml")
SHOWN = 20


def command(
    run: Annotated[
        str, typer.Argument(help="The run: id, prefix, `latest` or `latest~N`.")
    ] = "latest",
    failing: Annotated[
        bool, typer.Option("--failing", help="Promote failing trials (errors are not).")
    ] = False,
    reviewed: Annotated[
        bool, typer.Option("--reviewed", help="Promote trials with a human label in force.")
    ] = False,
    suite: Annotated[
        Path | None,
        typer.Option(help="The regression suite to add to (default: suites/regressions.yaml)."),
    ] = None,
    suite_filter: Annotated[
        list[str] | None, typer.Option(help="Only trials of these source suites (glob).")
    ] = None,
    target: Annotated[list[str] | None, typer.Option(help="Only this target (glob).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be added; write nothing.")] = False,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Turn a run's failing or human-reviewed trials into cases of a regression suite."""
    if failing == reviewed:
        raise UsageError(
            "say which trials to promote: --failing or --reviewed (one of them)",
            hint="evalkit promote latest --failing",
        )
    root = find_root()
    suite_path = root / DEFAULT_SUITE if suite is None else (Path.cwd() / suite).resolve()
    if root.resolve() not in suite_path.resolve().parents:
        raise UsageError(f"--suite {suite} is outside the workspace {root}")
    load_all(root)
    selection = Selection(
        reason="failing" if failing else "reviewed",
        suites=tuple(suite_filter or ()),
        targets=tuple(target or ()),
    )
    database = db_path(db, root)
    if dry_run:
        with Store.open(database, read_only=True) as store:
            target_suite = open_suite(suite_path.resolve(), root)
            run_id, plan, plan_name, plan_path = _plan(store, run, selection, target_suite)
    else:
        now = stamp(root)
        with open_when_free(database, wait=wait_seconds(), notify=_notify) as store:
            # read under the database's lock, so two promotions never append to one text
            target_suite = open_suite(suite_path.resolve(), root)
            run_id, plan, plan_name, plan_path = _plan(store, run, selection, target_suite)
            header = (
                f"# Regression cases written by `evalkit promote` (first on {now.at:%Y-%m-%d}).\n"
                "# Each case says where it came from in metadata.promoted_from; edit freely.\n"
            )
            append_cases(target_suite, [p.case for p in plan.promoted], header)
            feedback_rows.record_promotions(
                store.con,
                [
                    feedback_rows.PromotionRow(
                        run_id=run_id,
                        trial_id=trial["trial_id"],
                        case_hash=trial["case_hash"],
                        suite_path=target_suite.label,
                        case_id=promoted.case["id"],
                        reason=selection.reason,
                        expectation=promoted.expectation,
                        promoted_by=now.who,
                        promoted_at=now.at,
                        git_sha=now.git_sha,
                    )
                    for promoted in plan.promoted
                    for trial in promoted.trials
                ],
            )
    _report(plan, run_id, target_suite, selection.reason, dry_run=dry_run)
    _next_step(root, target_suite, plan_name, plan_path, bool(plan.promoted) or target_suite.exists)
    return 0


def _plan(
    store: Store, run: str, selection: Selection, suite: SuiteFile
) -> tuple[str, PromotionPlan, str, str | None]:
    run_id = resolve_run(store.con, run)
    trials = feedback_rows.trials(store.con, run_id, status=None)
    labels: dict[tuple[str, int | None], Any] = {}
    grades: dict[str, dict[int, bool | None]] = {}
    if selection.reason == "reviewed":
        labels = dict(human_labels(store.con, run_id))
        grades = feedback_rows.grade_verdicts(store.con, run_id)
    plan = plan_promotion(run_id, trials, selection, suite, labels, grades)
    plan_name, plan_path = feedback_rows.run_plan(store.con, run_id)
    return run_id, plan, plan_name, plan_path


def _notify(message: str) -> None:
    err_console.print(f"[yellow]notice:[/] {escape(message)}")


def _report(
    plan: PromotionPlan, run_id: str, suite: SuiteFile, reason: str, *, dry_run: bool
) -> None:
    verb = "would add" if dry_run else "added"
    what = "failing" if reason == "failing" else "reviewed"
    console.print(
        f"run {escape(run_id)}: {plan.selected} {what} trials; {verb} {len(plan.promoted)} "
        f"cases to {escape(suite.label)}",
        highlight=False,
    )
    if plan.duplicates:
        console.print(f"  skipped {plan.duplicates} already in the suite")
    if plan.errors and reason == "failing":
        console.print(
            f"  {plan.errors} trials errored and were not promoted: an error is the "
            "infrastructure's, not the model's; fix it and run again"
        )
    for promoted in plan.promoted[:SHOWN]:
        source = promoted.case["metadata"]["promoted_from"]
        line = (
            f"  + {promoted.case['id']}  ({promoted.kind}) from {source['suite']}/"
            f"{source['case_id']} ({len(promoted.trials)} trials)"
        )
        console.print(line, markup=False, highlight=False)
    if len(plan.promoted) > SHOWN:
        console.print(f"  ... and {len(plan.promoted) - SHOWN} more")


def _next_step(
    root: Path, suite: SuiteFile, plan_name: str, plan_path: str | None, show: bool
) -> None:
    """The command that runs the regression suite, or how to make one run it."""
    if not show:
        return
    name = suite.name
    command = shlex.join(["evalkit", "run", plan_name, "--filter", f"{name}/*"])
    if plan_path and _plan_includes(root / plan_path, suite.label):
        console.print(f"run them: {command}", markup=False, highlight=False)
    else:
        where = plan_path or "a plan"
        console.print(
            f"add {suite.label} to the suites of {where}, then run them: {command}",
            markup=False,
            highlight=False,
        )


def _plan_includes(plan_file: Path, suite_label: str) -> bool:
    try:
        suites = load_yaml(plan_file).data.get("suites") or []
    except (EvalkitError, AttributeError):  # an unreadable plan: we cannot tell
        return False
    return any(isinstance(s, str) and fnmatch.fnmatchcase(suite_label, s) for s in suites)
