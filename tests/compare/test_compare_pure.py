"""compare.py and gate.py on hand-built trial rows: epochs, flaky cases, clusters, rules."""

from __future__ import annotations

import math

import pytest

from evalkit.analysis.compare import compare
from evalkit.analysis.gate import evaluate
from evalkit.analysis.stats import case_rate_interval, paired_difference
from evalkit.records import TrialRow
from evalkit.workspace.models import GateSpec


def _rows(
    outcomes: dict[str, list[bool]], *, cluster: dict[str, str] | None = None
) -> list[TrialRow]:
    rows = []
    for case, epochs in outcomes.items():
        for epoch, ok in enumerate(epochs):
            rows.append(
                TrialRow(
                    suite="s",
                    case_id=case,
                    case_hash=f"sha256:{case}",
                    target_id="t",
                    prompt_id=None,
                    epoch=epoch,
                    status="pass" if ok else "fail",
                    score=1.0 if ok else 0.0,
                    cluster=(cluster or {}).get(case),
                    grades={"exact": (1.0 if ok else 0.0, ok)},
                )
            )
    return rows


def test_epochs_compare_case_means_and_flaky_cases_are_listed() -> None:
    base = _rows({"a": [True, True, True], "b": [True, False, True], "c": [False] * 3})
    cand = _rows({"a": [True, False, False], "b": [True, True, True], "c": [False] * 3})
    result = compare("B", base, "C", cand)
    group = result.groups[0]
    score = group.metric("score")
    assert score is not None
    assert score.paired.base_mean == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert score.paired.candidate_mean == pytest.approx((1 / 3 + 1 + 0) / 3)
    # by their share of passing epochs: a fell 3/3 -> 1/3, b rose 2/3 -> 3/3 (no majority
    # votes, whose ties made false flips)
    assert [c.name for c in result.regressions] == ["s/a@t"]
    assert [c.name for c in result.fixes] == ["s/b@t"]
    assert result.flaky == [
        "base: s/b@t (2/3 epochs passed)",
        "candidate: s/a@t (1/3 epochs passed)",
    ]
    assert result.unconfirmed_flaky == 0
    # by chance: each run passes 5 of 9 trials; a case of 3 coin flips at 5/9 disagrees
    # with probability 1 - (5/9)**3 - (4/9)**3, and there are 3 cases in each run
    by_chance = 2 * 3 * (1 - (5 / 9) ** 3 - (4 / 9) ** 3)
    assert result.flaky_by_chance == pytest.approx(by_chance)
    assert result.flaky_note == (
        f"2 listed; about {by_chance:.0f} would be by chance alone, if every trial of a "
        "suite x target passed at its pass rate"
    )
    # within-case variance of 0/1 over 3 epochs with one odd one out is 1/3
    assert group.base_within_variance == pytest.approx((0 + 1 / 3 + 0) / 3)
    assert group.candidate_epochs == 3
    assert group.metric("exact") is not None


def test_clusters_declared_by_cases_widen_the_interval() -> None:
    outcomes_b = {f"c{i}": [True] for i in range(12)}
    outcomes_c = {f"c{i}": [i >= 4] for i in range(12)}
    clusters = {f"c{i}": ("doc-a" if i < 4 else f"doc-{i}") for i in range(12)}
    clustered = compare("B", _rows(outcomes_b, cluster=clusters), "C", _rows(outcomes_c))
    plain = compare("B", _rows(outcomes_b), "C", _rows(outcomes_c))
    c_pass, p_pass = clustered.groups[0].metric("pass"), plain.groups[0].metric("pass")
    assert c_pass is not None and p_pass is not None
    assert c_pass.paired.clusters == 9 and p_pass.paired.clusters == 12
    assert c_pass.paired.stderr > p_pass.paired.stderr
    diffs = [-1.0] * 4 + [0.0] * 8
    expected = paired_difference(
        [1.0] * 12, [1.0 + d for d in diffs], [clusters[f"c{i}"] for i in range(12)]
    )
    assert c_pass.paired.stderr == pytest.approx(expected.stderr)


def test_errors_count_as_failures_and_skips_are_left_out() -> None:
    base = _rows({"a": [True], "b": [True]})
    cand = [
        TrialRow("s", "a", "sha256:a", "t", None, 0, "error", None),
        TrialRow("s", "b", "sha256:b", "t", None, 0, "skipped", None),
    ]
    result = compare("B", base, "C", cand)
    assert [c.name for c in result.regressions] == ["s/a@t"]
    assert len(result.cases) == 1


