"""The plan's gate: whether a run (and its comparison with a baseline) is good enough.

Rules on the run alone (pass-rate minimums, must-pass cases) and rules on a comparison
(regressions, a significant drop beyond a tolerance) are checked here; every broken
rule gives one reason in words, so CI logs say exactly why a gate failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from evalkit.analysis.compare import Comparison
from evalkit.workspace.models import GateSpec

Rates = dict[tuple[str, str, str | None], tuple[int, int]]  # (suite,target,prompt)->(ok,n)
Outcomes = dict[str, list[str]]  # "suite/case" -> the statuses of its trials

REGRESSIONS_LISTED = 10


@dataclass(slots=True)
class GateResult:
    """Whether the run met its plan's gate, with every reason it did not."""

    configured: bool
    passed: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that could not be checked, and why


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


def apply_rates(spec: GateSpec, rates: Rates) -> GateResult:
    """The pass-rate rules only: what `evalkit run` decides its exit code by."""
    if not has_rate_rules(spec):
        return GateResult(configured=False, passed=True)
    reasons = rate_reasons(spec, rates)
    return GateResult(configured=True, passed=not reasons, reasons=reasons)


def evaluate(
    spec: GateSpec,
    rates: Rates,
    outcomes: Outcomes,
    comparison: Comparison | None,
    *,
    no_comparison_because: str = "no baseline to compare with",
) -> GateResult:
    """Every rule of the gate; comparison rules are noted as unchecked without a baseline."""
    reasons = rate_reasons(spec, rates) + must_pass_reasons(spec, outcomes)
    notes: list[str] = []
    if comparison is not None:
        reasons += comparison_reasons(spec, comparison)
    elif has_comparison_rules(spec):
        notes.append(f"{no_comparison_because}: max_regressions and max_drop were not checked")
    return GateResult(
        configured=is_configured(spec), passed=not reasons, reasons=reasons, notes=notes
    )


def rate_reasons(spec: GateSpec, rates: Rates) -> list[str]:
    """One reason per suite x target whose pass rate is below its minimum."""
    reasons = []
    for (suite, target, prompt), (ok, n) in rates.items():
        per_suite = spec.suites.get(suite)
        minimum = (
            per_suite.min_pass_rate
            if per_suite is not None and per_suite.min_pass_rate is not None
            else spec.min_pass_rate
        )
        if minimum is None or not n or ok / n >= minimum:
            continue
        name = f"{target}[{prompt}]" if prompt else target
        where = f"gate.suites.{suite}.min_pass_rate" if per_suite else "the gate's min_pass_rate"
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
    """Too many regressions, or a significant drop beyond the tolerance, in words."""
    reasons = []
    regressions = comparison.regressions
    if spec.max_regressions is not None and len(regressions) > spec.max_regressions:
        names = ", ".join(c.name for c in regressions[:REGRESSIONS_LISTED])
        more = f" and {len(regressions) - REGRESSIONS_LISTED} more" if len(regressions) > 10 else ""
        reasons.append(
            f"{len(regressions)} cases regressed (pass -> fail), more than the gate's "
            f"max_regressions {spec.max_regressions}: {names}{more}"
        )
    if spec.max_drop is None:
        return reasons
    for group in comparison.groups:
        for metric_name in spec.drop_metrics:
            metric = group.metric(metric_name)
            if metric is None or metric.verdict != "significant regression":
                continue
            drop = -metric.paired.difference
            if drop > spec.max_drop:
                p = metric.paired
                reasons.append(
                    f"{group.name}: {metric_name} dropped {p.base_mean:.3f} -> "
                    f"{p.candidate_mean:.3f} ({p.difference:+.3f}, "
                    f"{comparison.confidence:.0%} CI {p.ci_low:+.3f} to {p.ci_high:+.3f}, "
                    f"n={p.n}), a significant drop beyond the gate's max_drop {spec.max_drop:g}"
                )
    return reasons
