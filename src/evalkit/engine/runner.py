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
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.conversation import ConversationDriver, needs_driver
from evalkit.engine.plan import TrialPlan
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
from evalkit.workspace.secrets import redact_known, redact_text, redact_value

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
    stopped_targets: dict[str, str] = field(default_factory=dict)  # target id -> why
    spent_usd: float = 0.0  # known costs of this process's calls
    cost_stop: str | None = None  # why --max-cost stopped the run


# Identical auth failures on one target before the engine stops sending to it: a
# rejected key fails every trial the same way, and each call may cost a rate-limit slot.
AUTH_FAILURES_TO_STOP = 3


CacheLookup = Callable[[Iterable[str]], dict[str, TargetOutput]]
K = TypeVar("K")


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
        self._auth_failures: dict[str, list[tuple[int | None, str]]] = {}  # by target id
        self.on_target_stopped: Callable[[str, str], None] = lambda _target, _why: None
        self.max_cost: float | None = None  # USD: start no trial that could pass it
        self._priced_calls = 0
        self._in_flight = 0
        # conversations, simulated users and tool loops (see conversation.py)
        self.conversation = ConversationDriver(self)
        self.conversation.save = getattr(sink, "put_cache", None)
        self.executor: Executor | None = None  # None: run the trials in this process

    def stop(self) -> None:
        """Let in-flight trials finish, start no new ones."""
        self.stopping.set()

    async def run(self, trials: Iterable[Trial]) -> EngineTotals:
        """Run every trial (unless stopped); returns the totals.

        `trials` may be a TrialPlan: each target's workers then pull its trials from a
        stream, a chunk at a time, and the plan is never held in memory whole. Worker
        processes and Ray take the trials as one list (their executors batch it).
        """
        if self.executor is not None:
            return await self.executor.run(self, list(trials))
        self.peers = PeerOutputs(self._compared_variants(_cases_of(trials)))
        current_peers.set(self.peers)  # the worker tasks below inherit it
        sources = [
            (_Source(stream, self._prefetch_cache), self.limits[target_id])
            for target_id, stream in _streams(trials)
        ]
        workers = [
            self._worker(source, limits)
            for source, limits in sources
            for _ in range(max(1, limits.concurrency))
        ]
        await asyncio.gather(*workers)
        self.peers.close()  # peers that never ran resolve now: their graders skip
        await asyncio.gather(*self._deferred)
        self.totals.interrupted = self.stopping.is_set()
        return self.totals

    def _compared_variants(self, cases: Iterable[Case]) -> set[tuple[str, str | None]]:
        """The (target, prompt) variants some grader compares against (`against:`)."""
        wanted: set[tuple[str, str | None]] = set()
        for case in cases:
            if id(case) in self._peer_checked:
                continue
            self._peer_checked.add(id(case))
            refs = [
                ref
                for g in self._bound(case)
                if isinstance(ref := getattr(g.params, "against", None), str)
            ]
            if refs:
                self._peer_cases.add(id(case))
                wanted.update(parse_peer(ref) for ref in refs)
        return wanted

    def request_key(self, trial: Trial) -> tuple[TargetRequest, str] | None:
        """`trial`'s rendered request and response-cache key; None when it has none: a
        conversation caches each model call on its own, python, command and replay
        targets are never cached, and a render error is reported when the trial runs."""
        target = self.targets[(trial.target_id, trial.prompt_id)]
        if needs_driver(trial.case, target):
            return None
        try:
            request = target.render(trial.case, trial.epoch)
        except TargetCallError:
            return None
        fingerprint = target.fingerprint(request)
        return None if fingerprint is None else (request, request_hash(fingerprint))

    def cached_responses(self, trials: Mapping[K, Trial]) -> dict[K, TargetOutput]:
        """The cached response of every trial in `trials` that has one, in one query
        (what worker pools hand out with a trial instead of calling its target)."""
        if self.cache_lookup is None:
            return {}
        keys = {k: found[1] for k, trial in trials.items() if (found := self.request_key(trial))}
        hits = self.cache_lookup(set(keys.values())) if keys else {}
        return {k: hits[key] for k, key in keys.items() if key in hits}

    def _prefetch_cache(self, trials: list[Trial]) -> None:
        """Render a chunk's cacheable requests and look up all their keys in one query."""
        keys: list[str] = []
        for trial in trials:
            if (found := self.request_key(trial)) is not None:
                self._prepared[trial.trial_id] = found
                keys.append(found[1])
        if keys and self.cache_lookup is not None:
            self._cached.update(self.cache_lookup(keys))

    def _stopped(self, target_id: str) -> bool:
        return target_id in self.totals.stopped_targets

    async def _worker(self, source: _Source, limits: TargetLimits) -> None:
        while not self.stopping.is_set():
            trial = source.next()
            if trial is None:
                return
            if self._stopped(trial.target_id):
                return  # the rest of this target's trials are not run (resume sends them)
            if self._over_budget():
                return
            started = time.time()
            self._in_flight += 1
            try:
                output, key = await self._produce(trial, limits)
            finally:
                self._in_flight -= 1
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
        if needs_driver(trial.case, target):
            return await self.conversation.produce(target, trial.case, trial.epoch, limits), None
        prepared = self._prepared.pop(trial.trial_id, None)
        if prepared is not None:
            request, key = prepared
            hit = self._cached.pop(key, None) if key else None
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
        output = _without_secrets(output)
        bound = self._bound(trial.case)
        if output.steps is not None and trial.case.turns:  # graders of each turn, then all
            grades, status, score = await self.conversation.grade(bound, trial.case, output)
        else:
            grades, status, score = await grade_output(bound, trial.case, output)
        for grade in grades:
            if grade.reason:
                grade.reason = redact_text(grade.reason)
            if grade.metadata:
                grade.metadata = redact_value(grade.metadata)
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
            if self._stopped(target.id):
                why = self.totals.stopped_targets[target.id]
                return TargetOutput(error=TargetFailure(ErrorKind.AUTH, why), attempts=attempt - 1)
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
                if output.cost_usd:
                    self.totals.spent_usd += output.cost_usd
                    self._priced_calls += 1
                await limiter.succeeded()
                return output
            if failure.kind is ErrorKind.RATE_LIMIT:
                limiter.rate_limited()
            if failure.kind is ErrorKind.AUTH:
                self._auth_failed(target, failure)
            if self.stopping.is_set() or not limits.retry.should_retry(failure, attempt):
                return TargetOutput(
                    error=failure,
                    attempts=attempt,
                    latency_ms=(time.perf_counter() - began) * 1000.0,
                )
            self.totals.retries += 1
            await asyncio.sleep(limits.retry.delay(failure, attempt, self._rng))

    def _over_budget(self) -> bool:
        """Whether one more trial could take spend past `max_cost`: spent so far, plus the
        trials in flight and this one at the mean cost of a priced call. Stops the run."""
        if self.max_cost is None or self.totals.cost_stop is not None:
            return self.totals.cost_stop is not None
        spent = self.totals.spent_usd
        mean = spent / self._priced_calls if self._priced_calls else 0.0
        if spent + (self._in_flight + 1) * mean <= self.max_cost:
            return False
        self.totals.cost_stop = (
            f"--max-cost ${self.max_cost:g} reached: ${spent:.4f} spent, "
            f"{self._in_flight} trials in flight at about ${mean:.4f} each"
        )
        self.stop()
        return True

    def _auth_failed(self, target: Target, failure: TargetFailure) -> None:
        """Count an auth failure; after AUTH_FAILURES_TO_STOP identical ones, stop the target."""
        seen = self._auth_failures.setdefault(target.id, [])
        seen.append((failure.status_code, failure.message))
        last = seen[-AUTH_FAILURES_TO_STOP:]
        if len(last) < AUTH_FAILURES_TO_STOP or len(set(last)) != 1 or self._stopped(target.id):
            return
        credential = getattr(target, "credential_name", None)
        what = f"{credential} was rejected" if credential else "the credentials were rejected"
        code = f"HTTP {failure.status_code}" if failure.status_code else failure.message
        why = f"{what}: {code}"
        self.totals.stopped_targets[target.id] = why
        self.on_target_stopped(target.id, why)


