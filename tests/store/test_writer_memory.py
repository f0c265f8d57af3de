"""The process that writes a run caps DuckDB's memory low and raises the cap only as far
as the batches it writes need: short outputs keep a run small, long ones still fit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalkit.store.db import Store
from evalkit.store.lock import open_when_free
from evalkit.store.memory import MEMORY_ENV, current_limit
from tests.reports.long_runs import build

MiB = 2**20


def writing(path: Path) -> Store:
    return open_when_free(path, wait=0)


@pytest.fixture(autouse=True)
def default_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)


def test_a_writing_process_starts_at_32_mb(tmp_path: Path) -> None:
    with writing(tmp_path / "runs.duckdb") as store:
        limit = current_limit(store.con)
    assert limit is not None and limit <= 32 * MiB  # it was 256 MB


def test_short_outputs_leave_the_cap_low(tmp_path: Path) -> None:
    db = build(tmp_path / "runs.duckdb", 2_000, lambda i: os.urandom(1024).hex(), 50, writing)
    with writing(db) as store:
        (count,) = store.con.execute("SELECT count(*) FROM results").fetchone() or (0,)
    assert count == 2_000


def test_batches_of_long_outputs_raise_the_cap_and_are_all_stored(tmp_path: Path) -> None:
    limits: list[int | None] = []

    def watched(path: Path) -> Store:
        store = writing(path)
        limits.append(current_limit(store.con))
        return store

    size = 100 * 1024
    db = build(tmp_path / "runs.duckdb", 600, lambda i: f"{i:05d}" * (size // 5), 50, watched)
    with Store.open(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT count(*), min(length(full_output(output, output_ref))) FROM results"
        ).fetchall()
    assert rows == [(600, size)]  # 60 MB of output under a cap that started at 32 MB
    assert limits and limits[0] is not None and limits[0] <= 32 * MiB
