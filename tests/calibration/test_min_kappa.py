"""A plan's `calibration:` minimum kappa: validated like every plan key, checked at the
end of a run against labels for the same judge version, warned about, never gating."""

from __future__ import annotations

import json

from tests.calibration.conftest import judged_suite, label
from tests.graders.judge.conftest import Cli, JudgeWorkspace

JUDGE = {f"p{i:02d}": True for i in range(10)} | {f"f{i:02d}": False for i in range(10)}


def _summary(ws: JudgeWorkspace) -> dict[str, object]:
    raw = ws.sql("SELECT summary FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    return dict(json.loads(raw))


def _latest(ws: JudgeWorkspace) -> str:
    return str(ws.sql("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])


def test_below_the_minimum_warns_records_and_shows_but_does_not_gate(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    judged_suite(ws, JUDGE)
    ws.plan(extra="calibration: {min_kappa: 0.8, min_labels: 10}\n")
    code, out = cli("run")
    assert "'llm-rubric' has no labels for this judge version yet" in out
    assert _summary(ws)["calibration"]["llm-rubric"]["status"] == "no_labels"  # type: ignore[index]
    first = _latest(ws)
    # humans disagree with 6 of 20 verdicts: kappa 0.4
    flipped = {"p00", "p01", "p02", "f00", "f01", "f02"}
    label(ws, first, [(c, 1, JUDGE[c] != (c in flipped)) for c in JUDGE])
    code_again, out = cli("run")
    assert code_again == code  # a warning, not a gate: the exit code is the run's own
    assert "'llm-rubric' agrees with human labels at kappa 0.40" in out
    assert "below the plan's minimum 0.80" in out
    entry = _summary(ws)["calibration"]["llm-rubric"]  # type: ignore[index]
    assert entry["status"] == "below" and entry["n"] == 20 and entry["min_kappa"] == 0.8
    assert abs(entry["kappa"] - 0.4) < 1e-9
    code, out = cli("show")
    assert "judge calibration llm-rubric: kappa 0.40" in out
    assert "BELOW the plan's minimum 0.80" in out
    # a changed rubric is a new judge version: the old labels do not vouch for it
    judged_suite(ws, JUDGE, rubric="Mentions 31 days")
    code, out = cli("run")
    assert "no labels for this judge version yet" in out
    assert "below the plan's minimum" not in out


def test_too_few_labels_is_not_a_false_alarm_and_per_grader_minimums_win(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    judged_suite(ws, JUDGE)
    ws.plan(extra="calibration: {min_kappa: 0.1, graders: {llm-rubric: 0.95}}\n")
    cli("run")
    label(ws, _latest(ws), [("p00", 1, False), ("f00", 1, False), ("f01", None, True)])
    _code, out = cli("run")
    assert "3 labelled grades for this judge version, too few labels to check" in out
    entry = _summary(ws)["calibration"]["llm-rubric"]  # type: ignore[index]
    assert entry["status"] == "too_few" and entry["min_kappa"] == 0.95
    assert entry["min_labels"] == 20


def test_without_the_key_only_a_real_problem_is_mentioned(ws: JudgeWorkspace, cli: Cli) -> None:
    judged_suite(ws, {"p00": True, "f00": False})
    ws.plan()
    _code, out = cli("run")
    assert "judge calibration" not in out  # no minimum, no labels: nothing to say
    assert _summary(ws)["calibration"]["llm-rubric"]["status"] == "no_labels"  # type: ignore[index]


def test_the_plan_key_is_validated_where_it_is_written(ws: JudgeWorkspace, cli: Cli) -> None:
    judged_suite(ws, {"p00": True})
    ws.plan(extra="calibration:\n  min_kappa: true\n  min_labels: 0\n  grader: {}\n")
    code, out = cli("validate")
    assert code == 4, out
    assert "evals/plan.yaml:10:3 calibration.min_kappa: expected a number, got true" in out
    assert "evals/plan.yaml:11:3 calibration.min_labels" in out
    assert "'grader' (did you mean 'graders'?)" in out
    ws.plan(extra="calibration: {min_kappa: 1.5}\n")
    code, out = cli("validate")
    assert code == 4 and "calibration.min_kappa" in out and "1" in out
