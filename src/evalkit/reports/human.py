"""Human verdicts beside the machine's, for the run page: per trial (the label on the
whole trial and those on single grades) and the run's review overview."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from evalkit.analysis.stats import wilson_interval
from evalkit.store.labels import Label, human_labels


def _utc(when: datetime) -> str:
    """ISO time in UTC: a report is read in many time zones."""
    return (when.astimezone(UTC) if when.tzinfo else when).isoformat()


def _view(label: Label, machine_status: str | None) -> dict[str, Any]:
    """A label as the page shows it, and whether it agrees with the machine's status."""
    agrees = None
    if machine_status in ("pass", "fail"):
        agrees = label.passed == (machine_status == "pass")
    return {
        "passed": label.passed,
        "reviewer": label.reviewer,
        "note": label.note,
        "at": _utc(label.labelled_at),
        "source": label.source,
        "agrees": agrees,
    }


def attach(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    trials: list[dict[str, Any]],
    labels: dict[tuple[str, int | None], Label] | None = None,
) -> None:
    """Add `human` (the labels in force) and `disagrees` to each trial dict that has any.

    A trial dict has `id`, `status` and `grades` (in grader order, so a grade's position
    is its `grades.idx`), as the run page's trial data does. `labels`: the run's labels
    in force, already read (a page attaches them a batch of trials at a time).
    """
    if labels is None:
        labels = human_labels(con, run_id)
    if not labels:
        return
    by_trial: dict[str, list[tuple[int | None, Label]]] = {}
    for (trial_id, idx), label in labels.items():
        by_trial.setdefault(trial_id, []).append((idx, label))
    for trial in trials:
        found = by_trial.get(trial["id"])
        if not found:
            continue
        human: dict[str, Any] = {"trial": None, "grades": []}
        for idx, label in sorted(found, key=lambda item: -1 if item[0] is None else item[0]):
            if idx is None:
                human["trial"] = _view(label, trial["status"])
                continue
            grade = trial["grades"][idx] if 0 <= idx < len(trial["grades"]) else None
            view = _view(label, grade["status"] if grade else None)
            human["grades"].append({**view, "idx": idx, "metric": label.metric})
        views = [human["trial"], *human["grades"]] if human["trial"] else human["grades"]
        trial["human"] = human
        trial["disagrees"] = any(view["agrees"] is False for view in views)


def overview(trials: list[dict[str, Any]], of: int | None = None) -> dict[str, Any] | None:
    """Reviewed trials, labels, reviewers, and how often humans agree with the machine.

    `of`: how many trials the run has, when `trials` holds only some (the reviewed ones).
    """
    reviewed = [t for t in trials if "human" in t]
    if not reviewed:
        return None
    views = [
        view
        for t in reviewed
        for view in ([t["human"]["trial"]] if t["human"]["trial"] else []) + t["human"]["grades"]
    ]
    judged = [v for v in views if v["agrees"] is not None]
    agree = sum(1 for v in judged if v["agrees"])
    low, high = wilson_interval(agree, len(judged)) if judged else (None, None)
    reviewers: dict[str, int] = {}
    for view in views:
        reviewers[view["reviewer"]] = reviewers.get(view["reviewer"], 0) + 1
    return {
        "trials": len(reviewed),
        "of": len(trials) if of is None else of,
        "labels": len(views),
        "reviewers": sorted(reviewers.items()),
        "last_at": max(v["at"] for v in views),
        "compared": len(judged),
        "agree": agree,
        "rate": agree / len(judged) if judged else None,
        "ci_low": low,
        "ci_high": high,
        "disagree_trials": sum(1 for t in reviewed if t.get("disagrees")),
    }
