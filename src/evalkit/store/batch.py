"""One writer batch: trial results turned into columns, inserted with one statement per table.

Columnar on purpose: each column goes to DuckDB as one list parameter, unnested in
SQL, which is as fast as an Arrow scan and, unlike one, needs neither pyarrow nor
pandas in the process (together ~130 MB of a run's memory).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from evalkit.records import Status, TargetOutput, TrialResult, Usage
from evalkit.store.cache import dumps
from evalkit.store.large_texts import LargeTexts, is_large
from evalkit.store.runs import case_hash
from evalkit.store.steps_rows import StepColumns
from evalkit.store.unnest import unnest_select

_RESULTS = [
    ("run_id", "VARCHAR"), ("trial_id", "VARCHAR"), ("suite", "VARCHAR"),
    ("case_id", "VARCHAR"), ("case_hash", "VARCHAR"), ("target_id", "VARCHAR"),
    ("prompt_id", "VARCHAR"), ("epoch", "INTEGER"), ("status", "VARCHAR"),
    ("passed", "BOOLEAN"), ("score", "DOUBLE"), ("output", "VARCHAR"),
    ("output_data", "VARCHAR"), ("error_kind", "VARCHAR"), ("error", "VARCHAR"),
    ("latency_ms", "DOUBLE"), ("input_tokens", "BIGINT"), ("output_tokens", "BIGINT"),
    ("cost_usd", "DOUBLE"), ("cached", "BOOLEAN"), ("attempts", "INTEGER"),
    ("request_hash", "VARCHAR"), ("metadata", "VARCHAR"), ("started_at", "DOUBLE"),
    ("finished_at", "DOUBLE"), ("output_ref", "VARCHAR"),
    # not stored in results; they let the cache rows be built from this same batch
    ("seq", "INTEGER"), ("usage", "VARCHAR"), ("cache_provider", "VARCHAR"),
]  # fmt: skip
_GRADES = [
    ("run_id", "VARCHAR"), ("trial_id", "VARCHAR"), ("idx", "INTEGER"), ("grader", "VARCHAR"),
    ("metric", "VARCHAR"), ("status", "VARCHAR"), ("score", "DOUBLE"), ("passed", "BOOLEAN"),
    ("reason", "VARCHAR"), ("weight", "DOUBLE"), ("threshold", "DOUBLE"),
    ("metadata", "VARCHAR"), ("reasoning", "VARCHAR"), ("judge_model", "VARCHAR"),
    ("judge_calls", "INTEGER"), ("judge_cached_calls", "INTEGER"),
    ("judge_input_tokens", "BIGINT"), ("judge_output_tokens", "BIGINT"),
    ("judge_cost_usd", "DOUBLE"), ("flakiness", "DOUBLE"),
]  # fmt: skip
# Model-graded graders report their judge in these grade-metadata keys; the batch moves
# them to their own columns (migration 0003) so judge spend is queryable apart.
JUDGE_KEYS = ("reasoning", "judge", "flakiness")
_STAGE_RESULTS = f"CREATE OR REPLACE TEMP TABLE batch_results AS {unnest_select(_RESULTS)}"
_INSERT_RESULTS = """
INSERT INTO results
SELECT run_id, trial_id, suite, case_id, case_hash, target_id, prompt_id, epoch, status,
       passed, score, output, output_data::JSON, error_kind, error, latency_ms, input_tokens,
       output_tokens, cost_usd, cached, attempts, request_hash, metadata::JSON,
       to_timestamp(started_at), to_timestamp(finished_at), output_ref
FROM batch_results
"""
_INSERT_GRADES = f"""
INSERT INTO grades
SELECT run_id, trial_id, idx, grader, metric, status, score, passed, reason, weight,
       threshold, metadata::JSON, reasoning, judge_model, judge_calls, judge_cached_calls,
       judge_input_tokens, judge_output_tokens, judge_cost_usd, flakiness
