"""A worker process: `python -m evalkit.engine.worker_main READ_FD WRITE_FD`.

Started by the parent (workers.py) in a session of its own, so a Ctrl-C in the
terminal reaches only the parent, which drains its workers itself. It reads `setup`,
then `jobs` batches (trial indices), `429`s and `stopped` targets seen by other
workers, `steal`, `stop` and `exit`; it writes `ready` (or `failed`), `done` batches,
`429`s, `stopped` targets and `returned` trials.

For each target the worker runs as many lanes as its share of the target's
concurrency (handout.py), each taking the next trial from a local queue the parent
keeps topped up; so no call waits for a message from the parent. A 429 halves this
worker's limit at once and is reported, and the parent tells every other worker to
halve theirs: the back-off stays global. When the parent is gone (its end of the pipe
closes, e.g. it was killed with -9) the worker exits at once: everything it had not
sent is the parent's in-flight work, which a resume runs again.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from evalkit.engine import wire
from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.dispatch import Job
from evalkit.engine.remote import RemoteRunner, Setup
from evalkit.engine.running import RunningTable
from evalkit.records import TargetOutput, Trial
from evalkit.workspace.loaded import LoadedPlan

# Finished trials go back in batches: a message per trial cost the parent more CPU than
# the trial itself for fast python targets. Sent when this many wait, or after this long.
_FLUSH_COUNT = 64
_FLUSH_SECONDS = 0.01


@dataclass(slots=True)
class Start:
    """What the parent tells one worker besides the plan: its shares and its trials."""

    shares: dict[str, int]  # target id -> lanes (this worker's part of its concurrency)
    table: list[Job] | None  # the run's trials, for a spawned worker (a forked one has them)
    running_path: str | None  # the running table's file, for a spawned worker


@dataclass(slots=True)
class Inherited:
    """What a forked worker takes over from the parent's memory."""

    plan: LoadedPlan
    trials: list[Trial]
    running: RunningTable


class _Shared(AdaptiveLimiter):
    """This worker's part of a target's limit; a 429 here is reported to the parent."""

    def __init__(self, target_id: str, share: int, report: Callable[[str], None]) -> None:
        super().__init__(share)
        self.target_id = target_id
        self.report = report

    def rate_limited(self) -> None:
        super().rate_limited()
        self.report(self.target_id)

    def told(self) -> None:
        """Another worker saw a 429 on this target: halve here too, without reporting."""
        super().rate_limited()


