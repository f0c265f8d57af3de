"""Which run to compare with, the comparison, and the gate over both: what
`evalkit compare` and `evalkit run --gate` share. Reads the store; never writes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb

from evalkit.analysis.case_table import from_columns
from evalkit.analysis.compare import Comparison, compare_table
from evalkit.analysis.gate import GateResult, evaluate
from evalkit.analysis.human_verdict import human_verdicts
from evalkit.analysis.security import with_security
from evalkit.analysis.summary import case_intervals
from evalkit.errors import UsageError
from evalkit.store import baselines, ci_rows
from evalkit.store.comparison_rows import trial_columns, trial_labels
from evalkit.store.queries import resolve_run
from evalkit.store.security_rows import security_trials

if TYPE_CHECKING:  # the workspace's pydantic models load only where a gate is read
    from evalkit.workspace.models import GateSpec


@dataclass(slots=True)
class Verdict:
    """The candidate run, what it was compared with (if anything), and the gate."""

    candidate_run: str
    base_run: str | None
    comparison: Comparison | None
    gate: GateResult | None
    notes: list[str] = field(default_factory=list)


def resolve_base(
    con: duckdb.DuckDBPyConnection, candidate: str, base_ref: str | None
) -> tuple[str | None, list[str]]:
    """The run to compare `candidate` with, and notes saying how it was chosen.

    A reference is tried as a baseline name, then as `key=value` (the newest run with
    that label), then as a run reference. With none, the plan's baseline is used, or
    else the plan's previous run.
    """
    plan = baselines.run_plan(con, candidate)
    if base_ref is not None:
        named = baselines.get_baseline(con, base_ref, plan)
        if named is not None:
            run = baselines.baseline_run(con, named, plan, exclude=candidate)
            if run is None:
                raise UsageError(
                    f"baseline '{named.name}' ({named.describes}) has no completed run of "
                    f"plan '{plan}' other than {candidate}",
                    hint="run the plan on that branch first, or pin a run: "
                    "evalkit baseline set RUN --name NAME",
                )
            return run, [f"baseline '{named.name}': {_points_at(named, run)}"]
        key, sep, value = base_ref.partition("=")
        if sep and key:
            run = baselines.label_run(con, plan, key.strip(), value.strip(), exclude=candidate)
            if run is None:
                raise UsageError(
                    f"no completed run of plan '{plan}' is labelled {base_ref} "
                    f"(other than {candidate})",
                    hint="label runs with `evalkit run --label key=value`",
                )
            return run, [f"newest run labelled {base_ref}: {run}"]
        return resolve_run(con, base_ref), []
    for named in baselines.plan_baselines(con, plan):
        run = baselines.baseline_run(con, named, plan, exclude=candidate)
        if run is not None and run != candidate:
            return run, [f"baseline '{named.name}' of plan '{plan}': {_points_at(named, run)}"]
    previous = baselines.previous_run(con, candidate)
    if previous is None:
        return None, [f"plan '{plan}' has no baseline and no earlier run to compare with"]
    return previous, [
        f"no baseline set for plan '{plan}': comparing with its previous run {previous} "
        "(set one with `evalkit baseline set RUN --name main`)"
    ]


def _points_at(named: baselines.Baseline, run: str) -> str:
    return named.describes if named.run_id else f"{named.describes} -> {run}"


def judge(
    con: duckdb.DuckDBPyConnection,
    candidate: str,
    base: str | None,
    gate_spec: GateSpec | None,
    confidence: float = 0.95,
) -> tuple[Comparison | None, GateResult | None]:
    """Compare `candidate` with `base` (when given) and apply `gate_spec` (when given)."""
    if gate_spec is not None:
        confidence = gate_spec.confidence
    comparison = None
    if base is not None and base != candidate:
        comparison = compare_runs(con, base, candidate, confidence)
    gate = None
    if gate_spec is not None:
        gate = evaluate(
            gate_spec,
            ci_rows.pass_rates(con, candidate),
            ci_rows.case_outcomes(con, candidate),
            comparison,
            intervals=case_intervals(con, candidate, gate_spec.confidence)
            if gate_spec.min_pass_rate_of == "lower_bound"
            else None,
        )
        gate = with_security(
            gate,
            gate_spec,
            security_trials(con, candidate),
            security_trials(con, base) if comparison is not None and base is not None else None,
        )
    return comparison, gate


def compare_runs(
    con: duckdb.DuckDBPyConnection, base: str, candidate: str, confidence: float = 0.95
) -> Comparison:
    """Compare two stored runs: DuckDB reads their trials as arrays, numpy sums and pairs."""
    table = from_columns(trial_columns(con, base, candidate))
    return compare_table(base, candidate, table, confidence)


def with_human(con: duckdb.DuckDBPyConnection, comparison: Comparison) -> Comparison:
    """`comparison` with each side's human verdicts (labels in force on whole trials)."""
    human = {
        side: human_verdicts(trial_labels(con, run_id))
        for side, run_id in (("base", comparison.base_run), ("candidate", comparison.candidate_run))
    }
    return dataclasses.replace(comparison, human={k: v for k, v in human.items() if v})
