"""`--workers N`: trials run in N worker processes; this process keeps the rest.

The official SDKs cost milliseconds of CPU per call, so one Python process saturates
one core long before the network is busy. Workers (worker_main.py) make the calls and
grade; the parent hands out trials within the global per-target limits (dispatch.py),
writes every result through the one writer, draws the progress and serves the response
cache. A worker that dies loses only the trials it had out: each is handed to another
worker once, then recorded as an error; a replacement worker is started while work
remains. If the parent dies, its workers see their pipe close and exit, and
`evalkit resume` runs what was not saved, as for a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass, field

from evalkit.engine import wire
from evalkit.engine.dispatch import Dispatcher, Job
from evalkit.engine.forking import Forked, can_fork, fork_worker
from evalkit.engine.remote import Setup, WorkerError
from evalkit.engine.runner import Engine, EngineTotals
from evalkit.records import Trial

_START_TIMEOUT = 120.0  # seconds for a worker to import evalkit and load the plan
_EXIT_TIMEOUT = 10.0


@dataclass(slots=True)
class _Proc:
    """One worker process and what it has out."""

    process: Forked | asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.WriteTransport
    out: set[str] = field(default_factory=set)
    alive: bool = True

    def send(self, message: object) -> None:
        if self.alive and not self.writer.is_closing():
            self.writer.write(wire.frame(message))


class WorkerPool:
    """Runs a batch of trials in `count` worker processes; see the module docstring."""

    def __init__(self, count: int, setup: Setup) -> None:
        self.count = count
        self.setup = setup
        self.procs: list[_Proc] = []
        self.restarts = 0
        self.readers: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._failure: str | None = None
        self._error: BaseException | None = None  # raised while handling a worker's message

    async def run(self, engine: Engine, trials: list[Trial]) -> EngineTotals:
        """Run every trial (unless stopped) and return the engine's totals."""
        book = Dispatcher(engine, trials)
        book.prefetch_cache()
        try:
            starting = await asyncio.gather(
                *(self._start() for _ in range(self.count)), return_exceptions=True
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
            self._fill(book)
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

    async def _start(self) -> _Proc:
        to_child, from_parent = os.pipe()[::-1]  # (write end, read end) for the child's input
        from_child, to_parent = os.pipe()
        process: Forked | asyncio.subprocess.Process
        try:
            if can_fork():
                process = fork_worker(from_parent, to_parent)
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
        finally:
            os.close(from_parent)
            os.close(to_parent)
        reader, writer = await wire.open_pipes(from_child, to_child)
        proc = _Proc(process, reader, writer)
        proc.send(("setup", self.setup))
        try:
            reply = await asyncio.wait_for(wire.receive(reader), _START_TIMEOUT)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            process.kill()
            raise WorkerError(
                f"a worker process did not start ({type(exc).__name__}); see its output above"
            ) from None
        if reply[0] != "ready":
            process.kill()
            raise WorkerError(f"a worker could not load the plan: {reply[1]}")
        return proc

    async def _replace(self, book: Dispatcher) -> None:
        """A new worker for one that died, while there is work for it."""
        if self.restarts >= 2 * self.count + 2:
            raise WorkerError(
                f"{self.restarts} worker processes died during the run; giving up",
                hint="see their output above; `evalkit resume` continues the run",
            )
        self.restarts += 1
        proc = await self._start()
        self.procs.append(proc)
        self.readers.append(asyncio.create_task(self._read(proc, book)))
        self._fill(book)

    def _fill(self, book: Dispatcher) -> None:
        """Hand out what the limits allow, to the live workers holding the least."""
        live = [p for p in self.procs if p.alive]
        if not live:
            return
        jobs = book.take(1_000_000)
        if not jobs:
            return
        batches: dict[int, list[Job]] = {}
        for job in jobs:
            proc = min(live, key=lambda p: len(p.out))
            proc.out.add(job.trial_id)
            batches.setdefault(id(proc), []).append(job)
        for proc in live:
            if batch := batches.get(id(proc)):
                proc.send(("jobs", batch))

    async def _read(self, proc: _Proc, book: Dispatcher) -> None:
        """Take one worker's messages until it is gone."""
        try:
            while True:
                message = await wire.receive(proc.reader)
                kind = message[0]
                if kind == "done":
                    for done in message[1]:
                        proc.out.discard(done.trial_id)
                        await book.done(done)
                    book.engine.totals.retries += message[2]
                    self._fill(book)
                elif kind == "429":
                    book.rate_limited(message[1])
                elif kind == "failed":
                    self._failure = str(message[1])
                self._wake.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        proc.alive = False
        code = await proc.process.wait()
        lost, proc.out = proc.out, set()
        if lost:
            await book.lost(lost, f"worker process {proc.process.pid} died (exit code {code})")
        if book.waiting and not book.engine.stopping.is_set() and self._failure is None:
            try:
                await self._replace(book)
            except WorkerError as exc:
                self._failure = str(exc)
        self._fill(book)
        self._wake.set()

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