FROM ({unnest_select(_GRADES)})
"""
# Built in SQL from the results batch so a long output is converted and escaped once,
# in DuckDB, not again in Python. The JSON layout is the one cache.output_from_json reads.
# A fresh answer replaces an older one (e.g. after a run with --no-cache); within one
# batch the last answer for a key wins.
_INSERT_CACHE = """
INSERT OR REPLACE INTO response_cache
SELECT request_hash, cache_provider,
       json_object('text', output, 'text_ref', output_ref, 'data', output_data::JSON,
                   'usage', usage::JSON, 'latency_ms', latency_ms, 'cost_usd', cost_usd,
                   'metadata', metadata::JSON),
       current_timestamp
FROM batch_results
WHERE cache_provider IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY request_hash ORDER BY seq DESC) = 1
"""

_CACHE_ROWS = [("key", "VARCHAR"), ("provider", "VARCHAR"), ("output", "VARCHAR")]
_LARGE_ROWS = [("text_hash", "VARCHAR"), ("part", "INTEGER"), ("text", "VARCHAR")]
# content-addressed: a text already stored (by an earlier trial or run) is not stored again
_INSERT_LARGE = f"INSERT OR IGNORE INTO large_texts {unnest_select(_LARGE_ROWS)}"
_INSERT_EXTRA_CACHE = f"""
INSERT OR REPLACE INTO response_cache
SELECT key, provider, output::JSON, current_timestamp FROM ({unnest_select(_CACHE_ROWS)})
"""

_PASSED = {Status.PASS: True, Status.FAIL: False}


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A response made outside a trial (a model judge's), for the response cache."""

    key: str
    provider: str
    output: TargetOutput


# Strings longer than this go to DuckDB's overflow blocks rather than the column's own.
OVERFLOW_CHARS = 4096


