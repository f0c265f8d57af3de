"""`evalkit calibrate` on a real judged run: the pairs, which label is the truth, kappa
against statsmodels, judge versions over time, and exit 5 with nothing labelled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from tests.calibration.conftest import judged_suite, label
from tests.graders.judge.conftest import Cli, JudgeWorkspace

# 24 cases: the judge passes p00..p11 and fails f00..f11
JUDGE = {f"p{i:02d}": True for i in range(12)} | {f"f{i:02d}": False for i in range(12)}


def _latest(ws: JudgeWorkspace) -> str:
    return str(ws.sql("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0])


def _human_truth() -> dict[str, bool]:
    """Humans agree except on p10, p11 (real failures the judge missed) and f09..f11
    (false alarms): the table [[10, 2], [3, 9]]."""
    truth = {case: passed for case, passed in JUDGE.items()}
    for case in ("p10", "p11"):
        truth[case] = False
    for case in ("f09", "f10", "f11"):
        truth[case] = True
    return truth


def _calibrate(cli: Cli, *args: str) -> tuple[int, dict[str, object]]:
    code, out = cli("calibrate", "--json", *args)
    return code, json.loads(out)


def test_kappa_confusion_and_where_each_truth_came_from(ws: JudgeWorkspace, cli: Cli) -> None:
    judged_suite(ws, JUDGE)
    ws.plan()
    code, out = cli("run")
    assert code == 1, out  # the judge failed 12 cases
    run_id = _latest(ws)
    truth = _human_truth()
    cases = sorted(truth)
    # half labelled on the judged grade (idx 1), half on the whole trial
    label(ws, run_id, [(c, 1, truth[c]) for c in cases[:12]])
    label(ws, run_id, [(c, None, truth[c]) for c in cases[12:]])
    # a grade label beats the trial label on the same trial: p00's trial says fail
    # (say, for the rule grader's sake) but its judged grade was labelled pass
    label(ws, run_id, [("p00", 1, True), ("p00", None, False)], reviewer="bo", minutes=5)
    # a retraction withdraws the trial's label: p05 (labelled on the trial only) drops out
    ws_con_retract(ws, run_id, "p05")

    code, data = _calibrate(cli)
    assert code == 0
    (metric,) = data["metrics"]  # type: ignore[misc]
    assert metric["metric"] == "llm-rubric"
    overall = metric["overall"]
    assert overall["confusion"] == {"both_pass": 9, "missed": 2, "false_alarm": 3, "both_fail": 9}
    assert overall["n"] == 23  # p05's only label was retracted
    reference = cohens_kappa(np.array([[9, 2], [3, 9]], dtype=float))
    assert overall["kappa"]["value"] == pytest.approx(reference.kappa)
    assert overall["kappa"]["se"] == pytest.approx(reference.std_kappa)
    assert overall["kappa"]["low"] == pytest.approx(reference.kappa_low)
    assert overall["fail_recall"]["value"] == pytest.approx(9 / 11)
    assert overall["fail_precision"]["value"] == pytest.approx(9 / 12)
    assert overall["from_grade"] == 13  # f00..f11 on the grade, and p00's grade label
    assert overall["from_trial"] == 23 - overall["from_grade"]
    assert overall["reviewers"] == ["ana", "bo"]

    code, out = cli("calibrate")
    assert code == 0
    assert "llm-rubric · 23 pairs (13 labelled on the grade, 10 from the trial's label)" in out
    assert f"{reference.kappa:.2f} [{reference.kappa_low:.2f}, {reference.kappa_upp:.2f}]" in out, (
        out
    )
    assert "rough" in out  # fewer than 30 pairs: the interval is flagged


def ws_con_retract(ws: JudgeWorkspace, run_id: str, case_id: str) -> None:
    """Retract the newest trial-level label on case_id, as a reviewer would."""
    import duckdb

    from evalkit.store.labels import Label, record_labels

    con = duckdb.connect(str(ws.db))
    try:
        trial_id, case_hash = con.execute(
            "SELECT trial_id, case_hash FROM results WHERE run_id = ? AND case_id = ?",
            [run_id, case_id],
        ).fetchone()  # type: ignore[misc]
        from datetime import UTC, datetime

        record_labels(
            con,
            [
                Label(
                    run_id,
                    trial_id,
                    case_hash,
                    None,
                    None,
                    "retract",
                    None,
                    None,
                    None,
                    None,
                    None,
                    "bo",
                    datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
                    None,
                    "terminal",
                )
            ],
        )
    finally:
        con.close()


def test_versions_over_time_say_what_changed(ws: JudgeWorkspace, cli: Cli) -> None:
    judged_suite(ws, JUDGE)
    ws.plan()
    cli("run")
    first = _latest(ws)
    truth = _human_truth()
    label(ws, first, [(c, 1, truth[c]) for c in truth])
    cli("run")  # the same judge version again (cached judge calls, same rubric)
    judged_suite(ws, JUDGE, rubric="Mentions 31 days")
    cli("run")
    third = _latest(ws)
    label(ws, third, [(c, 1, JUDGE[c]) for c in JUDGE])  # humans agree with every verdict
    code, data = _calibrate(cli)
    assert code == 0
    (metric,) = data["metrics"]  # type: ignore[misc]
    v1, v2 = metric["versions"]
    assert len(v1["runs"]) == 2 and v1["n"] == 24 and v1["changes"] == []
    assert v2["runs"] == [third] and v2["kappa"]["value"] == pytest.approx(1.0)
    assert v2["changes"] == ["grader config (rubric/template/args) changed: 1 new, 1 gone"]
    assert metric["overall"]["n"] == 48
    # --run narrows to one run, --grader to one metric
    code, data = _calibrate(cli, "--run", first)
    assert [len(m["versions"]) for m in data["metrics"]] == [1]  # type: ignore[union-attr]
    code, out = cli("calibrate", "--grader", "icontains")
    assert code == 5 and "evalkit review --grader icontains" in out
    # --since and --plan narrow which runs count
    assert _calibrate(cli, "--since", "2000-01-01")[1]["metrics"][0]["overall"]["n"] == 48  # type: ignore[index]
    assert _calibrate(cli, "--since", "2999-01-01") == (5, {"metrics": []})
    assert _calibrate(cli, "--plan", "judged")[0] == 0
    assert _calibrate(cli, "--plan", "other")[0] == 5


def test_nothing_labelled_exits_5_and_says_how_to_label(ws: JudgeWorkspace, cli: Cli) -> None:
    judged_suite(ws, {"p00": True, "f00": False})
    ws.plan()
    cli("run")
    code, out = cli("calibrate")
    assert code == 5
    assert "evalkit review --grader NAME" in out
    code, out = cli("calibrate", "--since", "27/11/2026")
    assert code == 4 and "YYYY-MM-DD" in out
