"""Where a run's trials execute: in this process, in worker processes, or on Ray.

`--workers N` / `workers:` and `--executor ray` / `executor: ray` decide; with
neither, a run of AUTO_MIN_TRIALS trials or more uses a worker per core, a smaller
one stays in this process. Some runs stay in one process whatever was asked: peer
graders (`against:` compares the outputs of a case's variants, which must meet in one
process), model judges (their calls share one limiter, cache and spend account),
simulated users (one user model) and `--max-cost` (one account of the spend).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from evalkit.engine.conversation import needs_driver
from evalkit.engine.plan import TrialPlan
from evalkit.engine.remote import Setup
from evalkit.engine.runner import Engine, Executor
from evalkit.errors import UsageError
from evalkit.records import Case, Trial
from evalkit.workspace.loaded import LoadedPlan

# Trials from which a run uses every core when the plan and the command leave the
# number of workers open. Measured on 2 busy cores (anthropic target, fake server at
# 50 ms, C=32): two workers were 0.5 s slower than one process at 100 trials (start-up:
# forking and each worker's first connections), 0.3 s faster at 300, 0.6-1.0 s faster
# at 1,000; the threshold leaves a margin.
AUTO_MIN_TRIALS = 500
# Worker processes and Ray take the plan as one list (their hand-out books index it):
# about 140 bytes a trial before their own tables, where one process streams the plan.
# A plan of a billion trials grew to 24 GB before its first trial; past this many, a
# run stays in one process.
LISTED_MAX_TRIALS = 200_000


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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
    if kind == "local" and asked == 1:
        return None
    reason = _in_process_only(engine, trials, uses_judge)
    if kind == "local" and asked is None:
        # Left open: every core for a run large enough to pay for the workers' start,
        # quietly in one process otherwise (or when something must stay in one).
        if reason or len(trials) < AUTO_MIN_TRIALS or _conversations(engine, trials):
            return None
        asked = cores()
        if asked <= 1:
            return None
    elif reason:
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
    from evalkit.engine.workers import WorkerPool

    return WorkerPool(asked or 1, setup, plan)


def _cases_of(trials: TrialPlan | list[Trial]) -> list[Case]:
    if isinstance(trials, TrialPlan):
        return trials.cases
    return list({id(t.case): t.case for t in trials}.values())


def _in_process_only(
    engine: Engine, trials: TrialPlan | list[Trial], uses_judge: bool
) -> str | None:
    """Why this run must stay in one process, if it must."""
    if uses_judge:
        return "model-graded graders share one judge client"
    if engine.max_cost is not None:
        return "--max-cost counts the spend of every call in one place"
    if len(trials) > LISTED_MAX_TRIALS:
        return (
            f"{len(trials):,} trials are more than worker processes take at once "
            f"({LISTED_MAX_TRIALS:,}); one process streams them"
        )
    for case in _cases_of(trials):
        if any("against" in g.args for g in case.graders):
            return f"case {case.suite}/{case.id} has a peer grader (`against:`)"
        if case.user is not None:
            return f"case {case.suite}/{case.id} talks to a simulated user"
    return None


def _conversations(engine: Engine, trials: TrialPlan | list[Trial]) -> bool:
    """Whether some trial is a conversation or a tool loop (several calls per trial):
    workers run them, but only when asked to."""
    targets = list(engine.targets.values())
    return any(needs_driver(case, t) for case in _cases_of(trials) for t in targets)
