"""A judged workspace (python target, the fake server's scripted judge) and human labels
written straight through the labels store, as `evalkit review` would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import duckdb

from evalkit.store.labels import Label, record_labels
from tests.graders.judge.conftest import JudgeWorkspace, verdict, ws
from tests.reports.conftest import browse

__all__ = ["RUBRIC", "browse", "judged_suite", "label", "ws"]

RUBRIC = "Mentions 30 days"


def judged_suite(ws: JudgeWorkspace, judge_says: dict[str, bool], rubric: str = RUBRIC) -> None:
    """One case per id: a rule grader (idx 0) then the judged rubric (idx 1); the judge
    passes the case exactly when judge_says[id]."""
    ws.suite(
        [
            {
                "id": case_id,
                "vars": {"question": f"Q-{case_id}?", "answer": f"Answer {case_id}"},
                "graders": [
                    {"type": "icontains", "value": "answer"},
                    {"type": "llm-rubric", "value": rubric},
                ],
            }
            for case_id in judge_says
        ]
    )
    ws.server.script(
        *[
            {
                "match": f"Q-{case_id}?",
                "reply": verdict(score=1 if passed else 0, **{"pass": passed}),
            }
            for case_id, passed in judge_says.items()
        ]
    )


def label(
    ws: JudgeWorkspace,
    run_id: str,
    verdicts: Iterable[tuple[str, int | None, bool]],
    *,
    reviewer: str = "ana",
    note: str | None = None,
    minutes: int = 0,
) -> None:
    """Record (case_id, grade_idx or None for the trial, human passed) labels on run_id."""
    con = duckdb.connect(str(ws.db))
    try:
        trials = dict(
            (r[0], (r[1], r[2]))
            for r in con.execute(
                "SELECT case_id, trial_id, case_hash FROM results WHERE run_id = ?", [run_id]
            ).fetchall()
        )
        at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes)
        labels = []
        for case_id, idx, passed in verdicts:
            trial_id, case_hash = trials[case_id]
            labels.append(
                Label(
                    run_id=run_id,
                    trial_id=trial_id,
                    case_hash=case_hash,
                    grade_idx=idx,
                    metric="llm-rubric" if idx == 1 else None,
                    action="override",
                    passed=passed,
                    score=None,
                    machine_status=None,
                    machine_score=None,
                    note=note,
                    reviewer=reviewer,
                    labelled_at=at,
                    git_sha=None,
                    source="terminal",
                )
            )
        record_labels(con, labels)
    finally:
        con.close()
