"""A worker process: `python -m evalkit.engine.worker_main READ_FD WRITE_FD`.

Started by the parent (workers.py) in a session of its own, so a Ctrl-C in the
terminal reaches only the parent, which drains its workers itself. It reads `setup`,
then `jobs` batches, `stop` and `exit`; it writes `ready` (or `failed`), `done`
batches and `429`s. When the parent is gone (its end of the pipe closes, e.g. it was
killed with -9) the worker exits at once: everything it had not sent is the parent's
in-flight work, which a resume runs again.
"""

from __future__ import annotations

import asyncio
import os
import sys

from evalkit.engine import wire
from evalkit.engine.dispatch import Job
from evalkit.engine.remote import RemoteRunner, Setup

# Finished trials are sent in batches: one write per trial cost the parent more CPU
# than the trial itself for fast python targets.
_FLUSH_SECONDS = 0.002


class _Worker:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.WriteTransport) -> None:
        self.reader = reader
        self.writer = writer
        self.runner: RemoteRunner | None = None
        self.tasks: set[asyncio.Task[None]] = set()
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
            if kind == "setup":
                self.setup(message[1])
            elif kind == "jobs":
                for job in message[1]:
                    self.start(job)
            elif kind == "stop" and self.runner is not None:
                self.runner.engine.stop()
            elif kind == "exit":
                if self.tasks:
                    await asyncio.gather(*self.tasks, return_exceptions=True)
                self.flush()
                return

    def setup(self, setup: Setup) -> None:
        try:
            self.runner = RemoteRunner(setup, self.rate_limited)
        except Exception as exc:  # said to the parent, which stops the run with it
            self.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        self.send(("ready", os.getpid()))

    def start(self, job: Job) -> None:
        assert self.runner is not None
        task = asyncio.create_task(self.runner.run(job))
        self.tasks.add(task)
        task.add_done_callback(self.finished)

    def finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.send(("failed", f"{type(exc).__name__}: {exc}"))
        if not self.flush_due:
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


async def _main(read_fd: int, write_fd: int) -> None:
    reader, writer = await wire.open_pipes(read_fd, write_fd)
    await _Worker(reader, writer).serve()
    await wire.close(writer)  # the last results must reach the parent


def serve_pipes(read_fd: int, write_fd: int) -> None:
    """Serve the parent on these pipes until it says `exit` or goes away."""
    asyncio.run(_main(read_fd, write_fd))


def main() -> None:
    """Entry point of a worker process started as a fresh interpreter."""
    serve_pipes(int(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()
