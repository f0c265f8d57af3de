"""Human labels: append-only verdicts on trials and grades, never touching the machine's.

A label is about one trial as a whole (`grade_idx` None) or about one of its grades.
Changing one's mind adds a row; the newest row per (run, trial, grade) is in force,
and a `retract` row withdraws it (the `human_labels` view applies both rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

import duckdb

from evalkit.errors import StoreError, UsageError
from evalkit.store.rows import new_row_id
from evalkit.store.unnest import unnest_select

ACTIONS = ("accept", "override", "retract")
SOURCES = ("terminal", "csv", "xlsx")


@dataclass(frozen=True, slots=True)
class Label:
    """One human decision about a trial (or one of its grades), as stored."""

    run_id: str
    trial_id: str
    case_hash: str
    grade_idx: int | None
    metric: str | None
    action: str
    passed: bool | None
    score: float | None
    machine_status: str | None
    machine_score: float | None
    note: str | None
    reviewer: str
    labelled_at: datetime
    git_sha: str | None
    source: str
    label_id: str = field(default_factory=new_row_id)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise UsageError(f"unknown label action {self.action!r}; use one of {ACTIONS}")
        if self.source not in SOURCES:
            raise UsageError(f"unknown label source {self.source!r}; use one of {SOURCES}")
        if (self.passed is None) != (self.action == "retract"):
            raise UsageError("a label says pass or fail, unless it retracts an earlier one")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise UsageError(f"a human score is between 0 and 1, not {self.score}")


_COLUMNS = ", ".join(f.name for f in fields(Label))


_TYPES = {"grade_idx": "INTEGER", "passed": "BOOLEAN", "score": "DOUBLE"}
_TYPES |= {"machine_score": "DOUBLE", "labelled_at": "TIMESTAMPTZ"}
# Columns as list parameters (store/unnest.py): importing a sheet of 20,000 labels took
# 40 s with executemany (row by row); as one statement the whole import takes about 3 s.
_INSERT = f"INSERT INTO labels ({_COLUMNS}) " + unnest_select(
    [(f.name, _TYPES.get(f.name, "VARCHAR")) for f in fields(Label)]
)


def record_labels(con: duckdb.DuckDBPyConnection, labels: Sequence[Label]) -> None:
    """Append `labels` in one transaction: all of them are saved, or none."""
    if not labels:
        return
    columns = [[getattr(label, f.name) for label in labels] for f in fields(Label)]
    with con.cursor() as cur:
        cur.begin()
        try:
            cur.execute(_INSERT, columns)
            cur.commit()
        except duckdb.Error as exc:
            cur.rollback()
            raise StoreError(f"could not save {len(labels)} label(s): {exc}") from exc


def human_labels(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> dict[tuple[str, int | None], Label]:
    """The labels in force for `run_id`, keyed by (trial_id, grade_idx)."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM human_labels WHERE run_id = ?", [run_id]).fetchall()
    return {(row[1], row[3]): Label(*row) for row in rows}


def label_history(con: duckdb.DuckDBPyConnection, run_id: str, trial_id: str) -> list[Label]:
    """Every label ever made on one trial, oldest first (retractions included)."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM labels WHERE run_id = ? AND trial_id = ? "
        "ORDER BY labelled_at, label_id",
        [run_id, trial_id],
    ).fetchall()
    return [Label(*row) for row in rows]
