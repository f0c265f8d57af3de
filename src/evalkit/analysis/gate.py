"""The plan's gate: whether a run (and its comparison with a baseline) is good enough.

Rules on the run alone (pass-rate minimums, must-pass cases) and rules on a comparison
(regressions beyond noise, a significant drop beyond a tolerance) are checked here;
every broken rule gives one reason in words, so CI logs say exactly why a gate failed.

The comparison rules are one family of tests: every suite x target x metric that
`max_drop` watches and every suite x target that `max_regressions` watches. Holm's
step-down procedure keeps the chance that any of them fails on pure noise at
1 - confidence (5%), however many groups the plan has; tests/benchmarks/bench_gate_sim.py
measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from evalkit.analysis.compare import PASS_METRIC, CaseChange, Comparison, GroupComparison
from evalkit.analysis.distributions import binom_half_sf
from evalkit.analysis.stats import CaseInterval, noise_regressions

if TYPE_CHECKING:  # the workspace's pydantic models load only where a gate is read
    from evalkit.workspace.models import GateSpec

Rates = dict[tuple[str, str, str | None], tuple[int, int]]  # (suite,target,prompt)->(ok,n)
Outcomes = dict[str, list[str]]  # "suite/case" -> the statuses of its trials
Intervals = dict[tuple[str, str, str | None], CaseInterval]  # the run table's intervals

REGRESSIONS_LISTED = 10


@dataclass(slots=True)
class GateResult:
    """Whether the run met its plan's gate, with every reason it did not."""

    configured: bool
    passed: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that could not be checked, and why
    tests: int = 0  # comparison tests in the gate's family (Holm-adjusted together)


def has_rate_rules(spec: GateSpec) -> bool:
    """Whether the gate sets any pass-rate minimum (what `evalkit run` always applies)."""
    return spec.min_pass_rate is not None or any(
        s.min_pass_rate is not None for s in spec.suites.values()
    )


def has_comparison_rules(spec: GateSpec) -> bool:
    """Whether the gate needs a baseline to be checked."""
    return spec.max_regressions is not None or spec.max_drop is not None


def has_security_rules(spec: GateSpec) -> bool:
    """Whether the gate limits attack success or false alarms (see `analysis.security`)."""
    return spec.max_attack_success is not None or spec.max_false_alarms is not None


def is_configured(spec: GateSpec) -> bool:
    """Whether the plan declares any gate rule at all."""
    return (
        has_rate_rules(spec)
        or bool(spec.must_pass)
        or has_comparison_rules(spec)
        or has_security_rules(spec)
    )


def apply_rates(spec: GateSpec, rates: Rates, intervals: Intervals | None = None) -> GateResult:
    """The pass-rate rules only: what `evalkit run` decides its exit code by."""
    if not has_rate_rules(spec):
        return GateResult(configured=False, passed=True)
    reasons = rate_reasons(spec, rates, intervals)
    return GateResult(configured=True, passed=not reasons, reasons=reasons)


def evaluate(
    spec: GateSpec,
    rates: Rates,
    outcomes: Outcomes,
    comparison: Comparison | None,
    *,
    no_comparison_because: str = "no baseline to compare with",
    intervals: Intervals | None = None,
) -> GateResult:
    """Every rule of the gate; comparison rules are noted as unchecked without a baseline."""
    reasons = rate_reasons(spec, rates, intervals) + must_pass_reasons(spec, outcomes)
    notes: list[str] = []
    tests = 0
    if comparison is not None:
        found, tests, skipped = _comparison_checks(spec, comparison)
        reasons += found
        notes += skipped
    elif has_comparison_rules(spec):
        notes.append(f"{no_comparison_because}: max_regressions and max_drop were not checked")
    return GateResult(
        configured=is_configured(spec),
        passed=not reasons,
        reasons=reasons,
        notes=notes,
        tests=tests,
    )


def rate_reasons(spec: GateSpec, rates: Rates, intervals: Intervals | None = None) -> list[str]:
    """One reason per suite x target whose pass rate (or its lower bound) is below its minimum.

    With `min_pass_rate_of: lower_bound` the lower end of the run table's case-level
    interval must reach the minimum; without the intervals the estimate is used.
    """
    reasons = []
    for (suite, target, prompt), (ok, n) in rates.items():
        per_suite = spec.suites.get(suite)
        minimum = (
            per_suite.min_pass_rate
            if per_suite is not None and per_suite.min_pass_rate is not None
            else spec.min_pass_rate
        )
        if minimum is None or not n:
            continue
        interval = (intervals or {}).get((suite, target, prompt))
        name = f"{target}[{prompt}]" if prompt else target
        where = f"gate.suites.{suite}.min_pass_rate" if per_suite else "the gate's min_pass_rate"
        if spec.min_pass_rate_of == "lower_bound" and interval is not None:
            if interval.low >= minimum:
                continue
            reasons.append(
                f"{suite} x {name}: pass rate {ok / n:.1%} ({ok}/{n}), lower bound "
                f"{interval.low:.1%} ({interval.label()}) is below {where} {minimum:.0%}"
            )
            continue
        if ok / n >= minimum:
            continue
        reasons.append(
            f"{suite} x {name}: pass rate {ok / n:.1%} ({ok}/{n}) is below {where} {minimum:.0%}"
        )
    return reasons


