"""The worker side of an executor: the plan loaded once, trials run as the parent sends them.

A spawned worker process (or a Ray task or actor) loads the workspace's graders and
the plan itself, from the same files as the parent, and checks it sees the same plan
(config hash) and the same cases (content hashes): a worker that read a file edited
since the run started would otherwise measure something else under the same run id.
A forked worker is given the parent's loaded plan instead. It then
runs each `Job` with the ordinary engine, so retries, timeouts, the cache key and
grading are exactly the in-process ones; only the writer and the limits stay with the
parent (see dispatch.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.dispatch import Done, Job
from evalkit.engine.runner import Engine, Variant
from evalkit.errors import EvalkitError
from evalkit.graders.discovery import load_all
from evalkit.records import Case, TargetOutput, Trial, TrialResult
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetContext, TargetUnavailable
from evalkit.targets.limits import TargetLimits
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.plan import load_plan

# The parent decides how many calls are out; a worker never holds one back itself.
_UNLIMITED = 1_000_000


class WorkerError(EvalkitError):
    """A worker could not start or lost its way (exit code 3: an infrastructure error)."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What a worker needs to run the parent's trials."""

    root: str
    plan_path: str
    config_hash: str
    run_id: str
    limits: dict[str, TargetLimits]


@dataclass(slots=True)
class Outbox:
    """Finished trials and 429s waiting to go back to the parent."""

    done: list[Done] = field(default_factory=list)
    rate_limited: list[str] = field(default_factory=list)  # target ids, one per 429

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None:
        """The engine's sink: keep what the parent needs (it holds the case)."""
        self.done.append(
            Done(
                result.trial_id,
                result.output,
                result.grades,
                result.status,
                result.score,
                cache_key,
                result.started_at,
                result.finished_at,
            )
        )

    def take(self) -> tuple[list[Done], list[str]]:
        """Everything waiting, emptied."""
        done, limited = self.done, self.rate_limited
        self.done, self.rate_limited = [], []
        return done, limited


class _Reporting(AdaptiveLimiter):
    """Never holds a call back; tells the parent about every 429."""

    def __init__(self, target_id: str, report: Callable[[str], None]) -> None:
        super().__init__(_UNLIMITED)
        self.target_id = target_id
        self.report = report

    def rate_limited(self) -> None:
        self.report(self.target_id)


class RemoteRunner:
    """The plan, targets and engine of one worker; `run(job)` runs one trial."""

    def __init__(
        self,
        setup: Setup,
        on_rate_limit: Callable[[str], None] | None = None,
        plan: LoadedPlan | None = None,
    ) -> None:
        if plan is None:  # a forked worker passes the parent's plan: nothing to re-read
            root = Path(setup.root)
            load_all(root)
            plan = load_plan(Path(setup.plan_path), root)
        if plan.config_hash != setup.config_hash:
            raise WorkerError(
                f"plan {plan.path} changed since the run started (a worker read "
                f"{plan.config_hash}, the run recorded {setup.config_hash})",
                hint="leave the workspace alone while a run with workers is going, or run again",
            )
        self.cases: dict[tuple[str, str], Case] = {
            (case.suite, case.id): case for suite in plan.suites for case in suite.cases
        }
        self.outbox = Outbox()
        report = on_rate_limit or self.outbox.rate_limited.append
        limits = {
            tid: TargetLimits(concurrency=_UNLIMITED, timeout=lim.timeout, retry=lim.retry)
            for tid, lim in setup.limits.items()
        }
        self.engine = Engine(
            run_id=setup.run_id, targets=build_plan_targets(plan), limits=limits, sink=self.outbox
        )
        for tid in limits:
            self.engine.limiters[tid] = _Reporting(tid, report)

    def trial(self, job: Job) -> Trial:
        """The job's trial, with this worker's own copy of its case."""
        case = self.cases.get((job.suite, job.case_id))
        if case is None or case.content_hash != job.case_hash:
            raise WorkerError(
                f"case {job.suite}/{job.case_id} changed since the run started",
                hint="leave the suites alone while a run with workers is going, or run again",
            )
        return Trial(job.trial_id, case, job.target_id, job.prompt_id, job.epoch)

    async def run(self, job: Job) -> None:
        """Run one job; its result lands in the outbox."""
        await self.engine.run_one(self.trial(job), job.cached)

    async def run_trial(self, trial: Trial, cached: TargetOutput | None) -> None:
        """Run one trial (`cached`: the parent's cache hit for it); the result lands in
        the outbox."""
        await self.engine.run_one(trial, cached)


def build_plan_targets(plan: LoadedPlan) -> dict[Variant, Target]:
    """The plan's targets, as the parent built them (skipped ones are never sent jobs)."""
    pricing = {name: (p.input, p.output) for name, p in plan.spec.pricing.items()}
    ctx = TargetContext(
        root=plan.root, plan_dir=plan.path.parent, pricing=pricing, timeout=plan.spec.timeout
    )
    built: dict[Variant, Target] = {}
    for spec in plan.spec.targets:
        try:
            variants = build_targets(spec, ctx)
        except TargetUnavailable:
            continue
        for target in variants:
            built[(target.id, target.prompt_id)] = target
    return built
