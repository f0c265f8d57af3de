"""Handing trials to Ray within each target's global limits.

Ray tasks run trials; the driver keeps everything that must be one: the writer, the
progress, the response cache and the per-target limits. (Worker processes take a
share of each limit and a queue of their own instead: see handout.py.) A trial
is handed out only while its target has fewer than `limit` trials out in total, so
the concurrency of a target is the plan's number whatever the number of workers; a 429
reported by any worker halves that limit for all of them (AIMD, as in-process). What
travels is small: a `Job` names a trial (the worker holds the cases), a `Done` carries
its output and grades back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.runner import Engine
from evalkit.records import (
    ErrorKind,
    Grade,
    Status,
    TargetFailure,
    TargetOutput,
    Trial,
    TrialResult,
)

Key = TypeVar("Key")  # how a dispatcher names a trial: its id, or its index


@dataclass(slots=True)
class Job:
    """One trial to run, as the parent sends it: names only, plus any cache hit."""

    trial_id: str
    suite: str
    case_id: str
    case_hash: str
    target_id: str
    prompt_id: str | None
    epoch: int
    cached: TargetOutput | None = None

    @classmethod
    def of(cls, trial: Trial, cached: TargetOutput | None = None) -> Job:
        """The job for `trial`: what a worker needs to find it in its own copy of the plan."""
        case = trial.case
        return cls(
            trial.trial_id,
            case.suite,
            case.id,
            case.content_hash,
            trial.target_id,
            trial.prompt_id,
            trial.epoch,
            cached,
        )


@dataclass(slots=True)
class Done:
    """One finished trial, as a worker sends it back (the parent holds the case)."""

    trial_id: str
    output: TargetOutput
    grades: list[Grade]
    status: Status
    score: float | None
    key: str | None
    started: float
    finished: float

    def result(self, run_id: str, trial: Trial) -> TrialResult:
        """The finished trial as the writer records it (the parent supplies the case)."""
        return TrialResult(
            run_id=run_id,
            trial_id=trial.trial_id,
            case=trial.case,
            target_id=trial.target_id,
            prompt_id=trial.prompt_id,
            epoch=trial.epoch,
            output=self.output,
            grades=self.grades,
            status=self.status,
            score=self.score,
            request_hash=self.key,
            started_at=self.started,
            finished_at=self.finished,
        )


class SecondChance(Generic[Key]):
    """Trials whose worker died: each is handed out once more, and lost again (or lost
    while the run is stopping) it is recorded as an error, so that a trial that kills its
    worker cannot stall a run. One rule for the worker pool and Ray's dispatcher."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._given: set[Key] = set()  # trials already handed out again once

    def __contains__(self, key: object) -> bool:
        return key in self._given

    def grant(self, key: Key) -> bool:
        """Whether `key` may run once more (it then has had its second chance)."""
        if key in self._given or self.engine.stopping.is_set():
            return False
        self._given.add(key)
        return True

    async def give_up(self, trial: Trial, why: str) -> None:
        """Record `trial` as an error: its worker died running it, `why`."""
        failure = TargetFailure(ErrorKind.EXCEPTION, f"{why} while running this trial")
        await self.engine.record_failure(trial, failure)


class Dispatcher:
    """The parent's book of trials: waiting, out, done; and the per-target limits."""

    def __init__(self, engine: Engine, trials: list[Trial]) -> None:
        self.engine = engine
        self.trials = {t.trial_id: t for t in trials}
        self.queues: dict[str, deque[str]] = {}
        for trial in trials:
            self.queues.setdefault(trial.target_id, deque()).append(trial.trial_id)
        self.limiters = {
            target: AdaptiveLimiter(engine.limits[target].concurrency) for target in self.queues
        }
        engine.limiters.update(self.limiters)  # the run summary reads them where it always did
        self.out = 0
        self.cached: dict[str, TargetOutput] = {}
        self._second_chance: SecondChance[str] = SecondChance(engine)

    def prefetch_cache(self) -> None:
        """Look up every cacheable trial's response in the cache, in one query."""
        self.cached = self.engine.cached_responses(self.trials)

    @property
    def finished(self) -> bool:
        """Nothing out, and nothing left to hand out (or a stop was asked)."""
        return self.out == 0 and (self.engine.stopping.is_set() or not self.waiting)

    @property
    def waiting(self) -> int:
        """Trials not handed out yet."""
        return sum(len(q) for q in self.queues.values())

    def take(self, most: int) -> list[Job]:
        """Up to `most` trials that their targets' limits allow out now, targets in turn."""
        jobs: list[Job] = []
        if self.engine.stopping.is_set():
            return jobs
        progress = True
        while len(jobs) < most and progress:
            progress = False
            for target, queue in self.queues.items():
                limiter = self.limiters[target]
                if queue and limiter.in_flight < limiter.limit and len(jobs) < most:
                    trial = self.trials[queue.popleft()]
                    jobs.append(Job.of(trial, self.cached.pop(trial.trial_id, None)))
                    limiter.in_flight += 1
                    self.out += 1
                    progress = True
        return jobs

    async def done(self, done: Done) -> None:
        """A worker finished a trial: record it, give its target's slot back."""
        trial = self.trials[done.trial_id]
        self.engine.deliver(done.result(self.engine.run_id, trial), done.key)
        limiter = self._release(trial)
        if done.output.error is None:
            await limiter.succeeded()

    def rate_limited(self, target_id: str) -> None:
        """A worker's call got a 429: fewer of this target's trials out, for everyone."""
        limiter = self.limiters.get(target_id)
        if limiter is not None:
            limiter.rate_limited()

    async def lost(self, trial_ids: Iterable[str], why: str) -> None:
        """Trials whose worker died: each is handed out once more, then recorded as an error."""
        for trial_id in trial_ids:
            trial = self.trials[trial_id]
            self._release(trial)
            if self._second_chance.grant(trial_id):
                self.queues[trial.target_id].appendleft(trial_id)
            else:
                await self._second_chance.give_up(trial, why)

    def _release(self, trial: Trial) -> AdaptiveLimiter:
        limiter = self.limiters[trial.target_id]
        limiter.in_flight -= 1
        self.out -= 1
        return limiter
