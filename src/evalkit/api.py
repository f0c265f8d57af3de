"""The Python API: the same runs as the CLI, results as pandas DataFrames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.analysis.summary import summary_frame
from evalkit.engine.plan import Selection
from evalkit.engine.session import RunOutcome, RunSettings, execute
from evalkit.graders.discovery import load_all
from evalkit.store.db import Store
from evalkit.store.queries import grades_frame, resolve_run, results_frame
from evalkit.workspace import load_plans
from evalkit.workspace.root import default_db_path, find_root

if TYPE_CHECKING:
    import pandas as pd


def run(
    plan: str | None = None,
    *,
    workspace: str | Path | None = None,
    db: str | Path | None = None,
    filters: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
    limit: int | None = None,
    epochs: int | None = None,
    concurrency: int | None = None,
    cache: bool = True,
    labels: dict[str, str] | None = None,
    workers: int | None = None,
    executor: str | None = None,
) -> list[RunOutcome]:
    """Run one plan (by name or path) or every plan of the workspace; one outcome each.

    `workers` and `executor` are `evalkit run --workers` and `--executor` (local | ray)."""
    root = find_root(Path(workspace) if workspace else None)
    load_all(root)
    settings = RunSettings(
        selection=Selection(filters, tags, targets, limit, epochs),
        use_cache=cache,
        concurrency=concurrency,
        labels=labels or {},
        command="evalkit.run()",
        workers=workers,
        executor=executor,
    )
    db_path = Path(db) if db else default_db_path(root)
    with Store.open(db_path) as store:
        return [execute(p, store, settings) for p in load_plans(root, plan)]


@dataclass(frozen=True, slots=True)
class Results:
    """A recorded run as DataFrames: one row per trial, per grade, per suite x target."""

    run_id: str
    trials: pd.DataFrame
    grades: pd.DataFrame
    summary: pd.DataFrame


def results(
    run: str = "latest", *, workspace: str | Path | None = None, db: str | Path | None = None
) -> Results:
    """Read a recorded run (`latest`, `latest~1`, an id or id prefix)."""
    db_path = Path(db) if db else default_db_path(find_root(Path(workspace) if workspace else None))
    with Store.open(db_path, read_only=True) as store:
        run_id = resolve_run(store.con, run)
        return Results(
            run_id=run_id,
            trials=results_frame(store.con, run_id),
            grades=grades_frame(store.con, run_id),
            summary=summary_frame(store.con, run_id),
        )
