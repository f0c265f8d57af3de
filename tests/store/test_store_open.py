"""Opening the database: friendly errors for busy, garbage and missing files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from evalkit.errors import StoreBusyError, StoreError
from evalkit.store.db import Store

HOLD_OPEN = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def held_database(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A database another process holds open for writing, and that process's PID."""
    path = tmp_path / "busy.duckdb"
    Store.open(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield path, holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_database_held_by_another_process_is_busy(held_database: tuple[Path, int]) -> None:
    path, pid = held_database
    for read_only in (False, True):
        with pytest.raises(StoreBusyError) as caught:
            Store.open(path, read_only=read_only)
        message = str(caught.value)
        assert f"{path} is in use by another evalkit process (PID {pid})" in message
        assert "--db/EVALKIT_DB" in message


def test_garbage_file_is_named_with_the_duckdb_version(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert not isinstance(caught.value, StoreBusyError)
    message = str(caught.value)
    assert str(path) in message
    assert f"DuckDB {duckdb.__version__}" in message
    assert "hint:" in message
    assert path.read_bytes().startswith(b"these are my notes")  # we never overwrite it


def test_damaged_database_header_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.duckdb"
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # the storage version number, covered by the header checksum
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged, or was written by an incompatible DuckDB"):
        Store.open(path)


def test_read_only_open_of_a_missing_file_says_to_run_first(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.duckdb"
    with pytest.raises(StoreError) as caught:
        Store.open(path, read_only=True)
    assert f"no runs recorded yet at {path}; run `evalkit run` first" in str(caught.value)
    assert not path.exists()


def test_read_only_store_refuses_to_write(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        store.writer("r1")


def test_store_can_be_reopened_after_close(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    with Store.open(path):
        pass
    with Store.open(path) as again:
        assert again.con.execute("SELECT 1").fetchone() == (1,)
    assert os.path.getsize(path) > 0


def test_duckdb_never_draws_its_progress_bar_into_a_commands_output(tmp_path: Path) -> None:
    # DuckDB's default draws one on stdout for any query over two seconds
    path = tmp_path / "results.duckdb"
    Store.open(path).close()
    for read_only in (False, True):
        with Store.open(path, read_only=read_only) as store:
            for con in (store.con, store.con.cursor()):
                setting = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
                assert setting == (False,)
