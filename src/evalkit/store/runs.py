"""Recording runs: their identity, provenance, targets and (content-addressed) cases."""

from __future__ import annotations

import getpass
import hashlib
import secrets
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evalkit.errors import StoreError
from evalkit.records import Case, conversation_json
from evalkit.store.cache import dumps
from evalkit.store.large_texts import is_large
from evalkit.store.memory import make_room
from evalkit.store.unnest import unnest_select

GIT_TIMEOUT_SECONDS = 3.0


@dataclass(slots=True)
class RunInfo:
    """Everything recorded about a run when it starts."""

    run_id: str
    plan: str
    plan_path: str | None
    started_at: datetime
    git_sha: str | None
    git_branch: str | None
    git_dirty: bool | None
    config_hash: str
    suite_hashes: dict[str, str]
    evalkit_version: str
    labels: dict[str, str]
    created_by: str | None
    hostname: str | None
    command: str | None
    settings: dict[str, Any]
    trials_planned: int


@dataclass(slots=True)
class RunTarget:
    """One target variant (target x prompt) of a run, or a target that was skipped."""

    target_id: str
    prompt_id: str | None
    provider: str
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    skipped_reason: str | None = None


def new_run_id(now: datetime) -> str:
    """A run id like 20261127T051502-3f9a1c: sorts by start time (UTC), random suffix."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def git_info(root: Path) -> tuple[str | None, str | None, bool | None]:
    """(sha, branch, dirty) of the repository at `root`; Nones when it is not one."""
    sha = _git(root, "rev-parse", "HEAD")
    if sha is None:
        return None, None, None
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(root, "status", "--porcelain")
    # "HEAD" means a detached checkout (common in CI): there is no branch to name
    return (
        sha,
        (None if branch in (None, "HEAD") else branch),
        (None if status is None else bool(status)),
    )


def git_user(root: Path) -> str | None:
    """Who is running: git's user.name for the workspace, else the login name."""
    name = _git(root, "config", "user.name")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary container uid
        return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git installed, or it hung
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def case_hash(case: Case) -> str:
    """The case's content hash; computed here only if the loader left it empty."""
    if case.content_hash:
        return case.content_hash
    digest = hashlib.sha256(dumps(asdict(case)).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


def start_run(
    con: duckdb.DuckDBPyConnection, info: RunInfo, targets: list[RunTarget], cases: list[Case]
) -> None:
    """Insert the run (status `running`), its targets and its new cases in one transaction."""
    with con.cursor() as cur:
        cur.begin()
        try:
            _insert_run(cur, info)
            if targets:
                cur.executemany(
                    "INSERT INTO run_targets VALUES (?, ?, ?, ?, ?::JSON, ?, ?)",
                    [_target_row(info.run_id, t) for t in targets],
                )
            _insert_new_cases(cur, cases)
            cur.commit()
        except duckdb.Error as exc:
            cur.rollback()
            raise StoreError(f"could not record run {info.run_id}: {exc}") from exc


def _target_row(run_id: str, t: RunTarget) -> list[Any]:
    return [
        run_id,
        t.target_id,
        t.prompt_id,
        t.provider,
        dumps(t.config),
        t.config_hash,
        t.skipped_reason,
    ]


def _insert_run(cur: duckdb.DuckDBPyConnection, info: RunInfo) -> None:
    cur.execute(
        """
        INSERT INTO runs (run_id, plan, plan_path, status, started_at, git_sha, git_branch,
                          git_dirty, config_hash, suite_hashes, evalkit_version, labels,
                          created_by, hostname, command, settings, trials_planned)
        VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            info.run_id,
            info.plan,
            info.plan_path,
            info.started_at,
            info.git_sha,
            info.git_branch,
            info.git_dirty,
            info.config_hash,
            dumps(info.suite_hashes),
            info.evalkit_version,
            dumps(info.labels),
            info.created_by,
            info.hostname,
            info.command,
            dumps(info.settings),
            info.trials_planned,
        ],
    )


def _insert_new_cases(cur: duckdb.DuckDBPyConnection, cases: list[Case]) -> None:
    unique = {case_hash(c): c for c in cases}
    if unique:
        # Serialising a case costs more than asking: most cases of a nightly run are
        # stored already, so only the new ones are built and sent.
        stored = cur.execute(
            "SELECT case_hash FROM cases WHERE case_hash IN (SELECT unnest(?::VARCHAR[]))",
            [list(unique)],
        ).fetchall()
        for (known,) in stored:
            unique.pop(known, None)
    new = list(unique.values())
    # In slices: a 20,000-case suite built as one Arrow table doubled the run's peak memory.
    large = 0  # bytes of strings DuckDB must pin at once to checkpoint these cases
    for at in range(0, len(new), _CASES_PER_INSERT):
        large = _insert_cases(cur, new[at : at + _CASES_PER_INSERT], large)


_CASES_PER_INSERT = 2000


_CASE_COLUMNS = [
    ("case_hash", "VARCHAR"), ("suite", "VARCHAR"), ("case_id", "VARCHAR"),
    ("vars", "VARCHAR"), ("messages", "VARCHAR"), ("expected", "VARCHAR"),
    ("context", "VARCHAR"), ("tags", "VARCHAR[]"), ("metadata", "VARCHAR"),
    ("graders", "VARCHAR"), ("cluster", "VARCHAR"), ("location", "VARCHAR"),
    ("conversation", "VARCHAR"),
]  # fmt: skip
# content-addressed: a case already stored by an earlier run is not stored again
_INSERT_CASES = f"""
INSERT INTO cases
SELECT n.case_hash, n.suite, n.case_id, n.vars::JSON, n.messages::JSON,
       n.expected::JSON, n.context::JSON, n.tags, n.metadata::JSON, n.graders::JSON,
       n.cluster, n.location, n.conversation::JSON
FROM ({unnest_select(_CASE_COLUMNS)}) n ANTI JOIN cases c USING (case_hash)
"""


def _insert_cases(cur: duckdb.DuckDBPyConnection, cases: list[Case], large: int) -> int:
    """Insert one slice of new cases; returns `large` plus this slice's large strings."""
    columns: list[list[Any]] = [
        [case_hash(c) for c in cases],
        [c.suite for c in cases],
        [c.id for c in cases],
        [dumps(c.vars) for c in cases],
        [None if c.messages is None else dumps([asdict(m) for m in c.messages]) for c in cases],
        [dumps(c.expected) for c in cases],
        [dumps(c.context) for c in cases],
        [list(c.tags) for c in cases],
        [dumps(c.metadata) for c in cases],
        [dumps([g.as_json() for g in c.graders]) for c in cases],
        [c.cluster for c in cases],
        [c.location for c in cases],
        [dumps(found) if (found := conversation_json(c)) else None for c in cases],
    ]
    large += sum(
        len(text.encode("utf-8"))
        for column in (*columns[3:10], columns[12])
        for text in column
        if isinstance(text, str) and is_large(text)
    )
    make_room(cur, large)
    cur.execute(_INSERT_CASES, columns)
    return large


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict[str, Any]
) -> None:
    """Set a run's final status, finish time and summary totals."""
    with con.cursor() as cur:
        row = cur.execute(
            "UPDATE runs SET status = ?, finished_at = current_timestamp, summary = ?::JSON "
            "WHERE run_id = ?",
            [status, dumps(summary), run_id],
        ).fetchone()
    if not row or not row[0]:
        raise StoreError(f"cannot finish run {run_id}: no such run in the database")
