"""The review logic alone: commands in, labels out, cursor moves; no terminal, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evalkit.review.queue import GradeView, Item, Queue, QueueFilter
from evalkit.review.state import Command, ReviewState, parse_line
from evalkit.store.labels import Label

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def item(case_id: str, status: str = "pass", grade_idx: int | None = None) -> Item:
    passed = {"pass": True, "fail": False}.get(status)
    score = {"pass": 1.0, "fail": 0.0}.get(status)
    grades = (
        GradeView(0, "contains", "contains", status, score, passed, "found it", None),
        GradeView(1, "llm-rubric", "polite", "fail", 0.2, False, "rude", 0.7, "Curt.", "m"),
    )
    return Item(
        run_id="r1",
        trial_id=f"s/{case_id}@t#0",
        case_hash=f"sha256:{case_id}",
        grade_idx=grade_idx,
        metric=None if grade_idx is None else grades[grade_idx].metric,
        suite="s",
        case_id=case_id,
        target="t",
        prompt=None,
        epoch=0,
        status=status,
        score=score,
        passed=passed,
        grades=grades if status != "error" else (),
    )


def review(*items: Item, labels: dict[tuple[str, int | None], Label] | None = None, **kw: object):
    queue = Queue(run_id="r1", items=list(items), labels=labels or {}, filters=QueueFilter())
    saved: list[Label] = []
    state = ReviewState(queue, reviewer="ana", git_sha="abc", clock=lambda: T0, **kw)  # type: ignore[arg-type]
    return state, saved


def run(state: ReviewState, saved: list[Label], *commands: Command) -> None:
    for command in commands:
        state.handle(command, saved.append)


def test_verdicts_save_a_label_each_and_advance() -> None:
    state, saved = review(item("a"), item("b", "fail"), item("c"), item("d"))
    run(state, saved, Command("accept"), Command("pass"), Command("fail"), Command("score", "0.4"))
    assert [(lab.trial_id, lab.action, lab.passed, lab.score) for lab in saved] == [
        ("s/a@t#0", "accept", True, None),
        ("s/b@t#0", "override", True, None),  # the machine failed it
        ("s/c@t#0", "override", False, None),
        ("s/d@t#0", "override", False, 0.4),  # below the default threshold 0.5
    ]
    assert all(lab.reviewer == "ana" and lab.git_sha == "abc" for lab in saved)
    assert [lab.machine_status for lab in saved] == ["pass", "fail", "pass", "pass"]
    assert state.item is None and state.queue.labelled() == 4  # the end screen
    # same instant from the clock, yet each later label sorts after the earlier one
    assert len({lab.labelled_at for lab in saved}) == 4


def test_pass_on_a_passing_trial_is_recorded_as_agreement() -> None:
    state, saved = review(item("a"), item("b", "fail"))
    run(state, saved, Command("pass"), Command("fail"))
    assert [lab.action for lab in saved] == ["accept", "accept"]


def test_accept_is_refused_where_the_machine_gave_no_verdict() -> None:
    state, saved = review(item("e", "error"))
    step = state.handle(Command("accept"), saved.append)
    assert saved == [] and state.cursor == 0
    assert step.message and "no verdict" in step.message and "p (pass)" in step.message
    run(state, saved, Command("fail"))
    assert saved[0].passed is False and saved[0].machine_status == "error"


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "nan", "abc", None])
def test_a_bad_score_saves_nothing_and_says_why(bad: str | None) -> None:
    state, saved = review(item("a"))
    step = state.handle(Command("score", bad), saved.append)
    assert saved == [] and state.cursor == 0 and step.message


def test_a_grade_item_scores_against_its_grades_threshold() -> None:
    state, saved = review(item("a", grade_idx=1), item("b", grade_idx=1))
    run(state, saved, Command("score", "0.6"), Command("score", "0.7"))
    assert [(lab.grade_idx, lab.metric, lab.passed) for lab in saved] == [
        (1, "polite", False),  # 0.6 < threshold 0.7
        (1, "polite", True),
    ]
    assert saved[0].machine_status == "fail" and saved[0].machine_score == 0.2


def test_a_note_goes_with_the_next_verdict_or_amends_the_one_in_force() -> None:
    state, saved = review(item("a"), item("b"))
    run(state, saved, Command("note", "cites the wrong policy"), Command("fail"))
    assert saved[-1].note == "cites the wrong policy" and saved[-1].passed is False
    run(state, saved, Command("back"), Command("note", "and is rude"))
    assert len(saved) == 2 and state.cursor == 0  # amending stays on the item
    assert (saved[-1].note, saved[-1].passed, saved[-1].action) == (
        "and is rude",
        False,
        "override",
    )
    assert state.current_label is saved[-1]


def test_a_note_typed_then_skipped_is_not_saved_on_the_next_item() -> None:
    state, saved = review(item("a"), item("b"))
    run(state, saved, Command("note", "hmm"), Command("next"))
    assert state.pending_note is None and state.message and "note dropped" in state.message
    run(state, saved, Command("pass"))
    assert saved[0].note is None


def test_undo_withdraws_the_label_in_force_and_back_shows_it() -> None:
    state, saved = review(item("a"), item("b"))
    run(state, saved, Command("fail"), Command("back"))
    assert state.current_label is not None and state.current_label.passed is False
    run(state, saved, Command("undo"))
    assert saved[-1].action == "retract" and saved[-1].passed is None
    assert state.current_label is None and state.queue.labelled() == 0
    step = state.handle(Command("undo"), saved.append)
    assert len(saved) == 2 and step.message and "nothing to undo" in step.message


def test_resume_starts_at_the_first_unlabelled_item_and_skips_labelled_ones() -> None:
    a, b, c, d = item("a"), item("b"), item("c"), item("d")
    earlier = review(a)[0]._label(a, "accept", True, None, None, "pass")
    later = review(c)[0]._label(c, "accept", True, None, None, "pass")
    state, saved = review(a, b, c, d, labels={a.key: earlier, c.key: later})
    assert state.cursor == 1
    run(state, saved, Command("fail"))
    assert state.cursor == 3  # c is labelled already
    walker, _ = review(a, b, c, d, labels={a.key: earlier, c.key: later}, relabel=True)
    assert walker.cursor == 0
    walker.handle(Command("fail"), _.append)
    assert walker.cursor == 1


def test_navigation_stays_in_bounds_and_quit_saves_nothing() -> None:
    state, saved = review(item("a"), item("b"))
    run(state, saved, Command("back"))
    assert state.cursor == 0 and state.message == "already at the first item"
    run(state, saved, Command("next"), Command("next"), Command("next"))
    assert state.item is None
    step = state.handle(Command("pass"), saved.append)
    assert saved == [] and step.message and "end of the queue" in step.message
    run(state, saved, Command("first"))
    assert state.cursor == 0
    assert state.handle(Command("quit"), saved.append).quit and saved == []


def test_a_failed_save_leaves_the_state_as_it_was() -> None:
    state, _ = review(item("a"), item("b"))

    def refuse(_label: Label) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        state.handle(Command("fail"), refuse)
    assert state.cursor == 0 and state.queue.labelled() == 0 and state.saved == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a\n", Command("accept")),
        ("F", Command("fail")),
        ("s 0.7", Command("score", "0.7")),
        ("score 0.7", Command("score", "0.7")),
        ("n  needs a [source] ", Command("note", "needs a [source]")),
        ("j", Command("next")),
        ("back", Command("back")),
        ("?", Command("help")),
        ("x", None),
    ],
)
def test_piped_lines_parse_to_commands(line: str, expected: Command | None) -> None:
    assert parse_line(line) == expected