class Batch:
    """Results, grades and cache rows waiting to be committed together."""

    def __init__(self) -> None:
        self.results: dict[str, list[Any]] = {name: [] for name, _ in _RESULTS}
        self.grades: dict[str, list[Any]] = {name: [] for name, _ in _GRADES}
        self.cached = 0  # rows that will also go to the response cache
        self.size = 0
        self.extra_cache: dict[str, CacheEntry] = {}  # by key: the last answer wins
        self.large = LargeTexts()
        self.steps = StepColumns()  # trajectories of conversation and agent trials

    @property
    def empty(self) -> bool:
        """Nothing to insert: no results and no judge cache rows."""
        return self.size == 0 and not self.extra_cache

    def add_cache(self, entry: CacheEntry) -> None:
        """Queue a judge's response for the response cache (errors are never cached)."""
        if entry.output.error is None and not entry.output.cached:
            self.extra_cache[entry.key] = entry

    def add(self, result: TrialResult, cache_key: str | None, provider: str | None) -> None:
        """Turn one result into column values (JSON serialised here, in the writer)."""
        out = result.output
        usage = out.usage
        error = out.error
        case = result.case
        # errors are never cached, and an answer served from the cache is already there
        cache_provider = None
        text, text_ref = self.large.stash(out.text)
        if cache_key is not None and error is None and not out.cached:
            cache_provider = provider or "unknown"
            self.cached += 1
        row = (
            result.run_id, result.trial_id, case.suite, case.id, case_hash(case),
            result.target_id, result.prompt_id, result.epoch, str(result.status),
            _PASSED.get(result.status), result.score, text,
            None if out.data is None else dumps(out.data),
            None if error is None else str(error.kind), None if error is None else error.message,
            out.latency_ms, None if usage is None else usage.input_tokens,
            None if usage is None else usage.output_tokens, out.cost_usd, out.cached,
            out.attempts, cache_key if cache_key is not None else result.request_hash,
            dumps(out.metadata) if out.metadata else None,
            result.started_at or None, result.finished_at or None, text_ref,
            self.size, None if usage is None else _usage_json(usage), cache_provider,
        )  # fmt: skip
        for column, value in zip(self.results.values(), row, strict=True):
            column.append(value)
        grades = self.grades
        for idx, grade in enumerate(result.grades):
            grades["run_id"].append(result.run_id)
            grades["trial_id"].append(result.trial_id)
            grades["idx"].append(idx)
            grades["grader"].append(grade.grader)
            grades["metric"].append(grade.metric)
            grades["status"].append(str(grade.status))
            grades["score"].append(grade.score)
            grades["passed"].append(grade.passed)
            grades["reason"].append(grade.reason)
            grades["weight"].append(grade.weight)
            grades["threshold"].append(grade.threshold)
            _add_grade_metadata(grades, grade.metadata)
        self.steps.add(result)
        self.size += 1

    def long_text_bytes(self) -> int:
        """About how many bytes of long output text (strings over OVERFLOW_CHARS, inline
        or in parts) this batch writes: DuckDB stores those in overflow blocks, and the
        memory a batch needs grows with them (store/memory.py)."""
        inline = sum(
            len(text)
            for text in self.results["output"]
            if isinstance(text, str) and len(text) > OVERFLOW_CHARS
        )
        return inline + sum(len(str(part)) for part in self.large.parts[2])

    def inline_large_bytes(self) -> int:
        """Bytes of strings over LARGE_TEXT_BYTES this batch stores inline (structured
        outputs, metadata, errors, reasons): rare, but DuckDB must pin them at once to
        checkpoint, so the writer makes room for them (store/memory.py)."""
        steps = self.steps.columns
        columns = (
            self.results["output_data"], self.results["metadata"], self.results["error"],
            self.grades["reason"], self.grades["reasoning"], self.grades["metadata"],
            steps["content"], steps["arguments"], steps["result"],
        )  # fmt: skip
        return sum(
            len(value.encode("utf-8"))
            for column in columns
            for value in column
            if isinstance(value, str) and is_large(value)
        )

    def insert(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Insert everything in one transaction; the caller commits or rolls back."""
        if self.extra_cache:
            cur.execute(_INSERT_EXTRA_CACHE, _cache_columns(self.extra_cache.values(), self.large))
        if self.large.parts[0]:
            cur.execute(_INSERT_LARGE, self.large.parts)
        if self.size == 0:
            return
        # staged once: results and cache rows both read it, long outputs cross over once
        cur.execute(_STAGE_RESULTS, list(self.results.values()))
        cur.execute(_INSERT_RESULTS)
        if self.cached:
            cur.execute(_INSERT_CACHE)
        cur.execute("DROP TABLE batch_results")
        if self.grades["run_id"]:
            cur.execute(_INSERT_GRADES, list(self.grades.values()))
        self.steps.insert(cur)


def _add_grade_metadata(grades: dict[str, list[Any]], metadata: dict[str, Any]) -> None:
    """The grade's metadata JSON, with a judge's reasoning, usage and flakiness as columns."""
    rest = {k: v for k, v in metadata.items() if k not in JUDGE_KEYS}
    judge = metadata.get("judge") or {}
    grades["metadata"].append(dumps(rest) if rest else None)
    grades["reasoning"].append(metadata.get("reasoning"))
    grades["judge_model"].append(judge.get("model"))
    grades["judge_calls"].append(judge.get("calls"))
    grades["judge_cached_calls"].append(judge.get("cached_calls"))
    grades["judge_input_tokens"].append(judge.get("input_tokens"))
    grades["judge_output_tokens"].append(judge.get("output_tokens"))
    grades["judge_cost_usd"].append(judge.get("cost_usd"))
    grades["flakiness"].append(metadata.get("flakiness"))


def _cache_columns(entries: Iterable[CacheEntry], large: LargeTexts) -> list[list[str]]:
    """Key, provider and output JSON (the layout cache.output_from_json reads) per entry."""
    columns: list[list[str]] = [[], [], []]
    for entry in entries:
        out = entry.output
        text, text_ref = large.stash(out.text)
        stored = {
            "text": text,
            "text_ref": text_ref,
            "data": out.data,
            "usage": None if out.usage is None else json.loads(_usage_json(out.usage)),
            "latency_ms": out.latency_ms,
            "cost_usd": out.cost_usd,
            "metadata": out.metadata,
        }
        for column, value in zip(columns, (entry.key, entry.provider, dumps(stored)), strict=True):
            column.append(value)
    return columns


def _usage_json(usage: Usage) -> str:
    return dumps(
        {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        }
    )
