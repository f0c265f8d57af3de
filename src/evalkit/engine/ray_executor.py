"""`--executor ray`: batches of trials as Ray tasks (or on Ray actors), results streamed
back to this process's writer in order of completion.

The driver (this process) keeps what it keeps with worker processes: the writer, the
progress, the response cache and the per-target limits (dispatch.py); a batch is
submitted only while its target's trials out stay within the plan's concurrency, so
a cluster of a hundred nodes still sends a provider no more than the plan allows.
A 429 comes back with its batch and halves the target's limit for every later one.

Each Ray worker process loads the workspace once (remote.py) and keeps one event loop,
so SDK clients and connections live across batches. With `ray: {actors: N}`, N
long-lived actors (each with `num_cpus` / `num_gpus`) run the batches instead: a
`python` target that loads a model at import loads it once per actor.

The workspace must be at the same path on every node (the local machine always is;
on a cluster, bake it into the image or mount it), with evalkit installed there.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
from typing import Any

from evalkit.engine.dispatch import Dispatcher, Done, Job
from evalkit.engine.remote import RemoteRunner, Setup, WorkerError
from evalkit.engine.runner import Engine, EngineTotals
from evalkit.errors import UsageError
from evalkit.records import Trial
from evalkit.workspace.models import RaySpec


def _import_ray() -> Any:
    """The `ray` module, or None when the extra is not installed."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        return None


# A Ray worker process serves many batches; its runner and loop outlive each one.
_RUNNERS: dict[tuple[str, str], RemoteRunner] = {}
_LOOP: asyncio.AbstractEventLoop | None = None
_MAX_BATCH = 256

BatchResult = tuple[list[Done], list[str], int]  # finished trials, 429'd targets, retries


def run_batch(setup: Setup, jobs: list[Job]) -> BatchResult:
    """Run `jobs` in this (Ray worker) process; what the driver records."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    key = (setup.run_id, setup.config_hash)
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _RUNNERS[key] = RemoteRunner(setup)
    before = runner.engine.totals.retries

    async def go() -> None:
        await asyncio.gather(*(runner.run(job) for job in jobs))

    _LOOP.run_until_complete(go())
    done, limited = runner.outbox.take()
    return done, limited, runner.engine.totals.retries - before


class _BatchActor:
    """A long-lived worker holding the plan's targets (and any model they load)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        run_batch(setup, [])  # load now, not on the first batch

    def run(self, jobs: list[Job]) -> BatchResult:
        return run_batch(self.setup, jobs)


class RayExecutor:
    """Runs an engine's trials on Ray; see the module docstring."""

    def __init__(self, setup: Setup, spec: RaySpec) -> None:
        self.ray = _import_ray()
        if self.ray is None:
            raise UsageError(
                "--executor ray needs Ray, which is not installed",
                hint="pip install 'evalkit-cli[ray]'",
            )
        self.setup = setup
        self.spec = spec

    async def run(self, engine: Engine, trials: list[Trial]) -> EngineTotals:
        """Run every trial (unless stopped) and return the engine's totals."""
        self._connect()
        book = Dispatcher(engine, trials)
        book.prefetch_cache()
        cpus = max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        size = self.spec.batch_size or _batch_size(engine, cpus)
        submit, slots = self._submitter(cpus)
        out: dict[asyncio.Future[BatchResult], list[Job]] = {}
        while not book.finished:
            while len(out) < slots and (jobs := book.take(size)):
                out[asyncio.wrap_future(submit(jobs).future())] = jobs
            if not out:
                await asyncio.sleep(0.01)  # stopping: nothing out; `finished` says so next
                continue
            ready, _ = await asyncio.wait(list(out), return_when=asyncio.FIRST_COMPLETED)
            for future in ready:
                jobs = out.pop(future)
                try:
                    done, limited, retries = future.result()
                except Exception as exc:  # a Ray worker died or the batch raised
                    await book.lost((j.trial_id for j in jobs), f"Ray task failed ({exc!r:.200})")
                    continue
                for target_id in limited:
                    book.rate_limited(target_id)
                for finished in done:
                    await book.done(finished)
                engine.totals.retries += retries
        engine.totals.interrupted = engine.stopping.is_set()
        return engine.totals

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        try:
            self.ray.init(
                address=self.spec.address,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=True,
                configure_logging=True,
            )
        except Exception as exc:  # a wrong address, a cluster that is down
            raise WorkerError(
                f"could not connect to Ray at {self.spec.address or 'a new local instance'}: {exc}",
                hint="check `ray.address` in the plan (or RAY_ADDRESS), or `ray status`",
            ) from None

    def _submitter(self, cpus: int) -> tuple[Any, int]:
        """How a batch is submitted, and how many may be out at once."""
        options = {"num_cpus": self.spec.num_cpus, "num_gpus": self.spec.num_gpus}
        if self.spec.actors:
            actor_class = self.ray.remote(_BatchActor).options(**options, max_concurrency=1)
            actors = [actor_class.remote(self.setup) for _ in range(self.spec.actors)]
            turn = iter(range(1 << 62))

            def on_actor(jobs: list[Job]) -> Any:
                return actors[next(turn) % len(actors)].run.remote(jobs)

            return on_actor, 2 * len(actors)  # one running, one queued, per actor
        task = self.ray.remote(run_batch).options(**options, max_retries=0)

        def as_task(jobs: list[Job]) -> Any:
            return task.remote(self.setup, jobs)

        return as_task, 2 * cpus


def _batch_size(engine: Engine, cpus: int) -> int:
    """Trials per task: enough to amortise Ray's per-task cost, few enough that every
    CPU gets a share of what the targets' limits let out at once."""
    allowed = sum(limits.concurrency for limits in engine.limits.values())
    return max(1, min(_MAX_BATCH, math.ceil(allowed / (2 * cpus))))
