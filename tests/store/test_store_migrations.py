"""Schema migrations: applied once, in order, recorded, never edited after shipping."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from evalkit.errors import StoreError
from evalkit.store.db import Store
from evalkit.store.migrations import latest_version, shipped_migrations

# A shipped migration is part of the public schema: users' databases were built by it.
# If this test fails because you edited one, revert it and add a new NNNN_*.sql instead.
PINNED_SHA256 = {
    1: "11d9619b29c29affd286f7f37b4229257fa664998755687ef6e55b47447aabf5",
    2: "ac0b3bcb03b833d7ced0963fcfc385f5bf789d600c5a7bb1a98ffd7200275275",
    3: "dc75b305e8dbef1748355f6fca7e87ed5c31f1955366d7f685379622381bbdff",
    4: "348841952aff8723e081bea0f3f758a041f055d394c7e0a931d5ab7fad8ba7a7",
    5: "7659e93372acb7a4dc7bcfc283fe61bec5ca608799561131e8aed1e6fe23234c",
    6: "dde18728e0e06922fc8e5774e212bdef6f466d69a12cfb1a5778ef5b3fcb2662",
    7: "e74f68b197b25415b5e2a8a0af59c8dc4a8631371ffa6536ff4ea186a5ff1524",
}


def test_shipped_migrations_are_never_edited() -> None:
    shipped = {m.version: m.sha256 for m in shipped_migrations()}
    for version, checksum in PINNED_SHA256.items():
        assert shipped[version] == checksum, f"migration {version:04d} was edited after shipping"
    # a new migration must be pinned here in the same change that adds it
    assert set(shipped) == set(PINNED_SHA256)


def test_new_database_gets_every_migration_recorded(tmp_path: Path) -> None:
    with Store.open(tmp_path / "sub" / "dir" / "e.duckdb") as store:
        rows = store.con.execute(
            "SELECT version, name, evalkit_version, applied_at IS NOT NULL "
            "FROM schema_migrations ORDER BY version"
        ).fetchall()
        tables = {
            r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        views = {r[0] for r in store.con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}  # fmt: skip
    names = [(v, n) for v, n, _, _ in rows]
    assert names[:3] == [(1, "initial"), (2, "trials_view"), (3, "judge")]
    assert all(r[2] and r[3] for r in rows)
    assert {"runs", "run_targets", "cases", "results", "grades", "response_cache"} <= tables
    assert "trials" in views


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    Store.open(path).close()
    with Store.open(path) as store:
        count = store.con.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count == (latest_version(),)


def test_database_from_a_newer_evalkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_migrations VALUES (99, 'future', now(), '9.0.0')")
    con.close()
    for read_only in (False, True):
        with pytest.raises(StoreError) as caught:
            Store.open(path, read_only=read_only)
        message = str(caught.value)
        assert "written by a newer evalkit (schema v99" in message
        assert "upgrade evalkit" in message
        assert str(path) in message


def test_read_only_open_brings_an_old_database_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _database_at_v1(path).close()
    with Store.open(path, read_only=True) as store:
        versions = store.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert store.con.execute("SELECT count(*) FROM trials").fetchone() == (0,)
    assert versions == [(v,) for v in range(1, latest_version() + 1)]


def _database_at_v1(path: Path) -> duckdb.DuckDBPyConnection:
    """A database as an evalkit that only knew migration 1 left it (still open)."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, "
        "evalkit_version VARCHAR NOT NULL)"
    )
    con.execute(shipped_migrations()[0].sql)
    con.execute(
        "INSERT INTO schema_migrations (version, name, evalkit_version) "
        "VALUES (1, 'initial', '0.0.1')"
    )
    return con


def test_a_failing_migration_leaves_the_database_at_its_previous_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mine.duckdb"
    con = _database_at_v1(path)
    con.execute("CREATE TABLE trials (note VARCHAR)")  # the user's own table, in the way
    con.execute("INSERT INTO trials VALUES ('keep me')")
    con.close()
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    message = str(caught.value)
    assert f"could not apply schema migration 0002_trials_view to {path}" in message
    assert "left at schema v1" in message and "rename it" in message
    con = duckdb.connect(str(path))
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone() == (1,)
    assert con.execute("SELECT note FROM trials").fetchall() == [("keep me",)]
    con.close()