class _Worker:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.WriteTransport,
        inherited: Inherited | None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.inherited = inherited
        self.runner: RemoteRunner | None = None
        self.trials: list[Trial] = []
        self.running: RunningTable | None = None
        self.queues: dict[str, deque[int]] = {}
        self.wakes: dict[str, asyncio.Event] = {}
        self.limiters: dict[str, _Shared] = {}
        self.cached: dict[int, TargetOutput] = {}
        self.lanes: list[asyncio.Task[None]] = []
        self.flush_due = False
        self.retries_sent = 0

    def send(self, message: object) -> None:
        self.writer.write(wire.frame(message))

    def rate_limited(self, target_id: str) -> None:
        self.send(("429", target_id))  # at once: the parent slows every worker down

    async def serve(self) -> None:
        while True:
            try:
                message = await wire.receive(self.reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                os._exit(0)  # the parent is gone; nobody is left to take results
            kind = message[0]
            if kind == "jobs":
                self.take(message[1], message[2])
            elif kind == "429":
                if (limiter := self.limiters.get(message[1])) is not None:
                    limiter.told()
            elif kind == "stopped":
                self.target_stopped(message[1], message[2], tell=False)
            elif kind == "steal":
                self.give_back(message[1], message[2])
            elif kind == "setup":
                self.setup(message[1], message[2])
            elif kind == "stop" and self.runner is not None:
                self.runner.engine.stop()
                for target in self.queues:
                    self.give_back(target, len(self.queues[target]))
            elif kind == "exit":
                for lane in self.lanes:
                    lane.cancel()
                self.flush()
                return

    def setup(self, setup: Setup, start: Start) -> None:
        try:
            inherited = self.inherited
            self.runner = RemoteRunner(
                setup, self.rate_limited, inherited.plan if inherited else None
            )
            if inherited is not None:
                self.trials, self.running = inherited.trials, inherited.running
            else:
                assert start.table is not None and start.running_path is not None
                self.trials = [self.runner.trial(job) for job in start.table]
                self.running = RunningTable.attach(start.running_path, sum(start.shares.values()))
        except Exception as exc:  # said to the parent, which stops the run with it
            self.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        self.runner.engine.on_target_stopped = self.target_stopped
        lane = 0
        for target, share in start.shares.items():
            self.queues[target] = deque()
            self.wakes[target] = asyncio.Event()
            if share > 0:
                self.limiters[target] = _Shared(target, share, self.rate_limited)
                self.runner.engine.limiters[target] = self.limiters[target]
            for _ in range(share):
                self.lanes.append(asyncio.create_task(self.lane(target, lane)))
                lane += 1
        self.send(("ready", os.getpid()))

    def take(self, indices: list[int], cached: dict[int, TargetOutput]) -> None:
        """Trials from the parent, queued for their target's lanes."""
        self.cached.update(cached)
        for index in indices:
            self.queues[self.trials[index].target_id].append(index)
        for target, wake in self.wakes.items():
            if self.queues[target]:
                wake.set()

    def give_back(self, target: str, count: int) -> None:
        """Hand up to `count` unstarted trials of `target` back to the parent."""
        queue = self.queues.get(target)
        back = [queue.pop() for _ in range(min(count, len(queue)))] if queue else []
        for index in back:
            self.cached.pop(index, None)
        self.send(("returned", back))

    def target_stopped(self, target: str, why: str, *, tell: bool = True) -> None:
        """Three identical auth failures on `target` (here, or in another worker as the
        parent says): send it nothing more, and give its queued trials back unrun."""
        assert self.runner is not None
        self.runner.engine.totals.stopped_targets.setdefault(target, why)
        if tell:
            self.send(("stopped", target, why))
        if self.queues.get(target):
            self.give_back(target, len(self.queues[target]))

    async def lane(self, target: str, lane: int) -> None:
        """Run this target's trials one after another, as one slot of its concurrency."""
        assert self.runner is not None and self.running is not None
        queue, wake, runner, running = (
            self.queues[target],
            self.wakes[target],
            self.runner,
            self.running,
        )
        while True:
            while not queue:
                wake.clear()
                await wake.wait()
            if target in runner.engine.totals.stopped_targets:
                self.give_back(target, len(queue))  # sent before the parent knew
                continue
            index = queue.popleft()
            running.start(lane, index)  # before the call: a death now is this trial's
            try:
                await runner.run_trial(self.trials[index], self.cached.pop(index, None))
            except Exception as exc:  # an engine bug: the parent stops the run with it
                self.send(("failed", f"{type(exc).__name__}: {exc}"))
            running.stop(lane)
            self.finished()

    def finished(self) -> None:
        assert self.runner is not None
        if len(self.runner.outbox.done) >= _FLUSH_COUNT:
            self.flush()
        elif not self.flush_due:
            self.flush_due = True
            asyncio.get_running_loop().call_later(_FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        self.flush_due = False
        if self.runner is None:
            return
        done, _ = self.runner.outbox.take()
        retries = self.runner.engine.totals.retries
        if done:
            self.send(("done", done, retries - self.retries_sent))
            self.retries_sent = retries


async def _main(read_fd: int, write_fd: int, inherited: Inherited | None) -> None:
    reader, writer = await wire.open_pipes(read_fd, write_fd)
    await _Worker(reader, writer, inherited).serve()
    await wire.close(writer)  # the last results must reach the parent


def serve_pipes(read_fd: int, write_fd: int, inherited: Inherited | None = None) -> None:
    """Serve the parent on these pipes until it says `exit` or goes away."""
    asyncio.run(_main(read_fd, write_fd, inherited))


def main() -> None:
    """Entry point of a worker process started as a fresh interpreter."""
    serve_pipes(int(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()
