"""`--workers N`: trials run in N worker processes; this process keeps the rest.

The official SDKs cost milliseconds of CPU per call, so one Python process saturates
one core long before the network is busy. Workers (worker_main.py) make the calls and
grade, each within its share of every target's concurrency, from a queue of trials
this process keeps topped up in batches (handout.py); this process writes every
result through the one writer, draws the progress, serves the response cache and
passes each 429 on to every worker. A worker that dies loses only the trials it was
running (running.py says which): each is handed to another worker once, then
recorded as an error; the ones it had only queued wait again; a replacement worker is
started while work remains. If this process dies, its workers see their pipe close
and exit, and `evalkit resume` runs what was not saved, as for a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass

from evalkit.engine import wire
from evalkit.engine.dispatch import Job
from evalkit.engine.forking import Forked, can_fork, fork_worker
from evalkit.engine.handout import Handout
from evalkit.engine.remote import Setup, WorkerError
from evalkit.engine.runner import Engine, EngineTotals
from evalkit.engine.running import RunningTable
from evalkit.engine.worker_main import Inherited, Start
from evalkit.records import Trial
from evalkit.workspace.loaded import LoadedPlan

_START_TIMEOUT = 120.0  # seconds for a worker to import evalkit and load the plan
_EXIT_TIMEOUT = 10.0


@dataclass(slots=True)
class _Proc:
    """One worker process, the slot (shares and held trials) it serves, its lanes."""

    slot: int
    process: Forked | asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.WriteTransport
    running: RunningTable
    alive: bool = True

    def send(self, message: object) -> None:
        if self.alive and not self.writer.is_closing():
            self.writer.write(wire.frame(message))


class WorkerPool:
    """Runs a batch of trials in `count` worker processes; see the module docstring."""

    def __init__(self, count: int, setup: Setup, plan: LoadedPlan | None = None) -> None:
        self.count = count
        self.setup = setup
        self.plan = plan  # inherited by forked workers (spawned ones load it themselves)
        self.procs: list[_Proc] = []
        self.restarts = 0
        self.readers: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._failure: str | None = None
        self._error: BaseException | None = None  # raised while handling a worker's message
        self._stealing: set[tuple[int, str]] = set()  # (from slot, target) asked, not answered

    async def run(self, engine: Engine, trials: list[Trial]) -> EngineTotals:
        """Run every trial (unless stopped) and return the engine's totals."""
        # more workers than slots of concurrency would have nothing to run
        slots = sum(engine.limits[t].concurrency for t in {t.target_id for t in trials})
        self.count = max(1, min(self.count, slots))
        book = Handout(engine, trials, self.count)
        book.prefetch_cache()
        try:
            starting = await asyncio.gather(
                *(self._start(slot, book) for slot in range(self.count)), return_exceptions=True
            )
            started = [p for p in starting if isinstance(p, _Proc)]
            self.procs.extend(started)  # killed below if another one failed to start
            for failed in starting:
                if isinstance(failed, BaseException):
                    raise failed
            self.readers = [asyncio.create_task(self._read(p, book)) for p in started]
            for task in self.readers:
                task.add_done_callback(self._reader_ended)
            stopping = asyncio.create_task(engine.stopping.wait())
            told_stop = False
            self._fill_all(book)
            while not book.finished:
                if self._error is not None:
                    raise self._error  # e.g. the store refused a result: fail loudly, not hang
                if self._failure is not None:
                    raise WorkerError(f"a worker failed: {self._failure}")
                if engine.stopping.is_set() and not told_stop:
                    told_stop = True
                    for proc in self.procs:
                        proc.send(("stop",))
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait({waking, stopping}, return_when=asyncio.FIRST_COMPLETED)
                waking.cancel()
                self._wake.clear()
            if self._failure is not None:
                raise WorkerError(f"a worker failed: {self._failure}")
            stopping.cancel()
            await self._close()
        finally:
            for task in self.readers:
                task.cancel()
            self._kill()
        engine.totals.interrupted = engine.stopping.is_set()
        return engine.totals

    async def _start(self, slot: int, book: Handout) -> _Proc:
        shares = book.accounts[slot].shares
        lanes = sum(shares.values())
        to_child, from_parent = os.pipe()[::-1]  # (write end, read end) for the child's input
        from_child, to_parent = os.pipe()
        process: Forked | asyncio.subprocess.Process
        forked = can_fork() and self.plan is not None
        running = RunningTable.create(lanes, file=not forked)
        try:
            if forked:
                assert self.plan is not None
                inherited = Inherited(self.plan, book.trials, running)
                process = fork_worker(from_parent, to_parent, inherited)
            else:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "evalkit.engine.worker_main",
                    str(from_parent),
                    str(to_parent),
                    pass_fds=(from_parent, to_parent),
                    stdin=asyncio.subprocess.DEVNULL,
                    start_new_session=True,  # Ctrl-C reaches the parent only; it drains workers
                )
        except BaseException:
            running.unlink()
            raise
        finally:
            os.close(from_parent)
            os.close(to_parent)
        reader, writer = await wire.open_pipes(from_child, to_child)
        proc = _Proc(slot, process, reader, writer, running)
        table = None if forked else [Job.of(t) for t in book.trials]
        proc.send(("setup", self.setup, Start(shares, table, running.path)))
        try:
            reply = await asyncio.wait_for(wire.receive(reader), _START_TIMEOUT)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            process.kill()
            raise WorkerError(
                f"a worker process did not start ({type(exc).__name__}); see its output above"
            ) from None
        finally:
            running.unlink()  # mapped by now (or never will be)
        if reply[0] != "ready":
            process.kill()
            raise WorkerError(f"a worker could not load the plan: {reply[1]}")
        return proc

    async def _replace(self, slot: int, book: Handout) -> None:
        """A new worker for one that died, in its slot, while there is work for it."""
        if self.restarts >= 2 * self.count + 2:
            raise WorkerError(
                f"{self.restarts} worker processes died during the run; giving up",
                hint="see their output above; `evalkit resume` continues the run",
            )
        self.restarts += 1
        proc = await self._start(slot, book)
        self.procs.append(proc)
        reader = asyncio.create_task(self._read(proc, book))
        reader.add_done_callback(self._reader_ended)
        self.readers.append(reader)
        self._fill_all(book)

    def _live(self) -> list[_Proc]:
        return [p for p in self.procs if p.alive]

    def _fill(self, proc: _Proc, book: Handout, live: int) -> None:
        jobs, cached = book.fill(proc.slot, live)
        if jobs:
            proc.send(("jobs", jobs, cached))

    def _fill_all(self, book: Handout, *, neediest_first: bool = False) -> None:
        live = self._live()
        if neediest_first:  # trials given back go to the worker that ran dry
            live.sort(key=lambda p: book.accounts[p.slot].count_all())
        for proc in live:
            self._fill(proc, book, len(live))

    def _steal_for(self, proc: _Proc, book: Handout) -> None:
        """Nothing left to hand out and `proc` has idle lanes: ask the worker holding
        the most unstarted trials of that target to give some back."""
        for target, idle in book.starved(proc.slot).items():
            donors = [
                (book.accounts[p.slot].count(target) - book.accounts[p.slot].shares[target], p)
                for p in self._live()
                if p is not proc and (p.slot, target) not in self._stealing
            ]
            surplus, donor = max(donors, key=lambda d: d[0], default=(0, None))
            if donor is not None and surplus > 0:
                self._stealing.add((donor.slot, target))
                donor.send(("steal", target, min(idle, (surplus + 1) // 2)))

    async def _read(self, proc: _Proc, book: Handout) -> None:
        """Take one worker's messages until it is gone."""
        try:
            while True:
                message = await wire.receive(proc.reader)
                kind = message[0]
                if kind == "done":
                    for done in message[1]:
                        book.done(proc.slot, done)
                    book.engine.totals.retries += message[2]
                    live = self._live()
                    self._fill(proc, book, len(live))
                    if not book.left:
                        self._steal_for(proc, book)
                elif kind == "429":
                    book.rate_limited(message[1])
                    for other in self._live():
                        if other is not proc:
                            other.send(("429", message[1]))
                elif kind == "stopped":
                    self._target_stopped(proc, book, message[1], message[2])
                elif kind == "returned":
                    book.returned(proc.slot, message[1])
                    self._stealing = {s for s in self._stealing if s[0] != proc.slot}
                    self._fill_all(book, neediest_first=True)
                elif kind == "failed":
                    self._failure = str(message[1])
                self._wake.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        proc.alive = False
        self._stealing = {s for s in self._stealing if s[0] != proc.slot}
        code = await proc.process.wait()
        why = f"worker process {proc.process.pid} died (exit code {code})"
        await book.lost(proc.slot, proc.running.running(), why)
        if book.left and not book.engine.stopping.is_set() and self._failure is None:
            try:
                await self._replace(proc.slot, book)
            except WorkerError as exc:
                self._failure = str(exc)
        self._fill_all(book)
        self._wake.set()

    def _target_stopped(self, proc: _Proc, book: Handout, target: str, why: str) -> None:
        """A worker stopped sending to `target` (rejected credentials): so does every
        worker, and its remaining trials are not run, as in one process."""
        engine = book.engine
        book.stop_target(target)
        if target in engine.totals.stopped_targets:
            return
        engine.totals.stopped_targets[target] = why
        engine.on_target_stopped(target, why)
        for other in self._live():
            if other is not proc:
                other.send(("stopped", target, why))

    def _reader_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            self._error = self._error or error
            self._wake.set()

    async def _close(self) -> None:
        for proc in self.procs:
            proc.send(("exit",))
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.process.wait(), _EXIT_TIMEOUT)
            except TimeoutError:
                proc.process.kill()
            proc.writer.close()

    def _kill(self) -> None:
        for proc in self.procs:
            if proc.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.kill()
            proc.writer.close()
