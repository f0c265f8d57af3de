"""Which items a review covers, against a database made by really running a workspace."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from evalkit.errors import UsageError
from evalkit.review.queue import QueueFilter, load_queue, sample
from evalkit.store.db import Store
from evalkit.store.labels import Label, record_labels
from tests.review.conftest import Cli, JudgeWorkspace


def cases(ws: JudgeWorkspace, run_id: str, **filters: object) -> list[str]:
    with Store.open(ws.db, read_only=True) as store:
        queue = load_queue(store.con, run_id, QueueFilter(**filters))  # type: ignore[arg-type]
    return [
        f"{i.case_id}:{i.grade_idx}" if i.grade_idx is not None else i.case_id for i in queue.items
    ]


def test_every_trial_in_a_stable_order(ws: JudgeWorkspace, recorded: str) -> None:
    assert cases(ws, recorded) == [
        "a-pass", "b-fail", "c-split", "d-error", "e-wavering", "f-steady", "g-hostile",
    ]  # fmt: skip
    with Store.open(ws.db, read_only=True) as store:
        (split,) = [
            i
            for i in load_queue(store.con, recorded, QueueFilter()).items
            if i.case_id == "c-split"
        ]
    assert split.context == ["Refunds: 30 days.", "Shipping: 3 days."]
    assert [(g.metric, g.status) for g in split.grades] == [
        ("icontains", "pass"),
        ("mentions-refund", "fail"),
    ]
    assert split.output == "30 days, ask Bob." and split.vars["question"] == "Q-c?"


def test_failing_and_disagreements_combine(ws: JudgeWorkspace, recorded: str) -> None:
    assert cases(ws, recorded, failing=True) == ["b-fail", "c-split", "d-error", "g-hostile"]
    # split grades, and a judge that wavered across its three samples
    assert cases(ws, recorded, disagreements=True) == ["c-split", "e-wavering"]
    assert cases(ws, recorded, failing=True, disagreements=True) == ["c-split"]


def test_a_human_who_differs_from_the_machine_makes_a_disagreement(
    ws: JudgeWorkspace, recorded: str
) -> None:
    with Store.open(ws.db) as store:
        record_labels(
            store.con,
            [
                Label(recorded, "support/a-pass@sut#0", "sha256:x", None, None, "override",
                      False, None, "pass", 1.0, "wrong", "ana", datetime.now(UTC), None,
                      "terminal"),
                Label(recorded, "support/b-fail@sut#0", "sha256:x", None, None, "accept",
                      False, None, "fail", 0.0, None, "ana", datetime.now(UTC), None,
                      "terminal"),
            ],
        )  # fmt: skip
    assert cases(ws, recorded, disagreements=True) == ["a-pass", "c-split", "e-wavering"]


def test_grader_makes_one_item_per_grade_by_grader_or_metric_name(
    ws: JudgeWorkspace, recorded: str
) -> None:
    assert cases(ws, recorded, grader="llm-rubric") == ["e-wavering:0", "f-steady:0"]
    assert cases(ws, recorded, grader="mentions-refund") == ["c-split:1"]
    with Store.open(ws.db, read_only=True) as store:
        queue = load_queue(store.con, recorded, QueueFilter(grader="mentions-refund"))
        (only,) = queue.items
        assert (only.metric, only.machine_status, only.machine_passed) == (
            "mentions-refund",
            "fail",
            False,
        )
        assert only.status == "fail" and only.score == 0.5  # the trial's, still shown
        with pytest.raises(UsageError) as err:
            load_queue(store.con, recorded, QueueFilter(grader="llm-rubrik"))
    assert "llm-rubric" in (err.value.hint or "") and "mentions-refund" in (err.value.hint or "")


def test_suite_and_target_filters(ws: JudgeWorkspace, recorded: str) -> None:
    assert len(cases(ws, recorded, targets=("sut",), suites=("support",))) == 7
    assert len(cases(ws, recorded, targets=("nope", "s*"), suites=("sup*",))) == 7
    assert cases(ws, recorded, targets=("other",)) == []
    assert cases(ws, recorded, suites=("other",)) == []


def test_sampling_hashes_trial_ids_with_the_seed(ws: JudgeWorkspace, recorded: str) -> None:
    with Store.open(ws.db, read_only=True) as store:
        every = load_queue(store.con, recorded, QueueFilter()).items
        picked = load_queue(store.con, recorded, QueueFilter(sample=3, seed=7)).items
        again = load_queue(store.con, recorded, QueueFilter(sample=3, seed=7)).items
    assert [i.trial_id for i in picked] == [i.trial_id for i in again]

    def rank(trial_id: str) -> str:
        return hashlib.sha256(f"7\x00{trial_id}\x00".encode()).hexdigest()

    expected = sorted(sorted((i.trial_id for i in every), key=rank)[:3])
    assert [i.trial_id for i in picked] == expected  # queue order, chosen by hash
    # the database's order does not matter, only the ids and the seed
    assert [i.trial_id for i in sample(list(reversed(every)), 3, 7)] == expected[::-1]
    others = {tuple(i.trial_id for i in sample(every, 3, seed)) for seed in range(10)}
    assert len(others) > 1  # the seed changes the sample
    assert sample(every, 100, 0) == every
    with pytest.raises(UsageError):
        sample(every, -1, 0)


def test_cli_export_uses_the_same_filters(ws: JudgeWorkspace, recorded: str, cli: Cli) -> None:
    code, out = cli("review", "--failing", "--export", "failing.csv")
    assert code == 0, out
    assert "wrote 4 item(s)" in out
    code, out = cli("review", "--grader", "nope", "--export", "x.csv")
    assert code == 4 and "no grade in this run" in out
    code, out = cli("review", recorded[:12], "--target", "other", "--export", "x.csv")
    assert code == 5 and "nothing to review" in out
    code, out = cli("review", "--export", "x.txt")
    assert code == 4 and ".csv or .xlsx" in out
    assert not (ws.root / "x.csv").exists()


def test_item_views_of_the_reviewed_thing(ws: JudgeWorkspace, recorded: str) -> None:
    with Store.open(ws.db, read_only=True) as store:
        items = load_queue(store.con, recorded, QueueFilter(failing=True)).items
    error = next(i for i in items if i.case_id == "d-error")
    assert (
        error.machine_passed is None and error.output is None and "KeyError" in (error.error or "")
    )
    grade_item = replace(items[1], grade_idx=0, metric="icontains")
    assert grade_item.machine_status == "pass" and grade_item.threshold == 0.5
