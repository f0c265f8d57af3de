"""The run page: overview per suite x target, breakdowns, and every trial (rendered in
the browser from embedded JSON, a page at a time, so 10,000 trials stay fast)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from evalkit.analysis import summary
from evalkit.reports import human
from evalkit.reports.html.page import asset, write_page_with_items
from evalkit.reports.html.security_section import run_security
from evalkit.reports.transcript import transcript_view
from evalkit.store import report_trials, reporting
from evalkit.store.calibration_rows import run_calibration
from evalkit.store.labels import Label, human_labels
from evalkit.store.memory import apply_memory_limit
from evalkit.store.steps_rows import has_steps, run_steps

# Long texts are cut in the embedded data: a report is for reading, the store keeps all.
# The cut shrinks as a run grows, so the page stays a few MB per 10,000 trials whatever
# the outputs' size (20,000 trials of 100 KB outputs made a 394 MB page, then 89 MB
# with 4,000-character previews): each text gets PREVIEW_BUDGET / trials characters,
# between PREVIEW_MIN and MAX_TEXT.
MAX_TEXT = 4_000
PREVIEW_MIN = 200
PREVIEW_BUDGET = 2_000_000


def preview_chars(trials: int) -> int:
    """How many characters of each long text a report of `trials` trials embeds."""
    return max(PREVIEW_MIN, min(MAX_TEXT, PREVIEW_BUDGET // max(trials, 1)))


def _more(text: str | None, chars: int | None, where: str) -> str | None:
    """`text` (already cut) and, when `chars` says it was longer, where the rest is."""
    if text is None or chars is None or chars <= len(text):
        return text
    return f"{text}… [{chars - len(text):,} more characters: {where}]"


def _cut(value: Any, limit: int, where: str) -> tuple[Any, bool]:
    """`value` with every string in it cut to `limit` characters; whether any was."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value, False
        return _more(value[:limit], len(value), where), True
    if isinstance(value, dict):
        pairs = [(k, _cut(v, limit, where)) for k, v in value.items()]
        return {k: v for k, (v, _) in pairs}, any(cut for _, (_, cut) in pairs)
    if isinstance(value, list):
        items = [_cut(v, limit, where) for v in value]
        return [v for v, _ in items], any(cut for _, cut in items)
    return value, False


def _label(target_id: str, prompt_id: str | None) -> str:
    return f"{target_id}[{prompt_id}]" if prompt_id else target_id


def trial_view(t: dict[str, Any], run_id: str, chars: int) -> dict[str, Any]:
    """One trial as the page's script reads it (short keys: 10,000 of them are embedded),
    from a row of `report_trials.trial_batches` read with the same `chars`."""
    show = f"evalkit show {run_id} --trial '{t['trial_id']}'"
    export = f"evalkit export {run_id} has it whole"
    inputs, _ = _cut(t["messages"] or t["conversation"] or t["vars"], chars, export)
    expected, expected_cut = _cut(t["expected"], chars, export)
    data, _ = _cut(t["output_data"], chars, export)
    output = _more(t["output"], t["output_chars"], show)
    view: dict[str, Any] = {
        "id": t["trial_id"],
        "suite": t["suite"],
        "case": t["case_id"],
        "target": _label(t["target_id"], t["prompt_id"]),
        "epoch": t["epoch"],
        "status": t["status"],
        "score": t["score"],
        "latency": None if t["latency_ms"] is None else round(t["latency_ms"], 1),
        "cost": t["cost_usd"],
        "cached": t["cached"],
        "tags": t["tags"],
        "input": inputs,
        "expected": expected,
        "output": output,
        "data": data,
        "error": _more(t["error"], t["error_chars"], export),
        "error_kind": t["error_kind"],
        "grades": [
            {
                "metric": g["metric"],
                "status": g["status"],
                "score": g["score"],
                "reason": _more(g["reason"], g["reason_chars"], export),
                "reasoning": _more(g["reasoning"], g["reasoning_chars"], export),
                "judge": g["judge"],
                "turn": g["turn"],
            }
            for g in t["grades"]
        ],
    }
    if output != t["output"] or expected_cut:
        view["cut"] = True  # a diff of cut texts would show differences that are not there
    # keys the script reads as "absent" when null: left out, a page holds 20,000 of each
    for key in _OPTIONAL:
        if view[key] is None:
            del view[key]
    for grade in view["grades"]:
        for key in _OPTIONAL_GRADE:
            if grade[key] is None:
                del grade[key]
    return view


_OPTIONAL = ("expected", "data", "error", "error_kind")
_OPTIONAL_GRADE = ("reasoning", "judge", "turn")


def _views(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    chars: int,
    labels: dict[tuple[str, int | None], Label],
    trial_ids: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The page's trials, read and made a batch at a time."""
    trajectories = has_steps(con, run_id)
    for batch in report_trials.trial_batches(con, run_id, chars, trial_ids=trial_ids):
        views = [trial_view(t, run_id, chars) for t in batch]
        if trajectories:
            found = run_steps(con, run_id, [v["id"] for v in views])
            for view in views:
                if steps := found.get(view["id"]):
                    view["transcript"] = transcript_view(steps, view["grades"], chars)
        human.attach(con, run_id, views, labels)
        yield from views


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
    """Write the run page for `run_id` to `out`, its trials streamed from the store."""
    apply_memory_limit(con)
    context = run_context(con, run_id)
    chars = preview_chars(context["totals"]["trials"])
    labels = human_labels(con, run_id)
    # the review overview is in the page's head, before the trials: read the reviewed
    # trials (few) first
    reviewed = sorted({trial_id for trial_id, _ in labels})
    reviewed_views = list(_views(con, run_id, chars, labels, reviewed)) if reviewed else []
    context["review"] = human.overview(reviewed_views, of=context["totals"]["trials"])
    context["security"] = run_security(con, run_id)
    context["preview"] = {"chars": chars, "run_id": run_id}
    return write_page_with_items(
        "report.html.j2",
        context,
        _views(con, run_id, chars, labels),
        out,
        workspace=workspace,
        scripts=[asset("trials.js")],
    )
