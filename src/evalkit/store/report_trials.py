"""A run's trials for the HTML report, read in batches with every long text cut.

A report of 20,000 trials of 100 KB outputs must not hold the run's text at once: the
rows come from one query whose output column is already cut to `chars` characters in
DuckDB (an output stored in parts gives only the head of its first part), with each
text's full length beside it, and are fetched `batch_rows` at a time. Grades come with
their trial (a list aggregated in DuckDB), so no second pass over all of them is kept
in Python either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import duckdb

from evalkit.store.reporting import REASONING_KEYS
from evalkit.store.rows import json_value

BATCH_ROWS = 128  # rows DuckDB converts to Python objects at a time


def big_outputs(chars: int) -> str:
    """A `big` CTE (after another: it starts with a comma) with the first `chars`
    characters and the length of each output of run $run_id stored in parts; joined as
    `b` it gives OUTPUT_HEAD and OUTPUT_CHARS for results `r`. Only lengths and heads
    leave DuckDB, never a whole text."""
    return f""",
        big AS (
            SELECT text_hash,
                   any_value(left(text, {int(chars)})) FILTER (WHERE part = 0) AS head,
                   sum(length(text)) AS chars
            FROM large_texts
            WHERE text_hash IN (SELECT output_ref FROM results WHERE run_id = $run_id)
            GROUP BY text_hash
        )"""


OUTPUT_HEAD = "CASE WHEN r.output_ref IS NULL THEN left(r.output, {n}) ELSE b.head END"
OUTPUT_CHARS = "CASE WHEN r.output_ref IS NULL THEN length(r.output) ELSE b.chars END"
BIG_JOIN = "LEFT JOIN big b ON b.text_hash = r.output_ref"


def _reasoning_sql() -> str:
    """A grade's reasoning: its own column, else what an older grader left in metadata."""
    keys = ", ".join(f"nullif(metadata ->> '{key}', '')" for key in REASONING_KEYS)
    return f"coalesce(nullif(reasoning, ''), {keys})"


def _query(chars: int, filtered: bool) -> str:
    n = int(chars)
    reasoning = _reasoning_sql()
    only = "AND r.trial_id IN (SELECT unnest($ids::VARCHAR[]))" if filtered else ""
    return f"""
        WITH g AS (
            SELECT trial_id,
                   list(struct_pack(
                       metric := metric, status := status, score := score,
                       reason := left(coalesce(reason, ''), {n}),
                       reason_chars := length(coalesce(reason, '')),
                       reasoning := left({reasoning}, {n}),
                       reasoning_chars := length({reasoning}),
                       judge := judge_model,
                       turn := TRY_CAST(metadata ->> 'turn' AS INTEGER)
                   ) ORDER BY idx) AS grades
            FROM grades WHERE run_id = $run_id GROUP BY trial_id
        ){big_outputs(n)}
        SELECT r.trial_id, r.suite, r.case_id, r.target_id, r.prompt_id, r.epoch,
               r.status, r.score, {OUTPUT_HEAD.format(n=n)} AS output,
               {OUTPUT_CHARS} AS output_chars,
               r.output_data::VARCHAR AS output_data,
               r.error_kind, left(r.error, {n}) AS error, length(r.error) AS error_chars,
               r.latency_ms, r.cost_usd, r.cached,
               c.vars::VARCHAR AS vars, c.messages::VARCHAR AS messages,
               c.expected::VARCHAR AS expected, c.tags,
               c.conversation::VARCHAR AS conversation,
               coalesce(g.grades, []) AS grades
        FROM results r LEFT JOIN cases c USING (case_hash)
        LEFT JOIN g USING (trial_id)
        {BIG_JOIN}
        WHERE r.run_id = $run_id {only}
        ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
    """


def trial_batches(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    chars: int,
    *,
    trial_ids: Sequence[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[list[dict[str, Any]]]:
    """The run's trials (only `trial_ids` when given), `batch_rows` at a time, in the
    report's order.

    `output`, `error` and each grade's `reason` and `reasoning` are at most `chars`
    characters, with their full lengths in `output_chars`, `error_chars`,
    `reason_chars` and `reasoning_chars`. The case's JSON fields (`vars`, `messages`,
    `expected`, `conversation`) and `output_data` come whole, decoded: they are a
    case's own size, not a run's.
    """
    params: dict[str, Any] = {"run_id": run_id}
    if trial_ids is not None:
        params["ids"] = list(trial_ids)
    with con.cursor() as cur:
        cur.execute(_query(chars, trial_ids is not None), params)
        names = [column[0] for column in cur.description or []]
        while rows := cur.fetchmany(batch_rows):
            batch = []
            for row in rows:
                trial = dict(zip(names, row, strict=True))
                for key in ("vars", "messages", "expected", "output_data", "conversation"):
                    trial[key] = json_value(trial[key])
                trial["tags"] = list(trial["tags"] or [])
                trial["grades"] = [dict(g) for g in trial["grades"]]
                batch.append(trial)
            yield batch
