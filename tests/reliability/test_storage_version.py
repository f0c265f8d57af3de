"""Point 8 of issue 6: the DuckDB storage format evalkit writes, and files it can't read."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb
import pytest

from evalkit.errors import StoreError
from evalkit.store.db import Store

REPO = Path(__file__).resolve().parents[2]
HEADER_BLOCK = 4096  # DuckDB's main header: an 8-byte checksum, then the header fields


def pinned_duckdb() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(lowest allowed, first excluded) DuckDB versions from pyproject's dependency."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if d.startswith("duckdb")]
    low = re.search(r">=([\d.]+)", spec)
    high = re.search(r"<([\d.]+)", spec)
    assert low and high, f"duckdb must be pinned to a range, got {spec!r}"
    return _v(low[1]), _v(high[1])


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_duckdb_is_pinned_to_a_range_that_includes_the_installed_one() -> None:
    low, high = pinned_duckdb()
    assert low <= _v(duckdb.__version__) < high


def test_a_database_written_here_opens_with_the_pinned_duckdb_in_a_fresh_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "evalkit.duckdb"
    Store.open(db).close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        (tags,) = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE path = ?", [str(db)]
        ).fetchone() or (None,)
    finally:
        con.close()
    # the format is the one of the pinned floor's major, which every DuckDB in range reads
    low, _ = pinned_duckdb()
    assert tags is not None and tags["storage_version"].startswith(f"v{low[0]}.")
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('SELECT max(version) FROM schema_migrations').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) >= 1


def newer_format(source: Path, target: Path, storage_version: int) -> None:
    """A copy of `source` whose header claims a storage version from a future DuckDB.

    The header block carries a checksum (seed 5381, xor of each 8-byte word times a
    constant), recomputed here so DuckDB reaches its version check rather than
    reporting corruption.
    """
    data = bytearray(source.read_bytes())
    data[12:20] = struct.pack("<Q", storage_version)
    checksum = 5381
    for at in range(8, HEADER_BLOCK, 8):
        (word,) = struct.unpack("<Q", data[at : at + 8])
        checksum ^= (word * 0xBF58476D1CE4E5B9) % 2**64
    data[0:8] = struct.pack("<Q", checksum)
    target.write_bytes(bytes(data))


@pytest.mark.parametrize("read_only", [True, False])
def test_a_file_from_a_newer_duckdb_gets_a_clear_message(tmp_path: Path, read_only: bool) -> None:
    written = tmp_path / "now.duckdb"
    Store.open(written).close()
    future = tmp_path / "future.duckdb"
    newer_format(written, future, 2000)
    with pytest.raises(StoreError) as caught:
        Store.open(future, read_only=read_only)
    message = str(caught.value)
    assert f"{future} was written by a newer DuckDB (storage version 2000)" in message
    assert f"than the DuckDB {duckdb.__version__} installed here" in message
    assert "pip install -U evalkit-cli duckdb" in message
    assert future.read_bytes()[12:20] == struct.pack("<Q", 2000)  # left untouched