def test_gate_rules_each_give_their_own_reason() -> None:
    base = _rows({f"c{i}": [True] for i in range(20)})
    cand = _rows({f"c{i}": [i >= 10] for i in range(20)})
    comparison = compare("B", base, "C", cand)
    spec = GateSpec(
        min_pass_rate=0.9,
        suites={"s": {"min_pass_rate": 0.6}},  # type: ignore[dict-item]
        must_pass=["c0", "s/c15", "missing-case"],
        max_regressions=1,  # regressions beyond what noise explains, not a raw count
        max_drop=0.1,
    )
    outcomes = {f"s/c{i}": ["pass" if i >= 10 else "fail"] for i in range(20)}
    result = evaluate(spec, {("s", "t", None): (10, 20)}, outcomes, comparison)
    assert not result.passed
    text = "\n".join(result.reasons)
    assert "below gate.suites.s.min_pass_rate 60%" in text  # the suite's own minimum wins
    assert "must-pass case s/c0: 1 of 1 trials did not pass (fail)" in text
    assert "s/c15" not in text
    assert "must-pass case 'missing-case' did not run" in text
    assert "10 cases regressed and 0 fixed" in text and "beyond noise" in text
    assert "pass dropped 1.000 -> 0.500" in text
    no_base = evaluate(GateSpec(max_regressions=0), {}, {}, None)
    assert no_base.passed and no_base.notes and math.isfinite(len(no_base.notes))


def _group_rows(groups: int, outcomes: dict[str, list[bool]]) -> list[TrialRow]:
    rows = []
    for g in range(groups):
        for row in _rows(outcomes):
            rows.append(
                TrialRow(
                    **{
                        **{f: getattr(row, f) for f in row.__dataclass_fields__},
                        "target_id": f"t{g}",
                    }
                )
            )
    return rows


def test_the_gate_adjusts_for_every_group_it_tests_holm() -> None:
    # 40 cases, 9 regress and 1 is fixed: McNemar one-sided p = 0.0107
    base = {f"c{i}": [True] if i < 30 else [False] for i in range(40)}
    cand = {f"c{i}": [i >= 9 and i != 39] if i < 30 else [i == 39] for i in range(40)}
    spec = GateSpec(max_drop=0.0)
    one = evaluate(spec, {}, {}, compare("B", _rows(base), "C", _rows(cand)))
    assert not one.passed and one.tests == 1  # alone: 0.0107 < 0.05
    # the same drop in one of 6 groups: tested at 0.05 / 6 = 0.0083, it is not enough
    six_base = _group_rows(1, base) + [r for r in _group_rows(6, base) if r.target_id != "t0"]
    six_cand = _group_rows(1, cand) + [r for r in _group_rows(6, base) if r.target_id != "t0"]
    six = evaluate(spec, {}, {}, compare("B", six_base, "C", six_cand))
    assert six.tests == 6 and six.passed, six.reasons


def test_mcnemar_only_where_exact_and_other_metrics_get_case_level_tests() -> None:
    base = _rows({f"c{i}": [True, True, False] for i in range(30)})
    cand = _rows({f"c{i}": [True, False, False] for i in range(30)})
    result = compare("B", base, "C", cand)
    pass_metric = result.groups[0].metric("pass")
    assert pass_metric is not None
    # 3 epochs: the paired test on case means uses every epoch, not majority votes
    assert pass_metric.test != "McNemar exact" and math.isnan(pass_metric.mcnemar_p)
    assert pass_metric.verdict == "significant regression"
    assert pass_metric.label(0.95) == "95% CI over 30 cases, 3 epochs each"
    one_epoch = compare(
        "B", _rows({"a": [True], "b": [False]}), "C", _rows({"a": [True], "b": [True]})
    )
    m = one_epoch.groups[0].metric("pass")
    assert m is not None and m.test == "McNemar exact" and m.verdict == "too few to tell"


def test_different_epoch_counts_do_not_make_false_flips() -> None:
    # every case passes 1 of 2 epochs in the candidate and passed its 1 base epoch or not
    base = _rows({f"c{i}": [i % 2 == 0] for i in range(40)})
    cand = _rows({f"c{i}": [True, False] for i in range(40)})
    pass_metric = compare("B", base, "C", cand).groups[0].metric("pass")
    assert pass_metric is not None
    assert pass_metric.paired.difference == 0.0
    assert pass_metric.verdict == "no detectable change"
    gate = evaluate(
        GateSpec(max_regressions=0, max_drop=0.0), {}, {}, compare("B", base, "C", cand)
    )
    assert gate.passed and any("epochs" in note for note in gate.notes)


def test_min_pass_rate_can_check_the_lower_bound_of_the_interval() -> None:
    rates = {("s", "t", None): (85, 100)}
    interval = case_rate_interval([1.0] * 85 + [0.0] * 15)
    intervals = {("s", "t", None): interval}
    estimate = evaluate(GateSpec(min_pass_rate=0.8), rates, {}, None, intervals=intervals)
    bound = evaluate(
        GateSpec(min_pass_rate=0.8, min_pass_rate_of="lower_bound"), rates, {}, None,
        intervals=intervals,
    )  # fmt: skip
    assert estimate.passed
    assert not bound.passed and "lower bound 76.1% (95% CI over 100 cases)" in bound.reasons[0]
