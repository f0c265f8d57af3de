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
    limits: list[int | None] = []

    def output(i: int) -> str:
        return os.urandom(1024).hex()  # 2 KB, distinct

    db = build(
        tmp_path / "runs.duckdb", 2_000, output, 50, writing,
        lambda store: limits.append(current_limit(store.con)),
    )  # fmt: skip
    with Store.open(db, read_only=True) as store:
        (count,) = store.con.execute("SELECT count(*) FROM results").fetchone() or (0,)
    assert count == 2_000
    assert limits[0] is not None and limits[0] <= 32 * MiB


def test_batches_of_long_outputs_raise_the_cap_and_are_all_stored(tmp_path: Path) -> None:
    limits: list[int | None] = []
    size = 100 * 1024
    db = build(
        tmp_path / "runs.duckdb", 600, lambda i: f"{i:05d}" * (size // 5), 50, writing,
        lambda store: limits.append(current_limit(store.con)),
    )  # fmt: skip
    with Store.open(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT count(*), min(length(full_output(output, output_ref))) FROM results"
        ).fetchall()
    assert rows == [(600, size)]  # 60 MB of output, from a cap that started at 32 MB
    # batches of up to 8 MB of output get BATCH_ROOM times that: above the 64 MB under
    # which such batches failed to allocate
    assert limits[0] is not None and limits[0] > 64 * MiB
