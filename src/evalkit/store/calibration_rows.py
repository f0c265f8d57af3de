"""Read queries behind judge calibration: every model-graded grade with the human
verdict in force on it, and the judge versions each run used. Nothing here writes.

The human truth for a judged grade is the label on that grade when one is in force,
else the label on its whole trial (`human_labels` applies newest-wins and retractions).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

# Keys of a stored grader config that do not change what the judge is asked: where it
# was written and how much it weighs in the trial's score.
_NOT_JUDGING = ("location", "weight")


def grader_config_hash(config: Any) -> str:
    """`sha256:` over a grader's stored config (rubric, template, args), location and
    weight left out."""
    if isinstance(config, str):
        with contextlib.suppress(ValueError):  # not JSON: hash the text as it is
            config = json.loads(config)
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k not in _NOT_JUDGING}
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Scope:
    """Which runs calibration reads: all by default."""

    run_id: str | None = None
    since: date | None = None
    plan: str | None = None
    grader: str | None = None  # a metric or grader name

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions on `g` (grades) and `u` (runs), and their parameters."""
        parts = ["g.judge_model IS NOT NULL"]
        params: list[Any] = []
        if self.run_id is not None:
            parts.append("g.run_id = ?")
            params.append(self.run_id)
        if self.since is not None:
            parts.append("u.started_at >= ?")
            params.append(datetime(self.since.year, self.since.month, self.since.day))
        if self.plan is not None:
            parts.append("u.plan = ?")
            params.append(self.plan)
        if self.grader is not None:
            parts.append("(g.metric = ? OR g.grader = ?)")
            params += [self.grader, self.grader]
        return " AND ".join(parts), params


@dataclass(frozen=True, slots=True)
class PairRow:
    """One labelled model-graded grade."""

    run_id: str
    run_started_at: datetime
    trial_id: str
    metric: str
    judge_model: str
    config_hash: str
    status: str  # the judge grade's status: pass | fail | error | skipped
    judge_passed: bool | None
    human_passed: bool
    from_grade: bool  # True: a label on this grade; False: the trial's label
    reviewer: str


_PAIRS = """
SELECT g.run_id, u.started_at, g.trial_id, g.metric, g.judge_model,
       json_extract(c.graders, g.idx) AS config, g.status, g.passed,
       coalesce(lg.passed, lt.passed) AS human_passed,
       lg.label_id IS NOT NULL AS from_grade,
       coalesce(lg.reviewer, lt.reviewer) AS reviewer
FROM grades g
JOIN results r USING (run_id, trial_id)
JOIN runs u ON u.run_id = g.run_id
LEFT JOIN cases c ON c.case_hash = r.case_hash
LEFT JOIN human_labels lg
  ON lg.run_id = g.run_id AND lg.trial_id = g.trial_id AND lg.grade_idx = g.idx
LEFT JOIN human_labels lt
  ON lt.run_id = g.run_id AND lt.trial_id = g.trial_id AND lt.grade_idx IS NULL
WHERE {where} AND (lg.label_id IS NOT NULL OR lt.label_id IS NOT NULL)
ORDER BY u.started_at, g.run_id, g.trial_id, g.idx
"""


def labelled_pairs(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[PairRow]:
    """Every judged grade in `scope` that a human verdict applies to, oldest run first."""
    where, params = scope.where()
    rows = con.execute(_PAIRS.format(where=where), params).fetchall()
    hashes: dict[Any, str] = {}
    pairs = []
    for run_id, started, trial, metric, judge, config, status, passed, human, own, who in rows:
        if config not in hashes:
            hashes[config] = grader_config_hash(config)
        pairs.append(
            PairRow(
                run_id=run_id,
                run_started_at=started,
                trial_id=trial,
                metric=metric,
                judge_model=judge,
                config_hash=hashes[config],
                status=status,
                judge_passed=passed,
                human_passed=bool(human),
                from_grade=bool(own),
                reviewer=who,
            )
        )
    return pairs


@dataclass(frozen=True, slots=True)
class RunJudging:
    """What judged one metric in one run: the judge models and grader configs used."""

    run_id: str
    started_at: datetime
    metric: str
    versions: frozenset[tuple[str, str]]  # (judge_model, config_hash)


_VERSIONS = """
SELECT DISTINCT g.run_id, u.started_at, g.metric, g.judge_model,
       json_extract(c.graders, g.idx) AS config
FROM grades g
JOIN results r USING (run_id, trial_id)
JOIN runs u ON u.run_id = g.run_id
LEFT JOIN cases c ON c.case_hash = r.case_hash
WHERE {where}
"""


def run_judging(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[RunJudging]:
    """Per run x judged metric in `scope`, the (judge model, config hash) pairs used;
    oldest run first."""
    where, params = scope.where()
    found: dict[tuple[str, str], tuple[datetime, set[tuple[str, str]]]] = {}
    for run_id, started, metric, judge, config in con.execute(
        _VERSIONS.format(where=where), params
    ).fetchall():
        entry = found.setdefault((run_id, metric), (started, set()))
        entry[1].add((judge, grader_config_hash(config)))
    ordered = sorted(found.items(), key=lambda item: (item[1][0], item[0]))
    return [
        RunJudging(run_id, started, metric, frozenset(versions))
        for (run_id, metric), (started, versions) in ordered
    ]


def label_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """Per reviewer: labels in force on `run_id` (trials and grades) and the last one's time."""
    cursor = con.execute(
        "SELECT reviewer, count(*) AS labels, count(DISTINCT trial_id) AS trials, "
        "max(labelled_at) AS last_at FROM human_labels WHERE run_id = ? "
        "GROUP BY reviewer ORDER BY reviewer",
        [run_id],
    )
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def has_judged(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether the run has any model-graded grade. Asked before `run_judging`, whose join
    of every grade with its result and case ran out of DuckDB's 32 MB at a run's end
    after 100,000 rule-graded trials, with nothing of it needed."""
    query = "SELECT EXISTS (SELECT 1 FROM grades WHERE run_id = ? AND judge_model IS NOT NULL)"
    return con.execute(query, [run_id]).fetchone() == (True,)


def has_labels(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any human label was ever recorded."""
    return con.execute("SELECT EXISTS (SELECT 1 FROM labels)").fetchone() == (True,)


def run_calibration(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, Any]]:
    """The run summary's `calibration` entry (metric -> kappa, n, status), if any."""
    row = con.execute("SELECT summary FROM runs WHERE run_id = ?", [run_id]).fetchone()
    summary = json.loads(row[0]) if row and isinstance(row[0], str) else None
    found = summary.get("calibration") if isinstance(summary, dict) else None
    return found if isinstance(found, dict) else {}


def reviewed_counts(
    con: duckdb.DuckDBPyConnection, run_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """run_id -> (trials with a human label in force, reviewers) for those runs."""
    if not run_ids:
        return {}
    rows = con.execute(
        "SELECT run_id, count(DISTINCT trial_id), count(DISTINCT reviewer) FROM human_labels "
        "WHERE run_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY run_id",
        [run_ids],
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
