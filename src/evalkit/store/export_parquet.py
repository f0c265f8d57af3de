"""Parquet export: the run's rows in batches of about GROUP_CHARS of output text, each
batch one part file (one row group), the parts then joined into one file.

Parquet's writer needs whole values. Rebuilding the outputs stored in parts in SQL
(string_agg) was most of the time, so they come whole from Python instead
(export_texts.long_outputs, read a window ahead on a second thread), a batch at a time,
registered with DuckDB as a DataFrame. Every other column is written first, for all
rows, in a few large COPYs (the `short` files); each batch then reads its stretch of
those and pairs it row by row with its outputs (a POSITIONAL JOIN, checked by rowid),
which is cheaper than joining and sorting 16 MB of text with the results, grades and
cases in every batch. The parts are joined by their footers (parquet_concat), not
decoded and encoded again. Measured on 400 MB of outputs (4,000 x 100 KB): outputs
rebuilt in SQL 5.3 s; from Python, joined in each batch's COPY 4.1 s; paired with the
short files 3.0 s; parts joined by their footers 2.2 s.
"""

from __future__ import annotations

from contextlib import closing
from itertools import islice
from pathlib import Path

import duckdb

from evalkit.store.export_batches import (
    COPY_OPTIONS,
    NO_TEXTS,
    Batch,
    Sizes,
    batches,
    copy_batch,
    stored_outputs,
)
from evalkit.store.export_texts import all_taken, output_of
from evalkit.store.large_texts import PART_CHARS
from evalkit.store.memory import current_limit, keep_blocks
from evalkit.store.parquet_concat import concat

GROUP_CHARS = 16 * 1024 * 1024  # of output text in one Parquet row group
# DuckDB's cap per character of a batch's text: 16 MB batches ran under 96 MB, 32 MB
# did not under 128 MB. A lower cap makes smaller batches, never below MIN_GROUP_CHARS.
CAP_PER_CHAR = 6
MIN_GROUP_CHARS = 1024 * 1024
# Each batch's COPY frees its buffers and the next faults fresh pages in: DuckDB keeping
# 32 MB of freed blocks took 5-10% off a Parquet export of 2 GB (system time 1-2 s
# less) at the same peak; 128 MB took 10-12% off but added 30 MB to the peak.
KEPT_BLOCKS = 32 * 1024 * 1024
# The `short` files: small row groups so that each batch's stretch prunes the rest.
_SHORT_OPTIONS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048"
_TEXTS = "evalkit_batch_texts"  # the name a batch's outputs are registered under
# The outputs on the left: a POSITIONAL JOIN holds its right side whole, and copying the
# short rows there instead of 16 MB of text took a batch from 51 ms to 42 ms.
_PAIRED = f"""
    COPY (
        SELECT s.* EXCLUDE (recorded) REPLACE (
            CASE WHEN s.recorded = t.recorded THEN coalesce(s.output, t.text)
                 ELSE error('export out of order: result ' || coalesce(s.recorded, -1)
                            || ' met the output of ' || coalesce(t.recorded, -1)) END AS output)
        FROM {_TEXTS} t POSITIONAL JOIN (
            SELECT * FROM read_parquet($short) WHERE recorded BETWEEN $first AND $last
        ) s
    ) TO $out ({COPY_OPTIONS["parquet"]})
"""


def write_parquet(
    con: duckdb.DuckDBPyConnection, run_id: str, sizes: Sizes, out: Path, tmp: Path
) -> None:
    """Every trial of `run_id` (its `sizes`) to `out` as one Parquet file."""
    if not sizes:  # the columns and no rows
        copy_batch(con, run_id, "parquet", None, out, NO_TEXTS, first=True)
        return
    short = [
        str(copy_batch(con, run_id, "parquet", b, tmp / f"short-{n:06d}.parquet", NO_TEXTS,
                       first=n == 0, recorded=True, options=_SHORT_OPTIONS))
        for n, b in enumerate(batches(sizes, stored_chars=0))
    ]  # fmt: skip
    keep_blocks(con, KEPT_BLOCKS)
    cap = current_limit(con) or GROUP_CHARS * CAP_PER_CHAR
    chars = max(MIN_GROUP_CHARS, min(GROUP_CHARS, cap // CAP_PER_CHAR))
    grouped = batches(sizes, stored_chars=PART_CHARS, chars=chars)
    rows = iter(sizes)
    parts = []
    with closing(stored_outputs(con, sizes)) as outputs:
        for n, batch in enumerate(grouped):
            recorded: list[int] = []
            texts: list[str | None] = []
            for rowid, _, ref, *_ in islice(rows, batch.rows):
                recorded.append(rowid)
                texts.append(None if ref is None else output_of(outputs, rowid))
            part = tmp / f"{n:06d}.parquet"
            _pair(con, short, batch, recorded, texts, part)
            parts.append(str(part))
        all_taken(outputs, run_id)
    if not concat([Path(part) for part in parts], out):
        _join(con, parts, out, _group_rows(grouped))


def _pair(
    con: duckdb.DuckDBPyConnection,
    short: list[str],
    batch: Batch,
    recorded: list[int],
    texts: list[str | None],
    part: Path,
) -> None:
    """One batch: its stretch of the `short` files paired row by row with its outputs."""
    import pandas as pd  # here: 80 MB that CSV and JSONL exports need not hold

    frame = pd.DataFrame({"recorded": pd.Series(recorded, dtype="int64"),
                          "text": pd.Series(texts, dtype=object)})  # fmt: skip
    con.register(_TEXTS, frame)
    try:
        params = {"short": short, "first": batch.first, "last": batch.last, "out": str(part)}
        con.execute(_PAIRED, params)
    finally:
        con.unregister(_TEXTS)


def _group_rows(grouped: list[Batch]) -> int:
    """Rows per Parquet row group: about GROUP_CHARS of output text, at most 2,048 rows."""
    rows = sum(b.rows for b in grouped)
    chars = sum(b.chars for b in grouped)
    if rows == 0 or chars == 0:
        return 2048
    return max(1, min(2048, GROUP_CHARS * rows // chars))


def _join(con: duckdb.DuckDBPyConnection, parts: list[str], out: Path, group: int) -> None:
    """The Parquet parts, in order, as the one file `out` with row groups of `group` rows."""
    # Row groups bounded in text: DuckDB holds one whole while writing it, and 2,048
    # distinct 100 KB outputs (200 MB) ran out of memory under the 256 MB cap.
    con.execute(
        f"COPY (SELECT * FROM read_parquet($parts)) TO $out "
        f"({COPY_OPTIONS['parquet']}, ROW_GROUP_SIZE {int(group)})",
        {"parts": parts, "out": str(out)},
    )
