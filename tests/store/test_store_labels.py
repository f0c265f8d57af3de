"""Human labels: append-only, newest in force, retractions withdraw, machine grades untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evalkit.errors import UsageError
from evalkit.store.db import Store
from evalkit.store.labels import Label, human_labels, label_history, record_labels

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def label(
    trial: str,
    *,
    at: int,
    action: str = "override",
    passed: bool | None = True,
    grade_idx: int | None = None,
    score: float | None = None,
) -> Label:
    return Label(
        run_id="r1",
        trial_id=trial,
        case_hash="sha256:c",
        grade_idx=grade_idx,
        metric=None if grade_idx is None else "llm-rubric",
        action=action,
        passed=passed,
        score=score,
        machine_status="fail",
        machine_score=0.0,
        note=f"note {at}",
        reviewer="ana",
        labelled_at=T0 + timedelta(minutes=at),
        git_sha=None,
        source="terminal",
    )


def test_newest_label_is_in_force_and_history_is_kept(tmp_path: Path) -> None:
    with Store.open(tmp_path / "e.duckdb") as store:
        record_labels(store.con, [label("t1", at=0, passed=False), label("t1", at=1)])
        record_labels(store.con, [label("t1", at=2, grade_idx=0, passed=False, score=0.2)])
        record_labels(
            store.con, [label("t2", at=0), label("t2", at=3, action="retract", passed=None)]
        )
        current = human_labels(store.con, "r1")
        assert set(current) == {("t1", None), ("t1", 0)}  # t2 was retracted
        assert current[("t1", None)].passed is True
        assert current[("t1", None)].note == "note 1"
        assert current[("t1", 0)].score == 0.2
        assert [lab.note for lab in label_history(store.con, "r1", "t1")] == [
            "note 0",
            "note 1",
            "note 2",
        ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "approve"},
        {"action": "retract", "passed": True},
        {"action": "override", "passed": None},
        {"score": 1.5},
    ],
)
def test_malformed_labels_are_refused_before_storage(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        label("t1", at=0, **kwargs)  # type: ignore[arg-type]
