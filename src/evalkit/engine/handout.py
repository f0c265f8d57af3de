"""The parent's book for worker processes: which trials wait, which worker holds which.

Each worker owns a fixed share of every target's concurrency (the shares add up to the
plan's number, see `split`) and runs that many trials at once, pulling from a local
queue. The parent keeps each worker's queue topped up in batches, so a worker never
waits for a round trip to the parent between two trials: a permit is not handed back
and forth per call. What travels is a trial's index in the run's trial list; the
worker has the list (inherited by fork, or sent once at start). Results come back in
batches and are written here, by the one writer.

A worker's queue holds at most its share plus a backlog that shrinks with what is
left to hand out, so at the end of a run no worker sits on trials another one could
start now; a worker that runs dry while another still has unstarted trials is given
some of them (`steal`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.dispatch import Done, SecondChance
from evalkit.engine.runner import Engine
from evalkit.records import TargetOutput, Trial

# Trials a worker may hold beyond its share (or its share, if more), while at least as
# many per worker wait: enough that a fast target does not drain the worker's queue
# during the parent's round trip; near the end the backlog shrinks to a fair part of
# what is left, so the run's tail is not one worker's queue.
BACKLOG = 128


def split(total: int, count: int, offset: int = 0) -> list[int]:
    """`total` slots over `count` workers, as evenly as possible; the remainder goes
    to the workers from `offset` on (targets use different offsets, so the same worker
    does not get every target's extra slot)."""
    base, extra = divmod(total, count)
    return [base + (1 if (k - offset) % count < extra else 0) for k in range(count)]


@dataclass(slots=True)
class Account:
    """One worker slot's shares and the trials it holds (queued or running)."""

    shares: dict[str, int]
    held: dict[str, set[int]] = field(default_factory=dict)
    alone: int | None = None  # a second-chance trial it runs with nothing else

    def count_all(self) -> int:
        """Trials this worker holds, all targets."""
        return sum(len(h) for h in self.held.values())

    def count(self, target: str) -> int:
        """Trials of `target` this worker holds."""
        return len(self.held.get(target, ()))

    def all(self) -> set[int]:
        """Every trial this worker holds."""
        return set().union(*self.held.values()) if self.held else set()


class Handout:
    """Waiting trials per target, what each worker holds, and the delivery of results."""

    def __init__(self, engine: Engine, trials: list[Trial], workers: int) -> None:
        self.engine = engine
        self.trials = trials
        self.index = {t.trial_id: i for i, t in enumerate(trials)}
        targets = list(dict.fromkeys(t.target_id for t in trials))
        self.queues: dict[str, deque[int]] = {t: deque() for t in targets}
        self.retry: dict[str, deque[int]] = {t: deque() for t in targets}  # second chances
        for index, trial in enumerate(trials):
            self.queues[trial.target_id].append(index)
        shares = {
            t: split(engine.limits[t].concurrency, workers, offset)
            for offset, t in enumerate(targets)
        }
        self.accounts = [Account({t: shares[t][k] for t in targets}) for k in range(workers)]
        # For the run summary (lowest limit, decreases): one AIMD book per target, told
        # of every 429 any worker sees; the workers apply the same halving to their shares.
        self.limiters = {t: AdaptiveLimiter(engine.limits[t].concurrency) for t in targets}
        engine.limiters.update(self.limiters)
        self.cached: dict[int, TargetOutput] = {}
        self.out = 0
        self.stopped: set[str] = set()  # targets whose remaining trials are not run
        self._second_chance: SecondChance[int] = SecondChance(engine)

    def prefetch_cache(self) -> None:
        """Look up every cacheable trial's response in the cache, in one query."""
        self.cached = self.engine.cached_responses(dict(enumerate(self.trials)))

    @property
    def waiting(self) -> int:
        """Trials not handed out."""
        return sum(len(q) for q in self.queues.values())

    @property
    def finished(self) -> bool:
        """Nothing held by a worker, and nothing left to hand out (or a stop was asked)."""
        return self.out == 0 and (self.engine.stopping.is_set() or not self.left)

    @property
    def left(self) -> int:
        """Trials not handed out, second chances included."""
        return self.waiting + sum(len(q) for q in self.retry.values())

    def fill(self, slot: int, live: int) -> tuple[list[int], dict[int, TargetOutput]]:
        """Trials to send worker `slot` now (and the cached outputs among them)."""
        jobs: list[int] = []
        account = self.accounts[slot]
        if self.engine.stopping.is_set() or account.alone is not None:
            return jobs, {}
        if not account.count_all() and (index := self._second_try(account)) is not None:
            # A trial that was running when a worker died runs again alone in an idle
            # worker: if that one dies too, it is surely this trial's doing, and no
            # trial that merely ran beside it twice is recorded as an error.
            account.alone = index
            account.held.setdefault(self.trials[index].target_id, set()).add(index)
            jobs.append(index)
        else:
            for target, queue in self.queues.items():
                share = account.shares[target]
                if share == 0 or not queue:
                    continue
                held = account.held.setdefault(target, set())
                backlog = min(max(share, BACKLOG), len(queue) // max(1, live))
                want = share + backlog - len(held)
                for _ in range(min(max(0, want), len(queue))):
                    index = queue.popleft()
                    held.add(index)
                    jobs.append(index)
        self.out += len(jobs)
        # kept until the trial is done: one given back unstarted is sent again with it
        cached = {i: self.cached[i] for i in jobs if i in self.cached}
        return jobs, cached

    def _second_try(self, account: Account) -> int | None:
        for target, retry in self.retry.items():
            if retry and account.shares[target] > 0:
                return retry.popleft()
        return None

    def starved(self, slot: int) -> dict[str, int]:
        """Per target, how many more trials worker `slot` could start now, when nothing
        is left to hand out (0 or missing: it is busy enough)."""
        account = self.accounts[slot]
        return {
            t: account.shares[t] - account.count(t)
            for t, queue in self.queues.items()
            if not queue and not self.retry[t] and account.shares[t] > account.count(t)
        }

    def done(self, slot: int, done: Done) -> None:
        """A worker finished a trial: record it through the one writer."""
        index = self.index[done.trial_id]
        trial = self.trials[index]
        self._release(slot, index)
        self.cached.pop(index, None)
        self.engine.deliver(done.result(self.engine.run_id, trial), done.key)

    def returned(self, slot: int, indices: Iterable[int]) -> None:
        """Trials a worker gives back unstarted (a stop, or for another worker)."""
        for index in indices:
            self._release(slot, index)
            target = self.trials[index].target_id
            if target in self.stopped:
                continue  # not run, as in one process: resume sends them
            (self.retry if index in self._second_chance else self.queues)[target].appendleft(index)

    def stop_target(self, target_id: str) -> None:
        """Hand out no more of this target's trials (its credentials were rejected)."""
        self.stopped.add(target_id)
        self.queues[target_id].clear()
        self.retry[target_id].clear()

    def rate_limited(self, target_id: str) -> None:
        """A worker saw a 429 on this target (the workers halve their shares)."""
        if (limiter := self.limiters.get(target_id)) is not None:
            limiter.rate_limited()

    async def lost(self, slot: int, running: set[int], why: str) -> None:
        """Worker `slot` died. What it had not started waits again; what it was running
        is handed out once more, then recorded as an error."""
        account = self.accounts[slot]
        held = account.all()
        self.returned(slot, sorted(held - running, reverse=True))
        for index in sorted(held & running):
            self._release(slot, index)
            trial = self.trials[index]
            if self._second_chance.grant(index):
                self.retry[trial.target_id].append(index)
            else:
                await self._second_chance.give_up(trial, why)

    def _release(self, slot: int, index: int) -> None:
        account = self.accounts[slot]
        held = account.held.get(self.trials[index].target_id)
        if held is not None and index in held:
            held.discard(index)
            self.out -= 1
        if account.alone == index:
            account.alone = None
