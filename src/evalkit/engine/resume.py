"""Continuing an interrupted run: which trials are left, and whether it is still the same run.

A run may be resumed only when everything that decides its results is unchanged: the
suites' content (cases and their graders), the workspace's grader code, and every
target's config. Otherwise the finished half and the new half would measure different
things under one run id, so we refuse and say what changed. Trials already saved are
never sent to a model again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from evalkit.engine.plan import TrialPlan
from evalkit.engine.runner import EngineTotals
from evalkit.errors import ConfigError
from evalkit.records import Trial
from evalkit.store.resumable import RecordedRun, recorded_run, reopen_run
from evalkit.store.runs import RunTarget
from evalkit.targets.inputs import plan_input_hashes
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.root import grader_code_hashes


class ResumeRefused(ConfigError):
    """The run cannot be resumed: it finished, or what it measures has changed."""


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a resumed run picks up: its id, the trials left, and the counts so far."""

    run_id: str
    remaining: TrialPlan
    saved: int
    by_status: dict[str, int]

    def seed(self, totals: EngineTotals) -> None:
        """Start the engine's totals from the saved trials so the summary covers the run."""
        totals.finished += self.saved
        for status, count in self.by_status.items():
            totals.by_status[status] = totals.by_status.get(status, 0) + count


def resume_point(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    plan: LoadedPlan,
    targets: list[RunTarget],
    trials: TrialPlan,
) -> ResumePoint:
    """Check `run_id` can continue with `plan` as it is now, reopen it, list what is left."""
    run = recorded_run(con, run_id)
    problems = changes(run, plan, targets, trials)
    if run.status == "completed":
        problems.insert(0, "it already completed")
    if problems:
        raise ResumeRefused(
            f"cannot resume run {run_id}: " + "; ".join(problems),
            hint="start a new run with `evalkit run` (or undo the change and resume)",
        )
    reopen_run(con, run_id)
    remaining = trials.remaining(set(run.done))
    return ResumePoint(run_id, remaining, len(run.done), dict(run.by_status))


def changes(
    run: RecordedRun, plan: LoadedPlan, targets: list[RunTarget], trials: Iterable[Trial]
) -> list[str]:
    """Every difference between the recorded run and the plan as loaded now, in words."""
    problems: list[str] = []
    if run.plan != plan.name:
        problems.append(f"it ran plan '{run.plan}', not '{plan.name}'")
    problems.extend(_suite_changes(run.suite_hashes, {s.name: s.content_hash for s in plan.suites}))
    current = {(t.target_id, t.prompt_id): t.config_hash for t in targets if not t.skipped_reason}
    for variant, recorded in sorted(run.target_hashes.items(), key=str):
        name = f"{variant[0]}[{variant[1]}]" if variant[1] else variant[0]
        now = current.get(variant)
        if now is None:
            problems.append(f"target '{name}' is no longer in the plan (or is skipped now)")
        elif now != recorded:
            problems.append(_target_change(name, variant[0], run.settings, plan))
    problems.extend(_case_changes(run, trials))
    problems.extend(_grader_code_changes(run.settings.get("grader_code"), plan))
    return problems


def _target_change(name: str, target_id: str, settings: dict[str, Any], plan: LoadedPlan) -> str:
    """Why a target's hash moved: which of its files changed, else its config."""
    recorded = settings.get("target_files")
    if isinstance(recorded, dict) and isinstance(recorded.get(target_id), dict):
        files = _hash_changes(
            "file",
            recorded[target_id],
            plan_input_hashes(plan).get(target_id, {}),
            ("was removed", "was added", "changed"),
        )
        if files:
            return f"target '{name}' " + ", ".join(files)
    return f"target '{name}' config changed"


def _grader_code_changes(recorded: Any, plan: LoadedPlan) -> list[str]:
    """Workspace grader files edited, added or removed since the run started."""
    if not isinstance(recorded, dict):  # recorded by an evalkit that did not keep them
        return []
    return _hash_changes(
        "grader file",
        recorded,
        grader_code_hashes(plan.root),
        ("was removed", "was added", "changed"),
    )


def _suite_changes(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    return _hash_changes(
        "suite",
        recorded,
        current,
        ("is no longer in the plan", "was added to the plan", "content changed"),
    )


def _hash_changes(
    noun: str, recorded: dict[str, str], current: dict[str, str], words: tuple[str, str, str]
) -> list[str]:
    """'<noun> '<name>' <removed | added | changed>' for each name whose hash differs."""
    removed, added, changed = words
    found = []
    for name in sorted(recorded.keys() | current.keys()):
        if name not in current:
            found.append(f"{noun} '{name}' {removed}")
        elif name not in recorded:
            found.append(f"{noun} '{name}' {added}")
        elif recorded[name] != current[name]:
            found.append(f"{noun} '{name}' {changed}")
    return found


def _case_changes(run: RecordedRun, trials: Iterable[Trial]) -> list[str]:
    """Saved trials whose case (or its graders) differs from the case as loaded now."""
    found: dict[str, str] = {}
    for trial in trials:
        saved_hash = run.done.get(trial.trial_id)
        case = trial.case
        name = f"{case.suite}/{case.id}"
        if saved_hash is None or saved_hash == case.content_hash or name in found:
            continue
        stored = _without_location(run.graders.get(saved_hash, []))
        # through JSON, so the current graders compare like the stored ones
        now = _without_location(
            json.loads(json.dumps([dataclasses.asdict(g) for g in case.graders], default=str))
        )
        what = "grader config" if stored != now else "content"
        found[name] = f"case '{name}' {what} changed"
    listed = list(found.values())
    if len(listed) > 5:
        listed = [*listed[:5], f"and {len(listed) - 5} more cases changed"]
    return listed


def _without_location(graders: Any) -> Any:
    if not isinstance(graders, list):
        return graders
    return [{k: v for k, v in g.items() if k != "location"} for g in graders]
