"""Where a run's trials execute: in this process, in worker processes, or on Ray.

`--workers N` / `workers:` and `--executor ray` / `executor: ray` decide; without
either, a run stays in this process. Two
kinds of grading stay in one process for now, whatever was asked: peer graders
(`against:` compares the outputs of a case's variants, which must meet in one
process) and model judges (their calls share one limiter, cache and spend account).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evalkit.engine.plan import TrialPlan
from evalkit.engine.remote import Setup
from evalkit.engine.runner import Engine, Executor
from evalkit.errors import UsageError
from evalkit.records import Trial
from evalkit.workspace.loaded import LoadedPlan


def choose_executor(
    plan: LoadedPlan,
    engine: Engine,
    trials: TrialPlan | list[Trial],
    *,
    workers: int | None,
    executor: str | None,
    uses_judge: bool,
    notice: Callable[[str], None],
) -> Executor | None:
    """The executor for this run, or None to run in-process (the engine's own loop)."""
    kind = executor or plan.spec.executor
    if kind not in ("local", "ray"):
        raise UsageError(f"--executor {kind}: unknown executor", hint="use local or ray")
    asked = workers or plan.spec.workers
    # Workers are opt-in: measured on 2 cores they speed up CPU-bound targets but slow an
    # SDK-bound run (1.48x the bare loop against 1.23x in one process; README, Scaling out).
    if kind == "local" and (asked is None or asked == 1):
        return None
    if reason := _in_process_only(trials, uses_judge):
        if kind == "ray" or (asked or 1) > 1:
            notice(f"running in one process: {reason}")
        return None
    setup = Setup(
        root=str(plan.root),
        plan_path=str(Path(plan.path).resolve()),
        config_hash=plan.config_hash,
        run_id=engine.run_id,
        limits=engine.limits,
    )
    if kind == "ray":
        from evalkit.engine.ray_executor import RayExecutor  # Ray is an optional extra

        return RayExecutor(setup, plan.spec.ray)
    count = asked if asked is not None else 1
    if count <= 1:
        return None
    from evalkit.engine.workers import WorkerPool

    return WorkerPool(count, setup, plan)


def _in_process_only(trials: TrialPlan | list[Trial], uses_judge: bool) -> str | None:
    """Why this run's grading must stay in one process, if it must."""
    if uses_judge:
        return "model-graded graders share one judge client"
    cases = (
        trials.cases
        if isinstance(trials, TrialPlan)
        else list({id(t.case): t.case for t in trials}.values())
    )
    for case in cases:
        if any("against" in g.args for g in case.graders):
            return f"case {case.suite}/{case.id} has a peer grader (`against:`)"
    return None
