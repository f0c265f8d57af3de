"""`evalkit promote` end to end: a real run, promoted, then the regression suite run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from evalkit.graders.discovery import load_all
from evalkit.store.db import Store
from evalkit.store.labels import Label, record_labels
from evalkit.workspace.suite import load_suite
from tests.feedback.conftest import Cli, Workspace, make_repo

REGRESSIONS = "suites/regressions.yaml"


def latest_run(ws: Workspace) -> str:
    return str(ws.sql("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])


def statuses(ws: Workspace, run_id: str) -> dict[str, str]:
    rows = ws.sql("SELECT case_id, status FROM results WHERE run_id = ?", [run_id])
    return {str(case): str(status) for case, status in rows}


def regression_cases(ws: Workspace) -> dict[str, Any]:
    """The regression suite's cases by their source case id."""
    load_all(ws.root)
    suite = load_suite(ws.root / REGRESSIONS, ws.root)
    return {c.metadata["promoted_from"]["case_id"]: c for c in suite.cases}


def test_failing_trials_become_regression_cases_that_still_fail(
    workspace: Workspace, cli: Cli
) -> None:
    sha = make_repo(workspace.root)
    code, out = cli("run", "--epochs", "2")
    assert code == 1, out  # `shipping` fails: the python target does not know
    source_run = latest_run(workspace)

    code, out = cli("promote", "--failing")
    assert code == 0, out
    assert f"run {source_run}: 2 failing trials; added 1 cases to {REGRESSIONS}" in out
    assert "run them: evalkit run support --filter 'regressions/*'" in out

    (case,) = regression_cases(workspace).values()
    assert case.suite == "regressions"
    assert case.id.startswith("reg-")
    assert case.vars == {"question": "How long does shipping take?"}
    assert case.expected == "3 days"
    assert [(g.name, g.value) for g in case.graders] == [("icontains", None)]
    assert case.tags == ["policy", "regression"]
    source = case.metadata["promoted_from"]
    assert source["run_id"] == source_run
    assert source["suite"] == "support" and source["target"] == "local"
    assert source["reason"] == "failing" and source["failed_on"] == ["local"]
    assert case.metadata["failed_output"] == "I am not sure."

    rows = workspace.sql(
        "SELECT trial_id, suite_path, case_id, reason, expectation, promoted_by, git_sha, "
        "run_id FROM promotions ORDER BY trial_id"
    )
    assert [r[0] for r in rows] == ["support/shipping@local#0", "support/shipping@local#1"]
    assert {(r[1], r[2], r[3], r[5], r[6], r[7]) for r in rows} == {
        (REGRESSIONS, case.id, "failing", "Ada Importer", sha, source_run)
    }
    expectation = json.loads(str(rows[0][4]))
    assert expectation == {
        "kind": "failing",
        "expected": "3 days",
        "graders": [{"type": "icontains"}],
    }

    code, out = cli("run", "--filter", "regressions/*")
    assert code == 1, out
    assert statuses(workspace, latest_run(workspace)) == {case.id: "fail"}

    # promoting the same run again adds nothing; nor does promoting the regression run
    code, out = cli("promote", "latest~1", "--failing")
    assert code == 0, out
    assert "added 0 cases" in out and "skipped 1 already in the suite" in out
    code, out = cli("promote", "latest", "--failing")
    assert "added 0 cases" in out and "skipped 1 already in the suite" in out
    assert len(regression_cases(workspace)) == 1


def label(ws: Workspace, run_id: str, case_id: str, passed: bool, note: str | None = None) -> Label:
    (trial_id, case_hash, status) = ws.sql(
        "SELECT trial_id, case_hash, status FROM results WHERE run_id = ? AND case_id = ?",
        [run_id, case_id],
    )[0]
    machine_passed = status == "pass"
    return Label(
        run_id=run_id,
        trial_id=str(trial_id),
        case_hash=str(case_hash),
        grade_idx=None,
        metric=None,
        action="accept" if machine_passed == passed else "override",
        passed=passed,
        score=None,
        machine_status=str(status),
        machine_score=None,
        note=note,
        reviewer="Rita Reviewer",
        labelled_at=datetime.now(UTC),
        git_sha=None,
        source="terminal",
    )