# Trials rendered and looked up in the response cache at a time: one query per chunk,
# and memory bounded by the chunk, not the plan.
PREFETCH_CHUNK = 256


class _Source:
    """One target's trials, pulled a chunk at a time, each chunk prefetched from the cache.

    Workers of one target share it; `next` never awaits, so on one event loop no two
    workers can take the same trial.
    """

    def __init__(self, trials: Iterator[Trial], prefetch: Callable[[list[Trial]], None]) -> None:
        self._trials = trials
        self._prefetch = prefetch
        self._buffer: deque[Trial] = deque()

    def next(self) -> Trial | None:
        """The next trial, or None when the target has no more."""
        if not self._buffer:
            chunk = list(itertools.islice(self._trials, PREFETCH_CHUNK))
            if not chunk:
                return None
            self._prefetch(chunk)
            self._buffer.extend(chunk)
        return self._buffer.popleft()


def _streams(trials: Iterable[Trial]) -> list[tuple[str, Iterator[Trial]]]:
    """(target id, its trials) per target: streamed from a TrialPlan, grouped from a list."""
    if isinstance(trials, TrialPlan):
        return [(target, trials.for_target(target)) for target in trials.target_ids()]
    grouped: dict[str, list[Trial]] = {}
    for trial in trials:
        grouped.setdefault(trial.target_id, []).append(trial)
    return [(target, iter(group)) for target, group in grouped.items()]


def _cases_of(trials: Iterable[Trial]) -> Iterable[Case]:
    if isinstance(trials, TrialPlan):
        return trials.cases
    return list({id(t.case): t.case for t in trials}.values())


def _identity(trial: Trial) -> TrialIdentity:
    return TrialIdentity(trial.target_id, trial.prompt_id, trial.epoch)


def _failure(exc: TargetCallError) -> TargetFailure:
    return TargetFailure(exc.kind, exc.message, exc.status_code, exc.retry_after)


def count_status(totals: EngineTotals, status: Status) -> int:
    """How many finished trials ended with `status`."""
    return totals.by_status.get(status, 0)


def _without_secrets(output: TargetOutput) -> TargetOutput:
    """The output with known secret values (and, in errors and metadata, anything shaped
    like a credential) replaced before graders, the store or the terminal see it."""
    changes: dict[str, Any] = {}
    if output.text:
        text = redact_known(output.text)
        if text != output.text:
            changes["text"] = text
    if output.metadata:
        metadata = redact_value(output.metadata)
        if metadata != output.metadata:
            changes["metadata"] = metadata
    if output.error is not None:
        changes["error"] = replace(output.error, message=redact_text(output.error.message))
    return replace(output, **changes) if changes else output
