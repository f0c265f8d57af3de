"""A run's results cut into batches for export, and the one COPY that writes a batch.

Rows go out in the order the run recorded them. The writer stored their parts in
`large_texts` batch by batch in the same order (within a batch, in no particular one), so
the outputs of a stretch of results are read from one stretch of `large_texts` (rowid
ranges prune whole row groups) instead of scanning every stored text.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from evalkit.errors import StoreError
from evalkit.store.export_texts import Stored, long_outputs
from evalkit.store.large_texts import PART_CHARS

ExportFormat = Literal["csv", "jsonl", "parquet"]

# One COPY holds about this much output text (an output stored in parts counts as
# many characters as the caller says: none when it is written in afterwards).
BATCH_CHARS = 8 * 1024 * 1024
BATCH_ROWS = 5000

# (rowid, inline output's length, output_ref, parts, parts' first and last rowid) of
# each result, in the order recorded. A text's size counts its parts, not their
# characters: that reads no text (measured: summing the lengths read every stored
# output, 3 s for 2 GB). One missing is an error.
SIZES = """
    WITH parts AS (
        SELECT text_hash, min(rowid) AS lo, max(rowid) AS hi, max(part) + 1 AS parts
        FROM large_texts
        WHERE text_hash IN (SELECT output_ref FROM results WHERE run_id = $run_id)
        GROUP BY text_hash
    )
    SELECT r.rowid, coalesce(length(r.output), 0), r.output_ref, p.parts, p.lo, p.hi
    FROM results r LEFT JOIN parts p ON p.text_hash = r.output_ref
    WHERE r.run_id = $run_id
    ORDER BY r.rowid
"""
Sizes = list[tuple[Any, ...]]

# CSV has no nested values: grades go in as one JSON text cell; jsonl and parquet keep
# them as a list of structs that readers see as real nested data.
_GRADES_NESTED = "list(struct_pack(idx, grader, metric, status, score, passed, reason, weight, threshold, metadata) ORDER BY idx)"  # noqa: E501
# A conversation's or agent's trajectory, nested the same way (NULL for one-shot trials).
_STEPS_NESTED = "list(struct_pack(idx, turn, role, content, tool_name, tool_call_id, arguments, result, error, latency_ms, input_tokens, output_tokens, cached) ORDER BY idx)"  # noqa: E501
COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER {header}",
    "jsonl": "FORMAT json",
    "parquet": "FORMAT parquet, {codec}",
}
# A file's compression (`export --compression`): Parquet compresses its pages, zstd by
# default; CSV and JSONL are plain unless asked, then compressed whole (export.py).
Compression = Literal["zstd", "gzip", "none"]
# Parquet's codecs. zstd at level 1: on 2 GB of word-like text (bench_memory.py --prose)
# level 1 compressed 16 MB in 110-125 ms where DuckDB's default level 3 took 160-180 ms,
# for a file 16% larger (850 MB against 731); compressing is most of a Parquet export.
PARQUET_CODECS = {
    "zstd": "COMPRESSION zstd, COMPRESSION_LEVEL 1",
    "none": "COMPRESSION uncompressed",
}
# An output stored in parts is left NULL by the COPY: the caller writes it in.
NO_TEXTS = "SELECT NULL::BIGINT AS recorded, NULL::VARCHAR AS text"


@dataclass(slots=True)
class Batch:
    """A stretch of a run's results (rowids first..last) and of the parts its outputs use."""

    first: int
    last: int = -1
    chars: int = 0
    rows: int = 0
    parts_lo: int | None = None
    parts_hi: int | None = None

    def add(self, rowid: int, chars: int, lo: int | None, hi: int | None) -> None:
        self.last, self.chars, self.rows = rowid, self.chars + chars, self.rows + 1
        if lo is not None and hi is not None:
            self.parts_lo = lo if self.parts_lo is None else min(self.parts_lo, lo)
            self.parts_hi = hi if self.parts_hi is None else max(self.parts_hi, hi)


