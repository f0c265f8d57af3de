"""Shards: a deterministic slice of a plan's trials, so N machines can share one run.

A case belongs to exactly one shard, with all its targets, prompts and epochs (peer
graders compare the variants of one case, so they must run side by side). The split
ranks the selected cases by the SHA-256 of their identity (`suite/case_id`) and deals
them out in turn: the same on every machine and for any file order, and balanced to
within one case, which a bare `hash mod N` is not for small suites.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

import duckdb

from evalkit.engine.plan import TrialPlan
from evalkit.errors import UsageError
from evalkit.records import Trial
from evalkit.store.shards import recorded_shard

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`"2/4"` -> Shard(2, 4); a clear UsageError for anything else."""
    match = _SPEC.match(text)
    if match is None:
        raise UsageError(
            f"--shard '{text}' is not K/N",
            hint="e.g. --shard 1/4 runs the first of four shards (K counts from 1)",
        )
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise UsageError(
            f"--shard {text}: K must be between 1 and N (got K={index}, N={count})",
            hint="e.g. --shard 1/4 ... --shard 4/4",
        )
    return Shard(index, count)


def case_key(suite: str, case_id: str) -> str:
    """The identity a case is sharded by; its hash decides the case's rank."""
    return hashlib.sha256(f"{suite}/{case_id}".encode()).hexdigest()


def shard_trials(trials: list[Trial], shard: Shard | None) -> list[Trial]:
    """The trials of `shard` (all of them when None), in their original order."""
    if shard is None or shard.count == 1:
        return trials
    keys = sorted({case_key(t.case.suite, t.case.id) for t in trials})
    mine = {key for rank, key in enumerate(keys) if rank % shard.count == shard.index - 1}
    return [t for t in trials if case_key(t.case.suite, t.case.id) in mine]


def shard_plan(trials: TrialPlan, shard: Shard | None) -> TrialPlan:
    """The plan cut to the cases of `shard` (the whole plan when None): the same split as
    `shard_trials`, made on the case list so the plan stays a stream."""
    if shard is None or shard.count == 1:
        return trials
    keys = sorted({case_key(c.suite, c.id) for c in trials.cases})
    mine = {key for rank, key in enumerate(keys) if rank % shard.count == shard.index - 1}
    cases = [c for c in trials.cases if case_key(c.suite, c.id) in mine]
    return dataclasses.replace(trials, cases=cases)


def run_shard(
    asked: Shard | None, con: duckdb.DuckDBPyConnection, resume_run: str | None
) -> Shard | None:
    """The shard a run covers: the one asked for, or, on resume, the one it recorded."""
    if resume_run is None:
        return asked
    recorded = recorded_shard(con, resume_run)
    return parse_shard(recorded) if recorded is not None else None
