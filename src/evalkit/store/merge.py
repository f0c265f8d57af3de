"""`evalkit merge`: the shard runs of one plan, from several databases, joined into one run.

Each shard database is attached read-only and its rows are copied by name into the
target database under one new run id, in one transaction. The merged run id is derived
from the shard run ids, and the run records them in `merged_from`: merging the same
shards again finds the run and changes nothing. Shards are refused unless they are the
same plan (config hash), suites, target configs and commit, complete, and each of 1..N
exactly once: a merged run must mean what one machine would have produced.

A shard run says which shard it is in `settings->>'shard'`; a merged run lists its
shard runs in `settings->'merged_from'` and, by shard, in `summary->'shards'`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from evalkit.errors import ConfigError, UsageError
from evalkit.store.cache import dumps
from evalkit.store.db import Store

# Run-scoped tables that are not copied: a merged run starts with no human labels,
# baselines or promotions of its own; `runs` and `run_targets` are written apart.
_NOT_COPIED = {"runs", "run_targets", "baselines", "labels", "promotions"}
# Content-addressed tables: the same key always holds the same content, so a row that
# is already there is kept.
_SHARED = ("cases", "large_texts", "response_cache")


class MergeRefused(ConfigError):
    """The shards cannot be merged: they are not the slices of one run."""


@dataclass(slots=True)
class ShardRun:
    """One shard run as recorded in its database."""

    source: Path
    run_id: str
    plan: str
    status: str
    shard: str
    started_at: datetime
    finished_at: datetime | None
    row: dict[str, Any]  # the rest of its `runs` row
    targets: dict[tuple[str, str | None], tuple[str, str | None]] = field(default_factory=dict)

    @property
    def index(self) -> int:
        """K of K/N."""
        return int(self.shard.split("/")[0])

    @property
    def count(self) -> int:
        """N of K/N."""
        return int(self.shard.split("/")[1])

    def where(self) -> str:
        """How a message names it: shard, run and file."""
        return f"shard {self.shard} (run {self.run_id} in {self.source.name})"


@dataclass(slots=True)
class Merged:
    """One merged run: its id, plan, shards, trials and whether this call wrote it."""

    run_id: str
    plan: str
    shards: list[ShardRun]
    trials: int
    written: bool


def merge_shards(store: Store, sources: list[Path], command: str) -> list[Merged]:
    """Merge the newest shard runs of every plan found in `sources` into `store`."""
    into = store.path.resolve()
    for source in sources:
        if source.resolve() == into:
            raise UsageError(
                f"--into {store.path} is one of the shard databases",
                hint="merge into a database of its own (e.g. --into results.duckdb): a merged "
                "run beside its own shards would count twice in trends",
            )
    by_plan: dict[str, list[ShardRun]] = {}
    for source in sources:
        for shard in read_shards(source):
            by_plan.setdefault(shard.plan, []).append(shard)
    return [_merge_plan(store, shards, command) for _, shards in sorted(by_plan.items())]


def read_shards(source: Path) -> list[ShardRun]:
    """The newest shard run of each plan recorded in `source` (migrated if it is older)."""
    if not source.exists():
        raise UsageError(f"no such shard database: {source}")
    with Store.open(source, read_only=True) as shard_store:
        cur = shard_store.con.cursor()
        cur.execute(
            "SELECT *, settings->>'shard' AS shard FROM runs WHERE settings->>'shard' IS NOT NULL "
            "ORDER BY started_at DESC, run_id DESC"
        )
        names = [d[0] for d in cur.description or []]
        newest: dict[str, ShardRun] = {}
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            if row["plan"] in newest:
                continue
            newest[row["plan"]] = _shard_run(source, row)
        for shard in newest.values():
            for target, prompt, config_hash, skipped in cur.execute(
                "SELECT target_id, prompt_id, config_hash, skipped_reason FROM run_targets "
                "WHERE run_id = ?",
                [shard.run_id],
            ).fetchall():
                shard.targets[(str(target), prompt)] = (str(config_hash), skipped)
    if not newest:
        raise UsageError(
            f"{source} holds no shard run",
            hint="shard runs are made with `evalkit run --shard K/N --db FILE`",
        )
    return list(newest.values())


def _shard_run(source: Path, row: dict[str, Any]) -> ShardRun:
    return ShardRun(
        source=source,
        run_id=str(row["run_id"]),
        plan=str(row["plan"]),
        status=str(row["status"]),
        shard=str(row["shard"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        row=row,
    )


def problems(shards: list[ShardRun]) -> list[str]:
    """Every reason these shard runs are not the slices of one run, in words."""
    found: list[str] = []
    first = shards[0]
    counts = {s.count for s in shards}
    if len(counts) > 1:
        found.append("shards of different splits: " + ", ".join(s.where() for s in shards))
    seen: dict[int, ShardRun] = {}
    for shard in shards:
        if shard.index in seen:
            found.append(f"shard {shard.shard} given twice: {seen[shard.index].where()} "
                         f"and {shard.where()}")  # fmt: skip
        seen[shard.index] = shard
        if shard.status != "completed":
            found.append(
                f"{shard.where()} is {shard.status}; finish it first with "
                f"`evalkit resume {shard.run_id} --db {shard.source}`"
            )
    if len(counts) == 1:
        missing = [f"{k}/{first.count}" for k in range(1, first.count + 1) if k not in seen]
        if missing:
            found.append(f"shard {', '.join(missing)} missing (given: "
                         f"{', '.join(sorted(s.shard for s in shards))})")  # fmt: skip
    for other in shards[1:]:
        found.extend(_differences(first, other))
    return found


def _differences(a: ShardRun, b: ShardRun) -> list[str]:
    """What differs between two shards that must be equal."""
    found = []
    for key, what in (("config_hash", "plan hash"), ("git_sha", "commit")):
        if a.row[key] != b.row[key]:
            found.append(
                f"{what} differs: {a.row[key]} in {a.where()}, {b.row[key]} in {b.where()}"
            )
    suites_a, suites_b = _json(a.row["suite_hashes"]), _json(b.row["suite_hashes"])
    for name in sorted(set(suites_a) | set(suites_b)):
        if suites_a.get(name) != suites_b.get(name):
            found.append(
                f"suite '{name}' differs: {suites_a.get(name, 'absent')} in {a.where()}, "
                f"{suites_b.get(name, 'absent')} in {b.where()}"
            )
    for variant in sorted(set(a.targets) | set(b.targets), key=str):
        name = f"{variant[0]}[{variant[1]}]" if variant[1] else variant[0]
        got_a, got_b = a.targets.get(variant), b.targets.get(variant)
        if got_a is None or got_b is None or got_a[0] != got_b[0]:
            found.append(
                f"target '{name}' hash differs: {got_a[0] if got_a else 'absent'} in "
                f"{a.where()}, {got_b[0] if got_b else 'absent'} in {b.where()}"
            )
        elif got_a[1] != got_b[1]:
            found.append(
                f"target '{name}' ran in one shard and was skipped in the other "
                f"({a.where()}: {got_a[1] or 'ran'}; {b.where()}: {got_b[1] or 'ran'})"
            )
    return found


def merged_run_id(shards: list[ShardRun]) -> str:
    """The merged run's id: the first shard's start time, a hash of the shard run ids."""
    started = min(s.started_at for s in shards).astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256("\n".join(sorted(s.run_id for s in shards)).encode()).hexdigest()
    return f"{started}-{digest[:6]}"


def _merge_plan(store: Store, shards: list[ShardRun], command: str) -> Merged:
    found = problems(shards)
    if found:
        raise MergeRefused(
            f"cannot merge the shards of plan '{shards[0].plan}': " + "; ".join(found),
            hint="merge the shard databases of one `evalkit run --shard K/N` matrix, made "
            "from one commit, after every shard finished",
        )
    shards = sorted(shards, key=lambda s: s.index)
    run_id = merged_run_id(shards)
    con = store.con
    existing = con.execute("SELECT count(*) FROM results WHERE run_id = ?", [run_id]).fetchone()
    if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone() is not None:
        return Merged(run_id, shards[0].plan, shards, int(existing[0]) if existing else 0, False)
    with _attached(con, [s.source for s in shards]) as aliases:
        con.begin()
        try:
            _insert_run(con, run_id, shards, command)
            con.execute(
                "INSERT INTO run_targets BY NAME SELECT * REPLACE (? AS run_id) "
                f"FROM {aliases[0]}.run_targets WHERE run_id = ?",
                [run_id, shards[0].run_id],
            )
            for alias, shard in zip(aliases, shards, strict=True):
                _copy_shard(con, alias, shard.run_id, run_id)
            con.execute(
                "UPDATE runs SET summary = ?::JSON WHERE run_id = ?",
                [dumps(_summary(con, run_id, shards)), run_id],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    row = con.execute("SELECT count(*) FROM results WHERE run_id = ?", [run_id]).fetchone()
    return Merged(run_id, shards[0].plan, shards, int(row[0]) if row else 0, True)


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> Iterator[list[str]]:
    aliases = [f"evalkit_shard_{i}" for i in range(len(paths))]
    attached: list[str] = []
    try:
        for alias, path in zip(aliases, paths, strict=True):
            con.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(path)])
            attached.append(alias)
        yield aliases
    finally:
        for alias in attached:
            con.execute(f"DETACH {alias}")


def _copy_shard(con: duckdb.DuckDBPyConnection, alias: str, shard_run: str, run_id: str) -> None:
    """Copy one shard's run-scoped rows under `run_id`, and the content they point at."""
    tables = [
        str(name)
        for (name,) in con.execute(
            "SELECT DISTINCT table_name FROM duckdb_columns() "
            "WHERE database_name = ? AND column_name = 'run_id' AND NOT internal "
            "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = ?)",
            [alias, alias],
        ).fetchall()
    ]
    for table in sorted(set(tables) - _NOT_COPIED):
        con.execute(
            f"INSERT INTO main.{table} BY NAME SELECT * REPLACE (? AS run_id) "
            f"FROM {alias}.{table} WHERE run_id = ?",
            [run_id, shard_run],
        )
    for table in _SHARED:
        con.execute(f"INSERT OR IGNORE INTO main.{table} BY NAME SELECT * FROM {alias}.{table}")


