"""The comparison page: two runs' paired statistics, then regressions first, each case's
outputs side by side with a word diff."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb

from evalkit.analysis.compare import FLAKY_EPOCHS, CaseChange, Comparison
from evalkit.analysis.verdict import compare_runs, with_human
from evalkit.reports.html.page import asset, render_page, write_page
from evalkit.reports.html.run_page import MAX_TEXT
from evalkit.reports.html.security_section import compare_security
from evalkit.reports.html.textdiff import word_diff
from evalkit.reports.transcript import transcript_view
from evalkit.store import reporting
from evalkit.store.calibration_rows import label_counts
from evalkit.store.steps_rows import run_steps

MAX_CASES = 300  # per section; the rest are counted, the store has them all

CaseKey = tuple[str, str, str, str | None]


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return text[:MAX_TEXT]


def _first_trials(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[CaseKey, dict[str, Any]]:
    """Each case's first epoch in the run: what the side-by-side view shows."""
    first: dict[CaseKey, dict[str, Any]] = {}
    for trial in reporting.trial_rows(con, run_id):
        key = (trial["suite"], trial["case_id"], trial["target_id"], trial["prompt_id"])
        first.setdefault(key, trial)
    trajectories = run_steps(con, run_id, [t["trial_id"] for t in first.values()])
    for trial in first.values():
        steps = trajectories.get(trial["trial_id"])
        trial["transcript"] = transcript_view(steps, trial["grades"]) if steps else None
    return first


def _side(trial: dict[str, Any] | None) -> dict[str, Any]:
    if trial is None:
        return {"output": "", "status": "-", "reasons": []}
    output = trial["output"] if trial["output"] is not None else trial["error"] or ""
    reasons = [
        f"{g['metric']}: {g['reason'] or g['status']}"
        for g in trial["grades"]
        if g["status"] != "pass"
    ]
    return {"output": _text(output), "status": trial["status"], "reasons": reasons,
            "epoch": trial["epoch"], "transcript": trial.get("transcript")}  # fmt: skip


def _human(comparison: Comparison, side: str, name: str) -> dict[str, Any] | None:
    """The reviewers' verdict on one side of a case, as the page shows it."""
    verdict = comparison.human.get(side, {}).get(name)
    if verdict is None:
        return None
    return {"said": verdict.said, "reviewers": ", ".join(verdict.reviewers),
            "notes": list(verdict.notes), "labels": verdict.labels}  # fmt: skip


def _case_view(
    change: CaseChange,
    base: dict[CaseKey, dict[str, Any]],
    cand: dict[CaseKey, dict[str, Any]],
    comparison: Comparison,
) -> dict[str, Any]:
    key = (change.suite, change.case_id, change.target_id, change.prompt_id)
    b, c = _side(base.get(key)), _side(cand.get(key))
    b["human"] = _human(comparison, "base", change.name)
    c["human"] = _human(comparison, "candidate", change.name)
    trial = cand.get(key) or base.get(key) or {}
    return {
        "name": change.name,
        "change": change.change,
        "delta": change.delta,
        "base_score": change.base_score,
        "candidate_score": change.candidate_score,
        "base": b,
        "candidate": c,
        "diff": word_diff(b["output"], c["output"]),
        "input": _text(trial.get("messages") or trial.get("conversation") or trial.get("vars")),
        "expected": _text(trial.get("expected")),
    }


def _delta(change: CaseChange) -> float:
    return change.delta


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def compare_context(
    con: duckdb.DuckDBPyConnection, comparison: Comparison, base_run: str, cand_run: str
) -> dict[str, Any]:
    """What the comparison template shows."""
    base, cand = _first_trials(con, base_run), _first_trials(con, cand_run)
    # biggest score loss first within the regressions, biggest gain first among fixes
    regressed = sorted((c for c in comparison.cases if c.change == "regressed"), key=_delta)
    fixed = sorted((c for c in comparison.cases if c.change == "fixed"), key=_delta, reverse=True)
    # unchanged pass/fail but a lower score: worth a look, after the flips
    dropped = sorted(
        (c for c in comparison.cases if c.change == "unchanged" and c.delta < 0),
        key=_delta,
    )
    sections = []
    for title, slug, cases in (
        ("Regressions: passed in the base, fail in the candidate", "regressed", regressed),
        ("Score dropped, same verdict", "dropped", dropped),
        ("Fixed: failed in the base, pass in the candidate", "fixed", fixed),
    ):
        sections.append(
            {
                "title": title,
                "slug": slug,
                "total": len(cases),
                "cases": [_case_view(c, base, cand, comparison) for c in cases[:MAX_CASES]],
            }
        )
    groups = []
    for group in comparison.groups:
        metrics = []
        for m in group.metrics:
            p = m.paired
            metrics.append(
                {"metric": m.metric, "n": p.n, "clusters": p.clusters, "base": p.base_mean,
                 "candidate": p.candidate_mean, "difference": p.difference,
                 "ci_low": _finite(p.ci_low), "ci_high": _finite(p.ci_high),
                 "p_value": _finite(m.p_value), "p_drop": _finite(m.p_drop), "test": m.test,
                 "label": m.label(comparison.confidence), "epochs": list(m.epochs),
                 "regressed": m.regressed, "fixed": m.fixed,
                 "mcnemar_p": _finite(m.mcnemar_p), "verdict": m.verdict}
            )  # fmt: skip
        groups.append({"name": group.name, "metrics": metrics})
    return {
        "base": reporting.run_header(con, base_run),
        "candidate": reporting.run_header(con, cand_run),
        "reviewed": {"base": label_counts(con, base_run), "candidate": label_counts(con, cand_run)},
        "confidence": comparison.confidence,
        "groups": groups,
        "sections": sections,
        "paired": len(comparison.cases),
        "added": comparison.added,
        "removed": comparison.removed,
        "changed_content": comparison.changed_content,
        "unpaired_variants": comparison.unpaired_variants,
        "flaky": comparison.flaky,
        "flaky_epochs": FLAKY_EPOCHS,
        "flaky_note": comparison.flaky_note,
        "flaky_by_chance": comparison.flaky_by_chance,
        "max_cases": MAX_CASES,
    }


def render_compare_report(
    con: duckdb.DuckDBPyConnection, base_run: str, cand_run: str, out: Path,
    workspace: Path | None,
) -> Path:  # fmt: skip
    """Write the comparison page of `cand_run` against `base_run` to `out`."""
    comparison = with_human(con, compare_runs(con, base_run, cand_run))
    context = compare_context(con, comparison, base_run, cand_run)
    context["security"] = compare_security(con, base_run, cand_run)
    html = render_page(
        "compare.html.j2",
        context,
        workspace=workspace,
        scripts=[asset("filter.js")],
    )
    return write_page(html, out)
