"""Which trial each lane of a worker is running, in memory the parent can read.

When a worker process dies, the parent must know which of the trials it held were
running (each gets one more chance, then is recorded as an error) and which were only
queued (they simply wait again: they never ran). A message per start would cost a
write per trial and would not arrive from a worker killed in mid-call; a slot per lane
in shared memory is written before the trial starts and read by the parent after the
worker is gone. Forked workers inherit an anonymous shared mapping; spawned ones map a
small file the parent removes once they are up.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile

_SLOT = 8  # one int64 per lane: the trial's index + 1, 0 when idle


class RunningTable:
    """One int64 slot per lane, shared between a worker and its parent."""

    def __init__(self, memory: mmap.mmap, lanes: int, path: str | None = None) -> None:
        self._memory = memory
        self._slots = memoryview(memory).cast("q")
        self.lanes = lanes
        self.path = path  # a file to map from another interpreter (spawned workers)

    @classmethod
    def create(cls, lanes: int, *, file: bool) -> RunningTable:
        """A zeroed table; `file`: backed by a temporary file a spawned worker can map."""
        size = max(1, lanes) * _SLOT
        if not file:
            return cls(mmap.mmap(-1, size), lanes)  # MAP_SHARED: a fork child shares it
        fd, path = tempfile.mkstemp(prefix="evalkit-lanes-")
        try:
            os.ftruncate(fd, size)
            return cls(mmap.mmap(fd, size), lanes, path)
        finally:
            os.close(fd)

    @classmethod
    def attach(cls, path: str, lanes: int) -> RunningTable:
        """The table a parent created as a file, from a spawned worker."""
        with open(path, "r+b") as fh:
            return cls(mmap.mmap(fh.fileno(), max(1, lanes) * _SLOT), lanes, path)

    def unlink(self) -> None:
        """Remove the backing file (the mappings stay valid)."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None

    def start(self, lane: int, index: int) -> None:
        """Lane `lane` starts trial `index`."""
        self._slots[lane] = index + 1

    def stop(self, lane: int) -> None:
        """Lane `lane` is idle."""
        self._slots[lane] = 0

    def running(self) -> set[int]:
        """The trials the lanes are running now."""
        return {value - 1 for value in self._slots.tolist() if value}