def _insert_run(
    con: duckdb.DuckDBPyConnection, run_id: str, shards: list[ShardRun], command: str
) -> None:
    first = shards[0].row
    finished = [s.finished_at for s in shards if s.finished_at is not None]
    dirty = [s.row["git_dirty"] for s in shards if s.row["git_dirty"] is not None]
    labels = [_json(s.row["labels"]) for s in shards]
    common = {k: v for k, v in labels[0].items() if all(lb.get(k) == v for lb in labels)}
    hosts = sorted({str(s.row["hostname"]) for s in shards if s.row["hostname"]})
    settings = {k: v for k, v in _json(first["settings"]).items() if k != "shard"}
    settings["merged_from"] = [s.run_id for s in shards]
    con.execute(
        """
        INSERT INTO runs (run_id, plan, plan_path, status, started_at, finished_at, git_sha,
                          git_branch, git_dirty, config_hash, suite_hashes, evalkit_version,
                          labels, created_by, hostname, command, settings, trials_planned)
        VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?::JSON, ?, ?::JSON, ?, ?, ?, ?::JSON, ?)
        """,
        [
            run_id,
            first["plan"],
            first["plan_path"],
            min(s.started_at for s in shards),
            max(finished) if finished else None,
            first["git_sha"],
            next((s.row["git_branch"] for s in shards if s.row["git_branch"]), None),
            any(dirty) if dirty else None,
            first["config_hash"],
            dumps(_json(first["suite_hashes"])),
            first["evalkit_version"],
            dumps(common),
            first["created_by"],
            ", ".join(hosts) or None,
            command,
            dumps(settings),
            sum(int(s.row["trials_planned"]) for s in shards),
        ],
    )


