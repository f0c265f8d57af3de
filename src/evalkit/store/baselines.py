"""Named baselines: a pinned run, or the newest run carrying a label (e.g. branch=main)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from evalkit.errors import UsageError


@dataclass(frozen=True, slots=True)
class Baseline:
    """A baseline as recorded; exactly one of `run_id` and `label_key` is set."""

    name: str
    plan: str | None
    run_id: str | None
    label_key: str | None
    label_value: str | None
    set_at: datetime
    set_by: str | None

    @property
    def describes(self) -> str:
        """What the baseline points at, in words."""
        if self.run_id:
            return f"run {self.run_id}"
        return f"newest run labelled {self.label_key}={self.label_value}"


_COLUMNS = "name, plan, run_id, label_key, label_value, set_at, set_by"


def set_baseline(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    plan: str | None,
    run_id: str | None = None,
    label: tuple[str, str] | None = None,
    set_by: str | None = None,
) -> Baseline:
    """Create or replace the baseline `name` of `plan` (a run, or a label to follow)."""
    if (run_id is None) == (label is None):
        raise UsageError("a baseline is either a run or a label, not both or neither")
    key, value = label if label else (None, None)
    with con.cursor() as cur:
        cur.begin()
        cur.execute(
            "DELETE FROM baselines WHERE name = ? AND plan IS NOT DISTINCT FROM ?", [name, plan]
        )
        cur.execute(
            f"INSERT INTO baselines ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, current_timestamp, ?)",
            [name, plan, run_id, key, value, set_by],
        )
        cur.commit()
    found = get_baseline(con, name, plan)
    assert found is not None  # just written
    return found


def list_baselines(con: duckdb.DuckDBPyConnection) -> list[Baseline]:
    """Every baseline, by name then plan."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM baselines ORDER BY name, plan NULLS FIRST"
    ).fetchall()
    return [Baseline(*row) for row in rows]


def get_baseline(con: duckdb.DuckDBPyConnection, name: str, plan: str | None) -> Baseline | None:
    """The baseline `name` for `plan`: the plan's own, else the one serving every plan."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM baselines WHERE name = ? AND (plan = ? OR plan IS NULL) "
        "ORDER BY plan NULLS LAST LIMIT 1",
        [name, plan],
    ).fetchall()
    return Baseline(*rows[0]) if rows else None


def plan_baselines(con: duckdb.DuckDBPyConnection, plan: str) -> list[Baseline]:
    """The baselines that apply to `plan`, most recently set first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM baselines WHERE plan = ? OR plan IS NULL "
        "ORDER BY set_at DESC, name",
        [plan],
    ).fetchall()
    return [Baseline(*row) for row in rows]


def delete_baseline(con: duckdb.DuckDBPyConnection, name: str, plan: str | None) -> int:
    """Remove the baseline `name` (of `plan`, or every plan's when None); how many went."""
    where, params = (
        ("name = ?", [name]) if plan is None else ("name = ? AND plan = ?", [name, plan])
    )
    row = con.execute(f"DELETE FROM baselines WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def baseline_run(
    con: duckdb.DuckDBPyConnection, baseline: Baseline, plan: str, exclude: str | None = None
) -> str | None:
    """The run a baseline means for `plan` now (a label baseline: its newest completed run)."""
    if baseline.run_id:
        return baseline.run_id
    rows = con.execute(
        "SELECT run_id, labels FROM runs WHERE plan = ? AND status = 'completed' "
        "AND run_id IS DISTINCT FROM ? ORDER BY started_at DESC, run_id DESC",
        [plan, exclude],
    ).fetchall()
    # labels are a small JSON object; matching in Python spares quoting the key in a path
    for run_id, labels in rows:
        if json.loads(labels or "{}").get(baseline.label_key) == baseline.label_value:
            return str(run_id)
    return None


def run_plan(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The plan a recorded run belongs to."""
    row = con.execute("SELECT plan FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        raise UsageError(f"no run '{run_id}' is recorded")
    return str(row[0])


def previous_run(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """The run of the same plan that started just before `run_id`, if any."""
    row = con.execute(
        """
        SELECT p.run_id FROM runs p, runs c
        WHERE c.run_id = ? AND p.plan = c.plan
          AND (p.started_at, p.run_id) < (c.started_at, c.run_id)
        ORDER BY p.started_at DESC, p.run_id DESC LIMIT 1
        """,
        [run_id],
    ).fetchone()
    return str(row[0]) if row else None


def label_run(
    con: duckdb.DuckDBPyConnection, plan: str, key: str, value: str, exclude: str | None
) -> str | None:
    """The newest completed run of `plan` labelled key=value, other than `exclude`."""
    probe = Baseline("", plan, None, key, value, datetime.now(), None)
    return baseline_run(con, probe, plan, exclude)
