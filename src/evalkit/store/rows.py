"""Small helpers the store's queries share: rows as dicts, row ids."""

from __future__ import annotations

import json
import secrets
from typing import Any

import duckdb


def failing_reasons_cte(only: str = "") -> str:
    """A CTE `reasons(trial_id, reasons)`: per trial of one run (its one parameter, the run
    id), the reasons of its failing and errored grades as 'metric: reason', in grader
    order; `only` narrows the grades read (SQL, e.g. `AND trial_id IN (...)`)."""
    return f"""reasons AS (
    SELECT trial_id,
           list(metric || ': ' || coalesce(nullif(reason, ''), status) ORDER BY idx)
               AS reasons
    FROM grades WHERE run_id = ? AND status IN ('fail', 'error') {only}
    GROUP BY trial_id
)"""


FAILING_REASONS = failing_reasons_cte()  # for every trial of the run


def dict_rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The executed query's rows as dicts keyed by column name."""
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def json_value(value: Any) -> Any:
    """A JSON column as Python: DuckDB hands JSON back as text; text that is not JSON
    (an older row, a plain string) is kept as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def new_row_id() -> str:
    """A random id for an appended row (label, import, promotion): two people recording
    at the same instant never collide."""
    return secrets.token_hex(8)