def _summary(con: duckdb.DuckDBPyConnection, run_id: str, shards: list[ShardRun]) -> dict[str, Any]:
    """Totals recounted from the merged rows; the shards' own counters added up."""
    by_status = {
        str(status): int(n)
        for status, n in con.execute(
            "SELECT status, count(*) FROM results WHERE run_id = ? GROUP BY status", [run_id]
        ).fetchall()
    }
    summaries = [_json(s.row["summary"]) for s in shards]
    summary: dict[str, Any] = {
        "finished": sum(by_status.values()),
        "by_status": by_status,
        "cache_hits": sum(int(s.get("cache_hits", 0)) for s in summaries),
        "retries": sum(int(s.get("retries", 0)) for s in summaries),
        "shards": {s.shard: s.run_id for s in shards},
    }
    judges = [s["judge"] for s in summaries if isinstance(s.get("judge"), dict)]
    if judges:
        summary["judge"] = _add_up(judges)
    return summary


_JUDGE_COUNTS = ("calls", "cached_calls", "input_tokens", "output_tokens", "cost_usd", "pairs")


def _add_up(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The shards' judge entries as one: counts summed, the bias rate over all pairs."""
    total: dict[str, Any] = {**parts[0]}
    for key in _JUDGE_COUNTS:
        values = [p[key] for p in parts if _number(p.get(key))]
        total[key] = sum(values) if values else None
    total["unavailable"] = next((p["unavailable"] for p in parts if p.get("unavailable")), None)
    pairs = sum(p["pairs"] for p in parts if _number(p.get("pairs")))
    biased = sum(
        p["position_bias_rate"] * p["pairs"]
        for p in parts
        if _number(p.get("position_bias_rate")) and _number(p.get("pairs"))
    )
    total["position_bias_rate"] = biased / pairs if pairs else None
    return total


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}
