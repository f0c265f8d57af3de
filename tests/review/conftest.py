"""A recorded run to review: the judge tests' workspace (a python target answering each
case with its `answer` var, judged by the fake server), with passing, failing, split,
errored, judged and hostile trials."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from evalkit.store.labels import Label
from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict, ws

__all__ = ["Cli", "JudgeWorkspace", "labels", "recorded", "ws"]

HOSTILE = '=HYPERLINK("http://evil.example","[bold red]click[/]")'

CASES: list[dict[str, object]] = [
    {
        "id": "a-pass",
        "vars": {"question": "Q-a?", "answer": "Refunds within 30 days."},
        "expected": "30 days",
        "graders": [{"type": "icontains", "value": "30"}],
    },
    {
        "id": "b-fail",
        "vars": {"question": "Q-b?", "answer": "No idea."},
        "graders": [{"type": "icontains", "value": "30"}],
    },
    {
        "id": "c-split",
        "vars": {"question": "Q-c?", "answer": "30 days, ask Bob."},
        "context": ["Refunds: 30 days.", "Shipping: 3 days."],
        "graders": [
            {"type": "icontains", "value": "30"},
            {"type": "icontains", "value": "refund", "metric": "mentions-refund"},
        ],
    },
    {
        "id": "d-error",
        "vars": {"question": "Q-d?"},
        "graders": [{"type": "icontains", "value": "30"}],
    },
    {
        "id": "e-wavering",
        "vars": {"question": "Q-e?", "answer": "Hi."},
        "graders": [{"type": "llm-rubric", "value": "Polite", "samples": 3}],
    },
    {
        "id": "f-steady",
        "vars": {"question": "Q-f?", "answer": "Hello, how can I help?"},
        "graders": [{"type": "llm-rubric", "value": "Polite"}],
    },
    {
        "id": "g-hostile",
        "vars": {"question": "Q-g?", "answer": HOSTILE},
        "graders": [{"type": "icontains", "value": "30"}],
    },
]


@pytest.fixture
def recorded(ws: JudgeWorkspace, cli: Cli) -> str:
    """Run the workspace once; returns the run id."""
    ws.suite(CASES, name="support")
    ws.plan(extra="concurrency: 1\n")
    yes, no = verdict(score=1, **{"pass": True}), verdict(score=0, **{"pass": False})
    ws.server.script(
        {"match": "Q-e", "replies": [yes, no, yes]},
        {
            "match": "Q-f",
            "replies": [verdict(reasoning="Courteous [b]x[/b].", score=1, **{"pass": True})],
        },
    )
    code, out = cli("run")
    assert code == 1, out  # b-fail, g-hostile fail; d-error errors
    (run_id,) = ws.sql("SELECT run_id FROM runs")[0]
    return str(run_id)


def labels(db: Path) -> list[dict[str, object]]:
    """Every row of `labels`, oldest first, as dicts."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM labels ORDER BY labelled_at, label_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def in_force(db: Path) -> dict[tuple[str, int | None], Label]:
    """The labels in force, by (trial_id, grade_idx)."""
    from evalkit.store.db import Store
    from evalkit.store.labels import human_labels

    with Store.open(db, read_only=True) as store:
        (run_id,) = store.con.execute("SELECT run_id FROM runs").fetchone()
        return human_labels(store.con, run_id)
