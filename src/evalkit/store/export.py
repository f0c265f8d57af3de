"""Export one run's trials, with their grades and case fields, to a file via DuckDB COPY."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb

from evalkit.errors import StoreError, UsageError

ExportFormat = Literal["csv", "jsonl", "parquet"]

# CSV has no nested values: grades go in as one JSON text cell; jsonl and parquet keep
# them as a list of structs that readers see as real nested data.
_GRADES_NESTED = "list(struct_pack(idx, grader, metric, status, score, passed, reason, weight, threshold, metadata) ORDER BY idx)"  # noqa: E501
# A conversation's or agent's trajectory, nested the same way (NULL for one-shot trials).
_STEPS_NESTED = "list(struct_pack(idx, turn, role, content, tool_name, tool_call_id, arguments, result, error, latency_ms, input_tokens, output_tokens, cached) ORDER BY idx)"  # noqa: E501
_COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER true",
    "jsonl": "FORMAT json",
    "parquet": "FORMAT parquet, COMPRESSION zstd",
}


def export_run(con: duckdb.DuckDBPyConnection, run_id: str, fmt: ExportFormat, out: Path) -> Path:
    """Write every trial of `run_id` to `out` as csv, jsonl or parquet; returns `out`."""
    if fmt not in _COPY_OPTIONS:
        raise UsageError(f"unknown export format '{fmt}'; use one of csv, jsonl, parquet")
    grades = f"to_json({_GRADES_NESTED})" if fmt == "csv" else _GRADES_NESTED
    steps = f"to_json({_STEPS_NESTED})" if fmt == "csv" else _STEPS_NESTED
    query = f"""
        COPY (
            WITH g AS (
                SELECT trial_id, {grades} AS grades
                FROM grades WHERE run_id = $run_id GROUP BY trial_id
            ),
            s AS (
                SELECT trial_id, {steps} AS steps
                FROM steps WHERE run_id = $run_id GROUP BY trial_id
            )
            SELECT r.* EXCLUDE (output_ref) REPLACE (full_output(r.output, r.output_ref) AS output),
                   c.vars, c.messages, c.expected, c.context, c.tags,
                   c.metadata AS case_metadata, c.cluster, g.grades,
                   c.conversation, s.steps
            FROM results r
            LEFT JOIN cases c USING (case_hash)
            LEFT JOIN g USING (trial_id)
            LEFT JOIN s USING (trial_id)
            WHERE r.run_id = $run_id
            ORDER BY r.suite, r.case_id, r.target_id, r.prompt_id NULLS FIRST, r.epoch
        ) TO $out ({_COPY_OPTIONS[fmt]})
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(query, {"run_id": run_id, "out": str(out)})
    except duckdb.IOException as exc:
        raise StoreError(f"could not write the export to {out}: {exc}") from exc
    return out