def test_reviewed_trials_carry_the_human_verdict(workspace: Workspace, cli: Cli) -> None:
    assert cli("run")[0] == 1
    run_id = latest_run(workspace)
    labels = [
        # the machine passed it; the human did not: this exact answer must fail again
        label(workspace, run_id, "refund", passed=False, note="Say which form to fill in."),
        # the machine failed it; the human approved the answer: it must pass again
        label(workspace, run_id, "shipping", passed=True),
    ]
    with Store.open(workspace.db) as store:
        record_labels(store.con, labels)

    code, out = cli("promote", run_id, "--reviewed")
    assert code == 0, out
    assert "2 reviewed trials; added 2 cases" in out
    cases = regression_cases(workspace)
    assert set(cases) == {"refund", "shipping"}

    approved = cases["shipping"]
    assert approved.expected == "I am not sure."
    # the source grader the human overruled is gone; the approved answer is the check
    assert [(g.name, g.negate, g.metric) for g in approved.graders] == [
        ("similarity", False, "approved-output")
    ]
    assert approved.metadata["reviewed_by"] == ["Rita Reviewer"]

    rejected = cases["refund"]
    assert rejected.expected == "30 days"  # the source expectation stays
    assert [(g.name, g.negate, g.value) for g in rejected.graders][:2] == [
        ("icontains", False, None),
        ("equals", True, "Refunds are accepted within 30 days."),
    ]
    rubric = rejected.graders[2]
    assert rubric.name == "llm-rubric" and "Say which form to fill in." in str(rubric.value)
    assert rejected.metadata["rejected_output"] == "Refunds are accepted within 30 days."
    assert rejected.metadata["reviewer_note"] == "Say which form to fill in."

    kinds = workspace.sql("SELECT case_id, reason, expectation FROM promotions")
    by_case = {str(c): json.loads(str(e))["kind"] for c, _, e in kinds}
    assert by_case == {approved.id: "human-pass", rejected.id: "human-fail"}
    assert {r[1] for r in kinds} == {"reviewed"}

    code, out = cli("run", "--filter", "regressions/*")
    result = statuses(workspace, latest_run(workspace))
    assert result[approved.id] == "pass", out
    assert result[rejected.id] == "fail", out
    grades = workspace.sql(
        "SELECT metric, status FROM grades WHERE run_id = ? AND trial_id LIKE ?",
        [latest_run(workspace), f"regressions/{rejected.id}@%"],
    )
    # no judge here: the note's rubric is skipped, and the rejected answer alone fails it
    assert sorted((str(m), str(s)) for m, s in grades) == [
        ("icontains", "pass"),
        ("rejected-output", "fail"),
        ("reviewer-note", "skipped"),
    ]


def test_nothing_to_promote_and_bad_flags(workspace: Workspace, cli: Cli) -> None:
    code, out = cli("promote", "--failing")
    assert code == 4 and "no runs recorded yet" in out
    assert cli("run")[0] == 1
    code, out = cli("promote")
    assert code == 4 and "--failing or --reviewed" in out
    code, out = cli("promote", "--failing", "--reviewed")
    assert code == 4
    code, out = cli("promote", "--reviewed")
    assert code == 0 and "0 reviewed trials; added 0 cases" in out
    assert "run them" not in out  # no suite was written: nothing to run
    assert not (workspace.root / REGRESSIONS).exists()
    code, out = cli("promote", "--failing", "--target", "nope*")
    assert code == 0 and "0 failing trials" in out


def test_dry_run_and_a_custom_suite(workspace: Workspace, cli: Cli) -> None:
    assert cli("run")[0] == 1
    code, out = cli("promote", "--failing", "--dry-run", "--suite", "suites/pinned.yaml")
    assert code == 0, out
    assert "would add 1 cases to suites/pinned.yaml" in out
    assert not (workspace.root / "suites" / "pinned.yaml").exists()
    assert workspace.sql("SELECT count(*) FROM promotions") == [(0,)]
    code, out = cli("promote", "--failing", "--suite", "suites/pinned.yaml")
    assert code == 0, out
    text = (workspace.root / "suites" / "pinned.yaml").read_text()
    assert text.startswith("# Regression cases written by `evalkit promote`")
    assert "name: pinned" in text


@pytest.mark.parametrize("suite", ["../outside.yaml", "suites/notes.txt"])
def test_the_suite_must_be_a_yaml_file_in_the_workspace(
    workspace: Workspace, cli: Cli, suite: str
) -> None:
    assert cli("run")[0] == 1
    code, out = cli("promote", "--failing", "--suite", suite)
    assert code == 4, out


def test_a_failing_case_keeps_its_threshold_read_from_its_suite(
    workspace: Workspace, cli: Cli
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\n"
        "cases:\n"
        "  - id: shipping\n"
        '    vars: {question: "How long does shipping take?"}\n'
        "    threshold: 0.5\n"
        "    graders:\n"
        "      - {type: icontains, value: days}\n"
        "      - {type: icontains, value: sure, weight: 0.5}\n"
    )
    assert cli("run")[0] == 1  # 0.5 / 1.5 of the weight passes: below 0.5
    code, out = cli("promote", "--failing")
    assert code == 0, out
    (case,) = regression_cases(workspace).values()
    assert case.threshold == 0.5
    assert [(g.value, g.weight) for g in case.graders] == [("days", 1.0), ("sure", 0.5)]


def test_a_large_output_stored_out_of_line_is_promoted_whole(
    workspace: Workspace, cli: Cli
) -> None:
    long_answer = "".join(f"line {i}: not about shipping\n" for i in range(3000))  # ~80 KB
    (workspace.root / "system.py").write_text(f"def answer(case):\n    return {long_answer!r}\n")
    assert cli("run", "--filter", "shipping")[0] == 1
    code, out = cli("promote", "--failing")
    assert code == 0, out
    (case,) = regression_cases(workspace).values()
    assert case.metadata["failed_output"] == long_answer