def must_pass_reasons(spec: GateSpec, outcomes: Outcomes) -> list[str]:
    """One reason per must-pass pattern with a trial that did not pass, or no trial at all."""
    reasons = []
    for pattern in spec.must_pass:
        matched = [case for case in outcomes if _matches(pattern, case)]
        if not matched:
            reasons.append(f"must-pass case '{pattern}' did not run (check the id and filters)")
            continue
        for case in sorted(matched):
            bad = [s for s in outcomes[case] if s not in ("pass", "skipped")]
            if bad:
                reasons.append(
                    f"must-pass case {case}: {len(bad)} of {len(outcomes[case])} trials "
                    f"did not pass ({', '.join(sorted(set(bad)))})"
                )
    return reasons


def _matches(pattern: str, case: str) -> bool:
    # "refund" names the case in any suite; "support/refund" (or a glob) names it exactly
    return fnmatchcase(case, pattern) or ("/" not in pattern and fnmatchcase(case, f"*/{pattern}"))


def comparison_reasons(spec: GateSpec, comparison: Comparison) -> list[str]:
    """Regressions beyond noise, or a significant drop beyond the tolerance, in words."""
    return _comparison_checks(spec, comparison)[0]


@dataclass(frozen=True, slots=True)
class _Test:
    p: float
    group: GroupComparison
    metric: str  # a drop_metrics name, or "" for the regression count


def _comparison_checks(spec: GateSpec, comparison: Comparison) -> tuple[list[str], int, list[str]]:
    """(reasons, tests in the family, notes) for the comparison rules, Holm-adjusted."""
    alpha = 1.0 - spec.confidence
    family: list[_Test] = []
    notes: list[str] = []
    for group in comparison.groups:
        if spec.max_drop is not None:
            for name in spec.drop_metrics:
                metric = group.metric(name)
                if metric is not None and not math.isnan(metric.p_drop):
                    family.append(_Test(metric.p_drop, group, name))
        if spec.max_regressions is not None:
            p, why = _excess_p(group, spec.max_regressions)
            if p is None:
                notes.append(f"{group.name}: max_regressions not checked: {why}")
            else:
                family.append(_Test(p, group, ""))
    rejected = dict((id(test), level) for test, level in _holm(family, alpha))
    reasons = [  # regressions first, then drops, each in the comparison's group order
        _regression_reason(spec, comparison, test.group, rejected[id(test)])
        for test in family
        if not test.metric and id(test) in rejected
    ]
    for test in family:
        if test.metric and id(test) in rejected:
            reasons += _drop_reason(spec, comparison, test.group, test.metric)
    return reasons, len(family), notes


def _holm(family: list[_Test], alpha: float) -> list[tuple[_Test, float]]:
    """The tests Holm's step-down rejects, each with the level it was tested at."""
    rejected = []
    ordered = sorted(family, key=lambda t: t.p)
    for i, test in enumerate(ordered):
        level = alpha / (len(ordered) - i)
        if test.p > level:
            break
        rejected.append((test, level))
    return rejected


def _excess_p(group: GroupComparison, allowed: int) -> tuple[float | None, str]:
    """One-sided exact p that more than `allowed` regressions are beyond noise (or why not)."""
    if group.base_epochs != group.candidate_epochs:
        return None, (
            f"the runs have {group.base_epochs} and {group.candidate_epochs} epochs, and "
            "cases move unevenly between different epoch counts (max_drop still applies)"
        )
    metric = group.metric(PASS_METRIC)
    if metric is None:
        return 1.0, ""
    if metric.paired.clusters != metric.paired.n:
        return None, (
            "cases share clusters, so their moves are not independent and a count of them "
            "has no known false-alarm rate (max_drop's clustered test still applies)"
        )
    # under "no change" each case that moved is as likely to fall as to rise (McNemar;
    # with epochs, a sign test on the cases' pass shares)
    return binom_half_sf(metric.regressed - allowed, metric.regressed + metric.fixed), ""


def _drop_reason(
    spec: GateSpec, comparison: Comparison, group: GroupComparison, name: str
) -> list[str]:
    metric = group.metric(name)
    assert metric is not None and spec.max_drop is not None  # only tested metrics get here
    p = metric.paired
    drop = -p.difference
    if drop <= spec.max_drop:
        return []  # significant but within the tolerance
    return [
        f"{group.name}: {name} dropped {p.base_mean:.3f} -> {p.candidate_mean:.3f} "
        f"({p.difference:+.3f}, {metric.label(comparison.confidence)}: "
        f"{p.ci_low:+.3f} to {p.ci_high:+.3f}; {metric.test} one-sided p={metric.p_drop:.2g}), "
        f"a significant drop beyond the gate's max_drop {spec.max_drop:g} "
        f"(Holm-adjusted, family-wise {1 - spec.confidence:.0%})"
    ]


def _regression_reason(
    spec: GateSpec, comparison: Comparison, group: GroupComparison, level: float
) -> str:
    metric = group.metric(PASS_METRIC)
    assert metric is not None  # _excess_p gives 1.0 without it, never rejected
    moved = metric.regressed + metric.fixed
    explained = noise_regressions(moved, level)
    listed: list[CaseChange] = [
        c
        for c in comparison.regressions
        if (c.suite, c.target_id, c.prompt_id) == (group.suite, group.target_id, group.prompt_id)
    ]
    names = ", ".join(c.name for c in listed[:REGRESSIONS_LISTED])
    more = (
        f" and {len(listed) - REGRESSIONS_LISTED} more" if len(listed) > REGRESSIONS_LISTED else ""
    )
    return (
        f"{group.name}: {metric.regressed} cases regressed and {metric.fixed} fixed; noise "
        f"explains up to {explained} of {moved} moves at the gate's Holm-adjusted level "
        f"{level:.2g}, so {metric.regressed - explained} are beyond noise, more than the "
        f"gate's max_regressions {spec.max_regressions}: {names}{more}"
    )
