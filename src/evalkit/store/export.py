"""Export one run's trials, with their grades and case fields, to a file via DuckDB COPY.

Streamed in batches: a run's outputs can be gigabytes (20,000 trials of 100 KB), and
one COPY over them all made DuckDB reassemble every output stored in parts at once
(10 GB of memory). Each batch of trials, bounded in rows and characters of output, is
one COPY to a part file. CSV and JSONL: each part is copied into the file as soon as it
is written, with the outputs stored in parts written in by export_texts.splice (DuckDB
rebuilding them took most of the time). Parquet: the parts, outputs rebuilt in SQL, are
read back into one file. DuckDB's memory is capped as in the writing process. Rows come
in the order the run recorded them.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from evalkit.errors import StoreError, UsageError
from evalkit.store.export_texts import Stored, csv_field, json_string, long_outputs, new_marker
from evalkit.store.export_texts import splice as splice_outputs
from evalkit.store.large_texts import PART_CHARS
from evalkit.store.memory import apply_memory_limit, current_limit

ExportFormat = Literal["csv", "jsonl", "parquet"]

# One COPY holds about this much output text (CSV and JSONL count only the outputs
# stored inline: the others are not in the COPY).
BATCH_CHARS = 8 * 1024 * 1024
GROUP_CHARS = 16 * 1024 * 1024  # of output text in one Parquet row group
# Parquet: a COPY also rebuilds its outputs from their parts, reading the stretch of
# `large_texts` they lie in, which holds other batches' parts too (4.8 times its own
# text at 8 MB, 2.9 at 16 MB): larger batches read less (400 MB of outputs: 7.0 s of
# CPU in 8 MB batches, 6.5 s in 16 MB), within a twelfth of DuckDB's cap (8 MB under
# 96 MB was measured to fit, 32 MB did not). A part's row group is one chunk when the
# parts are joined, so a batch is also the file's row group: at most GROUP_CHARS.
PARQUET_BATCH_CHARS = GROUP_CHARS
BATCH_ROWS = 5000
# CSV and JSONL: DuckDB only writes the short columns and reads parts, which it caches
# up to its cap for nothing (read once). Measured on 2 GB of outputs: as fast under
# 128 MB as under 256 MB, and 145 MB less at peak.
SPLICED_LIMIT = "128MB"

# CSV has no nested values: grades go in as one JSON text cell; jsonl and parquet keep
# them as a list of structs that readers see as real nested data.
_GRADES_NESTED = "list(struct_pack(idx, grader, metric, status, score, passed, reason, weight, threshold, metadata) ORDER BY idx)"  # noqa: E501
# A conversation's or agent's trajectory, nested the same way (NULL for one-shot trials).
_STEPS_NESTED = "list(struct_pack(idx, turn, role, content, tool_name, tool_call_id, arguments, result, error, latency_ms, input_tokens, output_tokens, cached) ORDER BY idx)"  # noqa: E501
_COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER {header}",
    "jsonl": "FORMAT json",
    "parquet": "FORMAT parquet, COMPRESSION zstd",
}
# Rows go out in the order the run recorded them: that is also the order of the parts
# in `large_texts`, so each batch reads one stretch of both tables (rowid ranges prune
# whole row groups) instead of scanning every stored text once per batch. A text's
# size counts its parts, not their characters: that reads no text (measured: summing
# the lengths read every stored output, 3 s for 2 GB). One missing is an error.
_SIZES = """
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


# An output stored in parts, rebuilt in SQL (Parquet): only the parts of this batch's
# outputs, read from the batch's stretch of `large_texts`.
_TEXTS = """
    SELECT text_hash, string_agg(text, '' ORDER BY part) AS text
    FROM large_texts
    WHERE rowid BETWEEN $lo AND $hi AND text_hash IN (SELECT output_ref FROM batch)
    GROUP BY text_hash
"""


@dataclass(slots=True)
class _Batch:
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


