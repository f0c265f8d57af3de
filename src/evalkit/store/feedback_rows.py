"""SQL of the feedback loop: the trials `promote` reads, and the `imports` and
`promotions` rows both commands record (migration 0005)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from evalkit.errors import StoreError
from evalkit.store.cache import dumps
from evalkit.store.rows import dict_rows, new_row_id

_JSON_COLUMNS = ("output_data", "vars", "messages", "expected", "context", "metadata", "graders")

# Through the `trials` view: it gives outputs stored out of line (migration 0006) whole.
_TRIALS = """
SELECT t.trial_id, t.suite, t.case_id, t.case_hash, t.target_id, t.prompt_id, t.epoch,
       t.status, t.output, t.output_data, c.vars, c.messages, c.expected, c.context, c.tags,
       c.metadata, c.graders, c.cluster, c.location
FROM trials t JOIN cases c USING (case_hash)
WHERE t.run_id = ? {status}
ORDER BY t.suite, t.case_id, t.target_id, t.prompt_id NULLS FIRST, t.epoch
"""


def trials(
    con: duckdb.DuckDBPyConnection, run_id: str, *, status: str | None
) -> list[dict[str, Any]]:
    """The run's trials (only those with `status`, when given) with their cases' content."""
    where = "AND t.status = ?" if status else ""
    cursor = con.execute(_TRIALS.format(status=where), [run_id, *([status] if status else [])])
    rows = dict_rows(cursor)
    for row in rows:
        for column in _JSON_COLUMNS:
            if isinstance(row[column], str):
                row[column] = json.loads(row[column])
    return rows


def grade_verdicts(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> dict[str, dict[int, bool | None]]:
    """Per trial, each grade's machine verdict by index (None for errors and skips)."""
    found: dict[str, dict[int, bool | None]] = {}
    for trial_id, idx, passed in con.execute(
        "SELECT trial_id, idx, passed FROM grades WHERE run_id = ?", [run_id]
    ).fetchall():
        found.setdefault(trial_id, {})[idx] = passed
    return found


def run_plan(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[str, str | None]:
    """The run's plan name and plan file (relative to the workspace)."""
    row = con.execute("SELECT plan, plan_path FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        raise StoreError(f"run {run_id} is not in the database")
    return str(row[0]), row[1]


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One `evalkit import`, as the `imports` table records it."""

    source_path: str
    source_hash: str
    suite_path: str
    records_read: int
    cases_added: int
    duplicates: int
    scrubbed: dict[str, int]
    imported_by: str | None
    imported_at: datetime
    git_sha: str | None


def record_import(con: duckdb.DuckDBPyConnection, row: ImportRow) -> str:
    """Insert one import; returns its id."""
    import_id = new_row_id()
    try:
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?::JSON, ?, ?, ?)",
            [
                import_id,
                row.source_path,
                row.source_hash,
                row.suite_path,
                row.records_read,
                row.cases_added,
                row.duplicates,
                dumps(row.scrubbed),
                row.imported_by,
                row.imported_at,
                row.git_sha,
            ],
        )
    except duckdb.Error as exc:
        raise StoreError(f"could not record the import: {exc}") from exc
    return import_id


@dataclass(frozen=True, slots=True)
class PromotionRow:
    """One trial turned into a regression case, as the `promotions` table records it."""

    run_id: str
    trial_id: str
    case_hash: str
    suite_path: str
    case_id: str
    reason: str  # failing | reviewed
    expectation: dict[str, Any]
    promoted_by: str | None
    promoted_at: datetime
    git_sha: str | None


def record_promotions(con: duckdb.DuckDBPyConnection, rows: Sequence[PromotionRow]) -> None:
    """Insert promotions in one transaction: all of them are saved, or none."""
    if not rows:
        return
    with con.cursor() as cur:
        cur.begin()
        try:
            cur.executemany(
                "INSERT INTO promotions VALUES (?, ?, ?, ?, ?, ?, ?, ?::JSON, ?, ?, ?)",
                [
                    [
                        new_row_id(),
                        r.run_id,
                        r.trial_id,
                        r.case_hash,
                        r.suite_path,
                        r.case_id,
                        r.reason,
                        dumps(r.expectation),
                        r.promoted_by,
                        r.promoted_at,
                        r.git_sha,
                    ]
                    for r in rows
                ],
            )
            cur.commit()
        except duckdb.Error as exc:
            cur.rollback()
            raise StoreError(f"could not record {len(rows)} promotion(s): {exc}") from exc
