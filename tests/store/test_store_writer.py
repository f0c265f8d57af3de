"""The batched writer: everything put is committed, batches survive a kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evalkit.errors import StoreError
from evalkit.records import Status
from evalkit.store.db import Store
from tests.store import factories as f


def _count(store: Store, table: str) -> int:
    with store.con.cursor() as cur:
        row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_every_put_is_committed_after_close(tmp_path: Path) -> None:
    cases = [f.case(case_id=f"c{i}") for i in range(40)]
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", cases)
        writer = store.writer("r1", flush_rows=50, flush_seconds=30.0)
        for epoch in range(30):
            for c in cases:
                three = [f.grade(m, Status.PASS) for m in ("contains", "regex", "judge")]
                writer.put(f.result("r1", c, epoch=epoch, grades=three))
        writer.close()
        assert writer.written == 1200
        assert _count(store, "results") == 1200
        assert _count(store, "grades") == 3600


def test_columns_round_trip(tmp_path: Path) -> None:
    c = f.case(case_id="c1")
    failed = f.result(
        "r1", c, status=Status.FAIL, prompt="terse", epoch=2, text="nope",
        grades=[f.grade("contains", Status.FAIL, "missing 'yes'")],
    )  # fmt: skip
    failed.output.data = {"answer": "nope", "confidence": 0.2}
    errored = f.result("r1", f.case(case_id="c2"), status=Status.ERROR, error=f.timeout())
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [c])
        writer = store.writer("r1")
        writer.put(failed, cache_key="sha256:k1", provider="python")
        writer.put(errored)
        writer.close()
        rows = store.con.execute(
            "SELECT trial_id, status, passed, score, output, output_data, error_kind, error, "
            "input_tokens, output_tokens, cost_usd, cached, attempts, request_hash, metadata, "
            "epoch, prompt_id, case_hash, started_at, finished_at FROM results ORDER BY trial_id"
        ).fetchall()
        grade = store.con.execute(
            "SELECT idx, metric, status, reason, passed FROM grades"
        ).fetchall()
    fail_row, error_row = rows
    assert fail_row[:5] == ("refunds/c1@model-a[terse]#2", "fail", False, 0.0, "nope")
    assert json.loads(fail_row[5]) == {"answer": "nope", "confidence": 0.2}
    assert fail_row[8:14] == (10, 5, 0.001, False, 1, "sha256:k1")
    assert json.loads(fail_row[14]) == {"model": "m-1", "note": "naïve ✓"}
    assert fail_row[15:18] == (2, "terse", "sha256:refunds-c1")
    assert fail_row[18] == datetime.fromtimestamp(1_790_000_000.0, UTC)
    assert fail_row[19] == datetime.fromtimestamp(1_790_000_001.5, UTC)
    assert error_row[1:5] == ("error", None, None, None)
    assert error_row[6:8] == ("timeout", "no answer within 30s (attempt 3)")
    assert grade == [(0, "contains", "fail", "missing 'yes'", False)]


def test_batches_commit_on_time_without_flush(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        writer = store.writer("r1", flush_rows=1000, flush_seconds=0.2)
        for i in range(3):
            writer.put(f.result("r1", f.case(case_id=f"c{i}")))
        deadline = time.monotonic() + 5.0
        while _count(store, "results") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(store, "results") == 3  # committed by the timer, not by close()
        writer.close()


def test_flush_returns_once_everything_put_is_committed(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        writer = store.writer("r1", flush_rows=1000, flush_seconds=60.0)
        for i in range(10):
            writer.put(f.result("r1", f.case(case_id=f"c{i}")))
        writer.flush()
        assert _count(store, "results") == 10
        assert writer.written == 10
        writer.close()


def test_a_failed_batch_is_reported_on_close_and_on_put(tmp_path: Path) -> None:
    duplicate = f.result("r1", f.case())
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        writer = store.writer("r1", flush_rows=2)
        writer.put(duplicate)
        writer.put(duplicate)  # same trial twice: the primary key refuses the batch
        with pytest.raises(StoreError) as caught:
            writer.flush()
        assert "could not save results of run r1" in str(caught.value)
        assert "0 results were saved, 2 were not" in str(caught.value)
        with pytest.raises(StoreError):
            writer.put(f.result("r1", f.case(case_id="other")))
        with pytest.raises(StoreError):
            writer.close()
        assert _count(store, "results") == 0


CRASHING_WRITER = """
import sys, time
from pathlib import Path
from evalkit.store.db import Store
from tests.store import factories as f

store = Store.open(Path(sys.argv[1]))
f.start(store, "r1", [])
writer = store.writer("r1", flush_rows=100, flush_seconds=600.0)
for i in range(250):
    writer.put(f.result("r1", f.case(case_id=f"c{i}")))
writer.flush()  # 250 committed: two full batches and the flushed rest
for i in range(250, 290):
    writer.put(f.result("r1", f.case(case_id=f"c{i}")))  # never reaches a batch boundary
print("committed", flush=True)
time.sleep(60)
"""


def test_a_killed_writer_keeps_every_committed_batch(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with Store.open(path) as store:  # opens cleanly, replaying the write-ahead log
        assert _count(store, "results") == 250
        assert _count(store, "grades") == 250
        # and it is usable for the next run
        f.start(store, "r2", [])
        writer = store.writer("r2")
        writer.put(f.result("r2", f.case()))
        writer.close()
        assert _count(store, "results") == 251
