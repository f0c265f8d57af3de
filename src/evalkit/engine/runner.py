"""The async engine: runs trials against targets, grades them, hands results on.

Each target gets its own pool of `concurrency` workers pulling from its own queue,
so a slow or rate-limited target never starves another, and memory stays bounded
by the number of workers rather than the number of trials. Every attempt runs
under a wall-clock timeout enforced here (SDK retries are off, so the retry loop
below is the only one). Finished results go to a `ResultSink` (the store's single
writer) one by one: a crash loses at most what the writer had not yet committed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.graders.aggregate import bind_case, grade_output
from evalkit.graders.base import BoundGrader
from evalkit.graders.peers import (
    PeerOutputs,
    TrialIdentity,
    current_peers,
    current_trial,
    parse_peer,
)
from evalkit.records import (
    Case,
    ErrorKind,
    Status,
    TargetFailure,
    TargetOutput,
    TargetRequest,
    Trial,
    TrialResult,
)
from evalkit.targets.base import Target, TargetCallError
from evalkit.targets.limits import TargetLimits, request_hash

Variant = tuple[str, str | None]  # (target id, prompt id)


class ResultSink(Protocol):
    """Where finished results go (the store's writer)."""

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None: ...


class Executor(Protocol):
    """Runs an engine's trials elsewhere (worker processes, Ray) instead of in-process."""

    async def run(self, engine: Engine, trials: list[Trial]) -> EngineTotals: ...


class RunObserver(Protocol):
    """Told about progress; the CLI draws it, tests count it."""

    def trial_finished(self, result: TrialResult) -> None: ...


@dataclass(slots=True)
class EngineTotals:
    """What the engine did, for the run summary."""

    finished: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    cache_hits: int = 0
    retries: int = 0
    interrupted: bool = False


CacheLookup = Callable[[Iterable[str]], dict[str, TargetOutput]]


class Engine:
    """Runs one batch of trials; construct, then `await run()`."""

    def __init__(
        self,
        *,
        run_id: str,
        targets: dict[Variant, Target],
        limits: dict[str, TargetLimits],
        sink: ResultSink,
        observer: RunObserver | None = None,
        cache_lookup: CacheLookup | None = None,
        seed: int | None = None,
    ) -> None:
        self.run_id = run_id
        self.targets = targets
        self.limits = limits
        self.sink = sink
        self.observer = observer
        self.cache_lookup = cache_lookup  # None: don't read the cache (--no-cache)
        self.stopping = asyncio.Event()  # set by a first Ctrl-C: finish in-flight, start none
        self.totals = EngineTotals()
        self._rng = random.Random(seed)
        self._graders: dict[int, list[BoundGrader]] = {}  # by id(case): bind once per case
        self._bind_cache: dict[str, BoundGrader] = {}  # graders configured alike bind once
        self._prepared: dict[str, tuple[TargetRequest, str | None]] = {}
        self._cached: dict[str, TargetOutput] = {}
        self.limiters: dict[str, AdaptiveLimiter] = {}  # by target id: fewer calls after 429s
        self.peers = PeerOutputs(set())
        self._peer_checked: set[int] = set()  # id(case) of cases looked at for `against:`
        self._peer_cases: set[int] = set()  # id(case) of cases with a grader that has one
        self._deferred: list[asyncio.Task[None]] = []  # gradings waiting for a peer
        self.executor: Executor | None = None  # None: run the trials in this process

    def stop(self) -> None:
        """Let in-flight trials finish, start no new ones."""
        self.stopping.set()

    async def run(self, trials: list[Trial]) -> EngineTotals:
        """Run every trial (unless stopped); returns the totals."""
        if self.executor is not None:
            return await self.executor.run(self, trials)
        self._prefetch_cache(trials)
        self.peers = PeerOutputs(self._compared_variants(trials))
        current_peers.set(self.peers)  # the worker tasks below inherit it
        queues: dict[str, deque[Trial]] = {}
        for trial in trials:
            queues.setdefault(trial.target_id, deque()).append(trial)
        workers = [
            self._worker(queue, limits)
            for target_id, queue in queues.items()
            for limits in [self.limits[target_id]]
            for _ in range(min(limits.concurrency, len(queue)))
        ]
        await asyncio.gather(*workers)
        self.peers.close()  # peers that never ran resolve now: their graders skip
        await asyncio.gather(*self._deferred)
        self.totals.interrupted = self.stopping.is_set()
        return self.totals

    def _compared_variants(self, trials: list[Trial]) -> set[tuple[str, str | None]]:
        """The (target, prompt) variants some grader compares against (`against:`)."""
        wanted: set[tuple[str, str | None]] = set()
        for trial in trials:
            if id(trial.case) in self._peer_checked:
                continue
            self._peer_checked.add(id(trial.case))
            refs = [
                ref
                for g in self._bound(trial.case)
                if isinstance(ref := getattr(g.params, "against", None), str)
            ]
            if refs:
                self._peer_cases.add(id(trial.case))
                wanted.update(parse_peer(ref) for ref in refs)
        return wanted

    def _prefetch_cache(self, trials: list[Trial]) -> None:
        """Render cacheable requests up front and look up all their keys in one query."""
        keys: list[str] = []
        for trial in trials:
            target = self.targets[(trial.target_id, trial.prompt_id)]
            try:
                request = target.render(trial.case, trial.epoch)
            except TargetCallError:
                continue  # reported when the trial runs
            fingerprint = target.fingerprint(request)
            if fingerprint is None:
                continue  # python, command, replay: nothing to cache; render again later
            key = request_hash(fingerprint)
            self._prepared[trial.trial_id] = (request, key)
            keys.append(key)
        if keys and self.cache_lookup is not None:
            self._cached = self.cache_lookup(keys)

    async def _worker(self, queue: deque[Trial], limits: TargetLimits) -> None:
        while queue and not self.stopping.is_set():
            trial = queue.popleft()
            started = time.time()
            output, key = await self._produce(trial, limits)
            self.peers.publish(trial.case, _identity(trial), output)
            if id(trial.case) in self._peer_cases:
                # Graded in a task of its own: a worker waiting for a peer trial queued
                # behind it (prompt variants share a queue) would wait forever.
                finish = self._finish(trial, output, key, started)
                self._deferred.append(asyncio.create_task(finish))
            else:
                await self._finish(trial, output, key, started)

    def _count(self, result: TrialResult) -> None:
        totals = self.totals
        totals.finished += 1
        totals.by_status[result.status] = totals.by_status.get(result.status, 0) + 1
        if result.output.cached:
            totals.cache_hits += 1
        if self.observer is not None:
            self.observer.trial_finished(result)

    async def _produce(self, trial: Trial, limits: TargetLimits) -> tuple[TargetOutput, str | None]:
        """The trial's output (from the cache, or the target) and its cache key."""
        target = self.targets[(trial.target_id, trial.prompt_id)]
        prepared = self._prepared.pop(trial.trial_id, None)
        if prepared is not None:
            request, key = prepared
            hit = self._cached.get(key) if key else None
            if hit is not None:
                return replace(hit, cached=True, cost_usd=0.0), key
            return await self._call(target, request, limits), key
        try:
            request = target.render(trial.case, trial.epoch)
        except TargetCallError as exc:
            return TargetOutput(error=_failure(exc), attempts=0), None
        return await self._call(target, request, limits), None

    async def _finish(
        self, trial: Trial, output: TargetOutput, key: str | None, started: float
    ) -> None:
        """Grade the output and hand the result to the sink."""
        current_trial.set(_identity(trial))
        grades, status, score = await grade_output(self._bound(trial.case), trial.case, output)
        result = TrialResult(
            run_id=self.run_id,
            trial_id=trial.trial_id,
            case=trial.case,
            target_id=trial.target_id,
            prompt_id=trial.prompt_id,
            epoch=trial.epoch,
            output=output,
            grades=grades,
            status=status,
            score=score,
            request_hash=key,
            started_at=started,
            finished_at=time.time(),
        )
        self.deliver(result, key)

    def deliver(self, result: TrialResult, key: str | None) -> None:
        """Hand a finished trial to the sink and count it (executors that run trials in
        other processes deliver their results here too)."""
        provider = self.targets[(result.target_id, result.prompt_id)].provider
        self.sink.put(result, key, provider)
        self._count(result)

    async def run_one(self, trial: Trial, cached: TargetOutput | None = None) -> None:
        """Run one trial now, as a worker of an executor does; `cached`, when given, is
        the response-cache hit the parent found for it, graded instead of a call."""
        self._prefetch_cache([trial])  # renders it and computes its cache key
        prepared = self._prepared.get(trial.trial_id)
        if cached is not None and prepared is not None and prepared[1] is not None:
            self._cached[prepared[1]] = cached
        started = time.time()
        output, key = await self._produce(trial, self.limits[trial.target_id])
        if key is not None:
            self._cached.pop(key, None)
        await self._finish(trial, output, key, started)

    async def record_failure(self, trial: Trial, failure: TargetFailure) -> None:
        """Record a trial that could not run (e.g. its worker process died) as an error."""
        await self._finish(trial, TargetOutput(error=failure, attempts=0), None, time.time())

    def _bound(self, case: Case) -> list[BoundGrader]:
        bound = self._graders.get(id(case))
        if bound is None:
            bound = self._graders[id(case)] = bind_case(case, self._bind_cache)
        return bound

    async def call_target(
        self, target: Target, request: TargetRequest, limits: TargetLimits
    ) -> TargetOutput:
        """A call made while grading (a model judge's), with the trials' limiter, timeout
        and retries; a failure comes back as the output's `error`, never raised."""
        return await self._call(target, request, limits)

    async def _call(
        self, target: Target, request: TargetRequest, limits: TargetLimits
    ) -> TargetOutput:
        """One trial's calls: attempts under a wall-clock timeout, retried with backoff."""
        attempt = 0
        while True:
            attempt += 1
            limiter = self.limiters.get(target.id)
            if limiter is None:
                limiter = self.limiters[target.id] = AdaptiveLimiter(limits.concurrency)
            began = time.perf_counter()
            try:
                async with limiter.slot(), asyncio.timeout(limits.timeout):
                    output = await target.generate(request)
            except TimeoutError:
                failure = TargetFailure(
                    ErrorKind.TIMEOUT, f"no answer within {limits.timeout:g}s (attempt {attempt})"
                )
            except TargetCallError as exc:
                failure = _failure(exc)
            except Exception as exc:  # a provider bug must not take the run down
                failure = TargetFailure(ErrorKind.EXCEPTION, f"{type(exc).__name__}: {exc}")
            else:
                if not output.latency_ms:
                    output.latency_ms = (time.perf_counter() - began) * 1000.0
                output.attempts = attempt
                await limiter.succeeded()
                return output
            if failure.kind is ErrorKind.RATE_LIMIT:
                limiter.rate_limited()
            if self.stopping.is_set() or not limits.retry.should_retry(failure, attempt):
                return TargetOutput(
                    error=failure,
                    attempts=attempt,
                    latency_ms=(time.perf_counter() - began) * 1000.0,
                )
            self.totals.retries += 1
            await asyncio.sleep(limits.retry.delay(failure, attempt, self._rng))


def _identity(trial: Trial) -> TrialIdentity:
    return TrialIdentity(trial.target_id, trial.prompt_id, trial.epoch)


def _failure(exc: TargetCallError) -> TargetFailure:
    return TargetFailure(exc.kind, exc.message, exc.status_code, exc.retry_after)


def count_status(totals: EngineTotals, status: Status) -> int:
    """How many finished trials ended with `status`."""
    return totals.by_status.get(status, 0)