def export_run(con: duckdb.DuckDBPyConnection, run_id: str, fmt: ExportFormat, out: Path) -> Path:
    """Write every trial of `run_id` to `out` as csv, jsonl or parquet; returns `out`."""
    if fmt not in _COPY_OPTIONS:
        raise UsageError(f"unknown export format '{fmt}'; use one of csv, jsonl, parquet")
    out = Path(out)
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a directory; give a file name",
            hint=f"e.g. --out {out / f'{run_id}.{fmt}'}",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    apply_memory_limit(con, default=None if fmt == "parquet" else SPLICED_LIMIT)
    sizes = con.execute(_SIZES, {"run_id": run_id}).fetchall()
    try:
        with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
            if fmt == "parquet":
                cap = current_limit(con) or PARQUET_BATCH_CHARS * 12
                chars = max(BATCH_CHARS // 8, min(PARQUET_BATCH_CHARS, cap // 12))
                batches = _batches(sizes, stored_chars=PART_CHARS, chars=chars)
                parts = [
                    _copy_batch(con, run_id, fmt, batch, Path(tmp) / f"{n:06d}.{fmt}", first=n == 0)
                    for n, batch in enumerate(batches or [None])
                ]
                _join_parquet(con, parts, out, _group_rows(batches))
            else:
                _write_spliced(con, run_id, fmt, sizes, out, Path(tmp))
    except duckdb.IOException as exc:
        raise StoreError(f"could not write the export to {out}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"could not write the export to {out}: {exc}") from exc
    return out


def _write_spliced(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fmt: ExportFormat,
    sizes: list[tuple[Any, ...]],
    out: Path,
    tmp: Path,
) -> None:
    """CSV or JSONL: DuckDB writes each batch with a marker for every output stored in
    parts, and the batch goes into `out` with those outputs written in at the markers."""
    marker = new_marker()
    stored = []
    for rowid, _, ref, parts, lo, hi in sizes:
        if ref is None:
            continue
        if parts is None:
            raise StoreError(f"the output of result {rowid} ({ref}) has none of its parts")
        stored.append(Stored(int(rowid), str(ref), int(parts), int(lo), int(hi)))
    escape = csv_field if fmt == "csv" else json_string
    # the outputs are read on cursors of their own (the database is open read-only: every
    # cursor sees the same data), the next window while this one is written
    with closing(long_outputs(con, stored, PART_CHARS)) as outputs, out.open("wb") as sink:
        for n, batch in enumerate(_batches(sizes, stored_chars=0) or [None]):
            part = tmp / f"{n:06d}.{fmt}"
            _copy_batch(con, run_id, fmt, batch, part, first=n == 0, marker=marker)
            splice_outputs(part, sink, marker, outputs, escape)
            part.unlink()
        if next(outputs, None) is not None:
            raise StoreError(f"the export of run {run_id} missed outputs stored in parts")


def _batches(
    sizes: list[tuple[Any, ...]], *, stored_chars: int, chars: int = BATCH_CHARS
) -> list[_Batch]:
    """Results cut into stretches of at most BATCH_ROWS rows and about `chars` chars
    (an output stored in parts counts `stored_chars` per part)."""
    batches: list[_Batch] = []
    current: _Batch | None = None
    for rowid, inline, _, parts, lo, hi in sizes:
        size = int(inline) + stored_chars * int(parts or 0)
        full = current is not None and (current.rows >= BATCH_ROWS or current.chars + size > chars)
        if current is None or full:
            current = _Batch(first=int(rowid))
            batches.append(current)
        current.add(int(rowid), size, lo, hi)
    return batches


def _copy_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fmt: ExportFormat,
    batch: _Batch | None,
    part: Path,
    *,
    first: bool,
    marker: str | None = None,
) -> Path:
    """One COPY of `batch` to `part`. With a `marker`, an output stored in parts is not
    rebuilt: the marker and the result's rowid stand in its place."""
    grades = f"to_json({_GRADES_NESTED})" if fmt == "csv" else _GRADES_NESTED
    steps = f"to_json({_STEPS_NESTED})" if fmt == "csv" else _STEPS_NESTED
    options = _COPY_OPTIONS[fmt].format(header="true" if first else "false")
    texts = _TEXTS if marker is None else "SELECT NULL::VARCHAR AS text_hash, NULL AS text"
    output = (
        "coalesce(r.output, t.text)"
        if marker is None
        else "CASE WHEN r.output_ref IS NULL THEN r.output ELSE $marker || r.recorded END"
    )
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
            LEFT JOIN texts t ON t.text_hash = r.output_ref
            LEFT JOIN cases c USING (case_hash)
            LEFT JOIN g USING (trial_id)
            LEFT JOIN s USING (trial_id)
            ORDER BY r.recorded
        ) TO $out ({options})
    """
    b = batch or _Batch(first=0)
    lo, hi = (b.parts_lo, b.parts_hi) if b.parts_lo is not None else (-1, -1)
    params: dict[str, object] = {"run_id": run_id, "first": b.first, "last": b.last}
    if marker is None:
        params.update(lo=lo, hi=hi)
    else:
        params.update(marker=marker)
    con.execute(query, {**params, "out": str(part)})
    return part


def _group_rows(batches: list[_Batch]) -> int:
    """Rows per Parquet row group: about GROUP_CHARS of output text, at most 2,048 rows."""
    rows = sum(b.rows for b in batches)
    chars = sum(b.chars for b in batches)
    if rows == 0 or chars == 0:
        return 2048
    return max(1, min(2048, GROUP_CHARS * rows // chars))


def _join_parquet(con: duckdb.DuckDBPyConnection, parts: list[Path], out: Path, group: int) -> None:
    """The Parquet parts, in order, as the one file `out` with row groups of `group` rows."""
    # Row groups bounded in text: DuckDB holds one whole while writing it, and 2,048
    # distinct 100 KB outputs (200 MB) ran out of memory under the 256 MB cap.
    con.execute(
        f"COPY (SELECT * FROM read_parquet($parts)) TO $out "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(group)})",
        {"parts": [str(p) for p in parts], "out": str(out)},
    )
