"""Saving labels: open the database for a moment, append, close.

A review can stay open for an afternoon. Holding DuckDB's single write lock that long
would stop the nightly `evalkit run`, so each save opens the database, writes its labels
in one transaction and closes it again, waiting briefly if a run holds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from evalkit.store.labels import Label, record_labels
from evalkit.store.lock import open_when_free

SAVE_WAIT_SECONDS = 5.0  # a reviewer waits a few seconds at most, then is told and retries


class LabelSaver:
    """Appends labels to the database at `path`, one short writable open per call."""

    def __init__(
        self,
        path: Path,
        *,
        wait: float = SAVE_WAIT_SECONDS,
        notify: Callable[[str], None] = lambda _msg: None,
    ) -> None:
        self.path = path
        self.wait = wait
        self.notify = notify
        self.timings: list[float] = []  # seconds per save, open and close included

    def __call__(self, label: Label) -> None:
        """Save one label (its own transaction)."""
        self.save_all([label])

    def save_all(self, labels: Sequence[Label]) -> None:
        """Save `labels` in one transaction: all of them, or none."""
        started = time.perf_counter()
        with open_when_free(self.path, wait=self.wait, notify=self.notify) as store:
            record_labels(store.con, labels)
        self.timings.append(time.perf_counter() - started)
