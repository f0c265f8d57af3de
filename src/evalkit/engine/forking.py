"""Starting a worker process by fork (Linux), so it inherits the imports already made.

A fresh interpreter spends one to two CPU seconds importing evalkit and a provider SDK
(`anthropic` alone is most of it) before its first trial; on two cores that start-up
was a tenth of a 5,000-trial run. A forked child has them already, and the loaded plan
and the run's trials too (reading thousands of cases again would cost each worker
what the parent already spent); it builds its own targets (its own connections). It
leaves the parent's session (no terminal signals), resets the signal handlers asyncio
installed, closes every inherited file descriptor but its two pipes (another worker's
pipe held open here would hide the parent's death from it), and runs its event loop
in a new thread, because the parent's loop is copied as running in this one. It
leaves by os._exit: the parent's objects copied into it are never finalised.

Elsewhere, or with EVALKIT_WORKER_START=spawn, workers start as fresh interpreters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalkit.engine.worker_main import Inherited


def can_fork() -> bool:
    """Whether workers start by fork here."""
    return sys.platform == "linux" and os.environ.get("EVALKIT_WORKER_START") != "spawn"


class Forked:
    """A forked worker, with the parts of asyncio's Process the pool uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._reaped: asyncio.Future[int] | None = None  # one waitpid, however many wait

    async def wait(self) -> int:
        """Its exit code, once it has exited (negative: killed by that signal)."""
        if self._reaped is None:
            self._reaped = asyncio.ensure_future(asyncio.to_thread(self._waitpid))
        return await asyncio.shield(self._reaped)

    def _waitpid(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL it (unless it was reaped already: its pid may be someone else's now)."""
        if self.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def fork_worker(read_fd: int, write_fd: int, inherited: Inherited) -> Forked:
    """Fork a worker serving the pipes `read_fd` / `write_fd`, taking over `inherited`
    (the plan and trials already in memory); the parent gets its handle."""
    pid = os.fork()
    if pid != 0:
        return Forked(pid)
    code = 0
    try:
        _become_worker(read_fd, write_fd, inherited)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _become_worker(read_fd: int, write_fd: int, inherited: Inherited) -> None:
    os.setsid()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    keep = {0, 1, 2, read_fd, write_fd}
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            with contextlib.suppress(OSError):
                os.close(int(name))
    from evalkit.engine.worker_main import serve_pipes

    thread = threading.Thread(
        target=serve_pipes, args=(read_fd, write_fd, inherited), name="evalkit-worker"
    )
    thread.start()
    thread.join()
