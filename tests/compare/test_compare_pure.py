"""compare.py and gate.py on hand-built trial rows: epochs, flaky cases, clusters, rules."""

from __future__ import annotations

import math

import pytest

from evalkit.analysis.compare import compare
from evalkit.analysis.gate import evaluate
from evalkit.analysis.stats import paired_difference
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
    assert [c.name for c in result.regressions] == ["s/a@t"]  # majority: pass -> fail
    assert result.fixes == []  # b passed by majority in both
    assert result.flaky == ["base: s/b@t", "candidate: s/a@t"]
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
        max_regressions=3,
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
    assert "10 cases regressed" in text
    assert "pass dropped 1.000 -> 0.500" in text
    no_base = evaluate(GateSpec(max_regressions=0), {}, {}, None)
    assert no_base.passed and no_base.notes and math.isfinite(len(no_base.notes))
