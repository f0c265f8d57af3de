"""Schema migrations: ordered, append-only SQL files shipped inside the package.

Each file ``migrations/NNNN_name.sql`` is applied once, in order, in its own
transaction, and recorded in ``schema_migrations``. A shipped file is never edited
(a test pins their checksums): the schema is a public contract users query with SQL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from evalkit._version import __version__
from evalkit.errors import StoreError

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Created outside the numbered migrations: it records them, so it must exist first.
_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version          INTEGER PRIMARY KEY,
    name             VARCHAR NOT NULL,
    applied_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    evalkit_version  VARCHAR NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One shipped schema change."""

    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        """Checksum of the file's bytes, pinned by a test so a shipped file never changes."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def shipped_migrations() -> list[Migration]:
    """Every migration in the package, in version order (checked to be 1, 2, 3, ...)."""
    found: list[Migration] = []
    folder = resources.files("evalkit.store").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        # bytes, not text mode: the checksum must see the file exactly as shipped
        found.append(Migration(int(match[1]), match[2], entry.read_bytes().decode("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        # a packaging mistake, not a user error: fail loudly rather than half-migrate
        raise StoreError(f"evalkit's shipped migrations are not numbered 1..n: {versions}")
    return found


def latest_version() -> int:
    """The schema version this evalkit writes."""
    return len(shipped_migrations())


def applied_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration recorded in the database (0 for a new database)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE table_name = 'schema_migrations' AND schema_name = 'main'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def check_not_newer(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """The database's schema version; StoreError when a newer evalkit wrote it."""
    version = applied_version(con)
    known = latest_version()
    if version > known:
        raise StoreError(
            f"the results database {where} was written by a newer evalkit "
            f"(schema v{version}; this evalkit {__version__} knows up to v{known}); "
            "upgrade evalkit",
            hint="pip install --upgrade evalkit-cli, or point --db/EVALKIT_DB at another file",
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> list[int]:
    """Apply every pending migration, each in its own transaction; returns those applied."""
    con.execute(_BOOKKEEPING)
    current = check_not_newer(con, where)
    applied: list[int] = []
    for migration in shipped_migrations():
        if migration.version <= current:
            continue
        con.begin()
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name, evalkit_version) VALUES (?, ?, ?)",
                [migration.version, migration.name, __version__],
            )
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(
                f"could not apply schema migration {migration.version:04d}_{migration.name} "
                f"to {where}: {exc}",
                hint=f"the database was left at schema v{current}; if you created a table or "
                "view of that name yourself, rename it, otherwise report this as a bug",
            ) from exc
        applied.append(migration.version)
        current = migration.version
    return applied