def rebuilt_texts(batch: Batch) -> str:
    """SQL giving each output of `batch` stored in parts rebuilt from them (`recorded`,
    `text`), reading only the batch's stretch of `large_texts`. Slow (string_agg sorts
    every output's parts): the way left when the faster ones cannot be taken."""
    if batch.parts_lo is None or batch.parts_hi is None:
        return NO_TEXTS
    return f"""
        SELECT b.recorded, string_agg(l.text, '' ORDER BY l.part) AS text
        FROM batch b JOIN large_texts l ON l.text_hash = b.output_ref
        WHERE l.rowid BETWEEN {int(batch.parts_lo)} AND {int(batch.parts_hi)}
        GROUP BY b.recorded
    """


def batches(sizes: Sizes, *, stored_chars: int, chars: int = BATCH_CHARS) -> list[Batch]:
    """Results cut into stretches of at most BATCH_ROWS rows and about `chars` chars
    (an output stored in parts counts `stored_chars` per part)."""
    cut: list[Batch] = []
    current: Batch | None = None
    for rowid, inline, _, parts, lo, hi in sizes:
        size = int(inline) + stored_chars * int(parts or 0)
        full = current is not None and (current.rows >= BATCH_ROWS or current.chars + size > chars)
        if current is None or full:
            current = Batch(first=int(rowid))
            cut.append(current)
        current.add(int(rowid), size, lo, hi)
    return cut


def stored_outputs(con: duckdb.DuckDBPyConnection, sizes: Sizes) -> Generator[tuple[int, str]]:
    """(rowid, output) of each result whose output is stored in parts, in rowid order."""
    stored = []
    for rowid, _, ref, parts, lo, hi in sizes:
        if ref is None:
            continue
        if parts is None:
            raise StoreError(f"the output of result {rowid} ({ref}) has none of its parts")
        stored.append(Stored(int(rowid), str(ref), int(parts), int(lo), int(hi)))
    return long_outputs(con, stored, PART_CHARS)


def copy_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fmt: ExportFormat,
    batch: Batch | None,
    part: Path,
    texts: str,
    *,
    first: bool,
    marker: str | None = None,
    without_outputs: bool = False,
    codec: str = "zstd",
) -> Path:
    """One COPY of `batch` to `part`, the outputs stored in parts taken from `texts` (SQL
    giving `recorded` and `text`; it may use the CTE `batch`, the batch's results). With a
    `marker`, such an output is not written: the marker and the result's rowid stand in
    its place. `without_outputs`: every output is NULL (the caller writes them itself).
    `codec`: Parquet's, a key of PARQUET_CODECS."""
    grades = f"to_json({_GRADES_NESTED})" if fmt == "csv" else _GRADES_NESTED
    steps = f"to_json({_STEPS_NESTED})" if fmt == "csv" else _STEPS_NESTED
    options = COPY_OPTIONS[fmt].format(
        header="true" if first else "false", codec=PARQUET_CODECS[codec]
    )
    output = "coalesce(r.output, t.text)"
    if marker is not None:
        output = "CASE WHEN r.output_ref IS NULL THEN r.output ELSE $marker || r.recorded END"
    elif without_outputs:
        output = "NULL::VARCHAR"
    query = f"""
        COPY (
            WITH batch AS (
                SELECT rowid AS recorded, * FROM results
                WHERE run_id = $run_id AND rowid BETWEEN $first AND $last
            ),
            texts AS ({texts}),
            g AS (
                SELECT trial_id, {grades} AS grades
                FROM grades WHERE run_id = $run_id AND trial_id IN (SELECT trial_id FROM batch)
                GROUP BY trial_id
            ),
            s AS (
                SELECT trial_id, {steps} AS steps
                FROM steps WHERE run_id = $run_id AND trial_id IN (SELECT trial_id FROM batch)
                GROUP BY trial_id
            )
            SELECT r.* EXCLUDE (recorded, output_ref)
                       REPLACE ({output} AS output),
                   c.vars, c.messages, c.expected, c.context, c.tags,
                   c.metadata AS case_metadata, c.cluster, g.grades,
                   c.conversation, s.steps
            FROM batch r
            LEFT JOIN texts t USING (recorded)
            LEFT JOIN cases c USING (case_hash)
            LEFT JOIN g USING (trial_id)
            LEFT JOIN s USING (trial_id)
            ORDER BY r.recorded
        ) TO $out ({options})
    """
    b = batch or Batch(first=0)
    params: dict[str, object] = {"run_id": run_id, "first": b.first, "last": b.last}
    if marker is not None:
        params.update(marker=marker)
    con.execute(query, {**params, "out": str(part)})
    return part
