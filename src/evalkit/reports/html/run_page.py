"""The run page: overview per suite x target, breakdowns, and every trial (rendered in
the browser from embedded JSON, a page at a time, so 10,000 trials stay fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from evalkit.analysis import summary
from evalkit.reports import human
from evalkit.reports.html.page import asset, write_page_with_items
from evalkit.reports.html.security_section import run_security
from evalkit.reports.transcript import transcript_view
from evalkit.store import reporting
from evalkit.store.calibration_rows import run_calibration
from evalkit.store.steps_rows import run_steps

# Long texts are cut in the embedded data: a report is for reading, the store keeps all.
# A bounded preview keeps a report of 20,000 trials of 100 KB outputs to tens of MB
# (it was 394 MB, and 10 GB of memory to build).
MAX_TEXT = 4_000


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"… [{len(value) - MAX_TEXT:,} more characters in the store]"
    return value


def _output_preview(t: dict[str, Any], run_id: str) -> str | None:
    """The output's first MAX_TEXT characters, and the command that prints the rest."""
    output: str | None = t["output"]
    chars = t["output_chars"]
    if output is None or chars is None or chars <= len(output):
        return output
    return (
        f"{output}… [{chars - len(output):,} more characters: "
        f"evalkit show {run_id} --trial '{t['trial_id']}']"
    )


def _label(target_id: str, prompt_id: str | None) -> str:
    return f"{target_id}[{prompt_id}]" if prompt_id else target_id


def trial_data(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The trials as the page's script reads them (short keys: 10,000 of them are embedded)."""
    data = []
    trajectories = run_steps(con, run_id)
    for t in reporting.trial_rows(con, run_id, preview=MAX_TEXT):
        data.append(
            {
                "id": t["trial_id"],
                "suite": t["suite"],
                "case": t["case_id"],
                "target": _label(t["target_id"], t["prompt_id"]),
                "epoch": t["epoch"],
                "status": t["status"],
                "score": t["score"],
                "latency": t["latency_ms"],
                "cost": t["cost_usd"],
                "cached": t["cached"],
                "tags": t["tags"],
                "input": t["messages"] or t["conversation"] or t["vars"],
                "expected": _cut(t["expected"]),
                "output": _output_preview(t, run_id),
                "data": t["output_data"],
                "error": _cut(t["error"]),
                "error_kind": t["error_kind"],
                "grades": [
                    {**g, "reason": _cut(g["reason"]), "reasoning": _cut(g["reasoning"])}
                    for g in t["grades"]
                ],
            }
        )
        if steps := trajectories.get(t["trial_id"]):
            data[-1]["transcript"] = transcript_view(steps, data[-1]["grades"])
    return data


def run_context(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Everything the run page's template shows, apart from the trials."""
    overview = summary.summary_rows(con, run_id)
    for row in overview:
        row["target"] = _label(row["target_id"], row["prompt_id"])
    metrics = summary.metric_breakdown(con, run_id)
    tags = summary.tag_breakdown(con, run_id)
    for row in (*metrics, *tags):
        row["target"] = _label(row["target_id"], row["prompt_id"])
    totals = {
        "trials": sum(r["trials"] for r in overview),
        "passed": sum(r["passed"] for r in overview),
        "failed": sum(r["failed"] for r in overview),
        "errors": sum(r["errors"] for r in overview),
        # unknown when any row's price is: a partial sum would read as the whole
        "cost": None
        if any(r["cost_usd"] is None for r in overview)
        else sum(r["cost_usd"] for r in overview),
    }
    return {
        "run": reporting.run_header(con, run_id),
        "targets": [
            {**t, "target": _label(t["target_id"], t["prompt_id"])}
            for t in reporting.run_targets(con, run_id)
        ],
        "overview": overview,
        "metrics": metrics,
        "tags": tags,
        "totals": totals,
        "calibration": run_calibration(con, run_id),  # metric -> kappa vs human labels
        "review": None,  # the human review overview, from the trials (render_run_report)
    }


def render_run_report(
    con: duckdb.DuckDBPyConnection, run_id: str, out: Path, workspace: Path | None
) -> Path:
    """Write the run page for `run_id` to `out`."""
    trials = trial_data(con, run_id)
    human.attach(con, run_id, trials)
    context = run_context(con, run_id)
    context["review"] = human.overview(trials)
    context["security"] = run_security(con, run_id)
    return write_page_with_items(
        "report.html.j2",
        context,
        trials,
        out,
        workspace=workspace,
        scripts=[asset("trials.js")],
    )
