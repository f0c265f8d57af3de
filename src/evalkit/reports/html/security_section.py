"""The security sections of the run, compare and trend pages.

Built only when a run holds security cases (`evalkit security generate`): attack success
per OWASP category, strategy and channel with 95% intervals over cases, worst first; the false
alarms on benign controls; the successful attacks, most severe first; on the compare
page the holes that opened (a regression whatever the rates say) and closed; on the
trend page attack success per target and category over runs.
"""

from __future__ import annotations

from typing import Any

import duckdb

from evalkit.analysis.security import (
    WORST_SHOWN,
    TargetSecurity,
    new_holes,
    summarize,
    trend,
)
from evalkit.store.security_rows import security_history, security_trials


def _target_view(target: TargetSecurity) -> dict[str, Any]:
    return {
        "target": target.target,
        "overall": target.overall.as_dict(),
        "controls": target.controls.as_dict(),
        "groups": [
            ("OWASP LLM Top 10 (2025) category", [r.as_dict() for r in target.by_category]),
            ("strategy", [r.as_dict() for r in target.by_strategy]),
            ("channel", [r.as_dict() for r in target.by_channel]),
        ],
        "worst": [_example(row) for row in target.worst[:WORST_SHOWN]],
        "more": max(0, len(target.worst) - WORST_SHOWN),
    }


def _example(row: dict[str, Any]) -> dict[str, Any]:
    sec = row["security"]
    return {
        "trial": f"{row['suite']}/{row['case_id']}",
        "severity": sec.get("severity"),
        "category": sec.get("owasp") or sec.get("category"),
        "strategy": sec.get("strategy"),
        "channel": sec.get("channel"),
        "expected": sec.get("expected"),
        "reason": "; ".join(row["reasons"]),
        "output": row["output"],
    }


def run_security(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]] | None:
    """The run page's security section, or None when the run has no security cases."""
    trials = security_trials(con, run_id)
    return [_target_view(t) for t in summarize(trials)] if trials else None


def compare_security(
    con: duckdb.DuckDBPyConnection, base_run: str, cand_run: str
) -> dict[str, Any] | None:
    """Attack success per category on both sides, and the holes opened and closed."""
    base, cand = security_trials(con, base_run), security_trials(con, cand_run)
    if not base and not cand:
        return None
    before = {t.target: {r.key: r for r in t.by_category} for t in summarize(base)}
    rows = []
    for target in summarize(cand):
        for rate in target.by_category:
            old = before.get(target.target, {}).get(rate.key)
            rows.append(
                {
                    "target": target.target,
                    "category": rate.label,
                    "base": old.as_dict() if old else None,
                    "candidate": rate.as_dict(),
                }
            )
    return {
        "categories": rows,
        "opened": [_example(r) | {"target": _target(r)} for r in new_holes(base, cand)],
        "closed": [_example(r) | {"target": _target(r)} for r in new_holes(cand, base)],
    }


def _target(row: dict[str, Any]) -> str:
    prompt = row.get("prompt_id")
    return f"{row['target_id']}[{prompt}]" if prompt else str(row["target_id"])


def trend_security(
    con: duckdb.DuckDBPyConnection, plans: list[str], last: int
) -> list[dict[str, Any]]:
    """Attack success over the last runs, one series per plan x target x category."""
    series = []
    for plan in plans:
        for name, points in trend(security_history(con, plan, last)).items():
            series.append({"plan": plan, "name": name, "points": points})
    return series
