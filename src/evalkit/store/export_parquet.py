"""Parquet export: the run's rows in batches of about GROUP_CHARS of output text, each
batch one part file (one row group) appended to the export as soon as it is written.

DuckDB writes every column but the outputs (`copy_batch` without them: NULL). The
outputs are written from Python (parquet_text_column), whole as export_texts reads them
(a window ahead on a second thread), each row group's chunk right after its part's body
(parquet_concat.Joiner, which also joins the parts by their footers without decoding
them). Handing 16 MB of outputs to DuckDB's Parquet writer from Python took 50-60 ms a
batch, compressed or not; rebuilding them in SQL (string_agg) more. Measured on 2 GB of
text-like outputs (20,000 x 100 KB, bench_memory.py --prose): 16.6-17.4 s with DuckDB
writing the outputs, compressing on one core; see the README for today's figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from itertools import islice
from pathlib import Path

import duckdb

from evalkit.errors import StoreError
from evalkit.store.export_batches import (
    NO_TEXTS,
    PARQUET_CODECS,
    Batch,
    Sizes,
    batches,
    copy_batch,
    rebuilt_texts,
    stored_outputs,
)
from evalkit.store.export_texts import all_taken, output_of
from evalkit.store.large_texts import PART_CHARS
from evalkit.store.parquet_concat import Chunk, Joiner
from evalkit.store.parquet_text_column import TextColumn

# Output text in one Parquet row group (and one part, one COPY), as much as parquet-mr's
# default row group holds. Each COPY cost 30 ms of its own: on 2 GB of words, 16 MB row
# groups (128 COPYs) took 13.1-14.5 s, 64 MB 9.3-11.2 s, 128 MB 8.0-8.8 s. A group also
# holds at most BATCH_ROWS results, so short outputs make groups of fewer characters.
GROUP_CHARS = 128 * 1024 * 1024
# The slow way's row groups: DuckDB holds a whole one while writing it, and 2,048
# distinct 100 KB outputs (200 MB) ran out of memory under the 256 MB cap.
REBUILT_GROUP_CHARS = 16 * 1024 * 1024
OUTPUT = ["output"]  # the column written from Python
# The outputs stored inline (short ones) of a batch's results, by rowid.
_INLINE = """
    SELECT rowid, output FROM results
    WHERE run_id = $run_id AND rowid BETWEEN $first AND $last AND output IS NOT NULL
"""


def write_parquet(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    sizes: Sizes,
    out: Path,
    tmp: Path,
    codec: str = "zstd",
) -> None:
    """Every trial of `run_id` (its `sizes`) to `out` as one Parquet file, its pages
    compressed with `codec` (a key of PARQUET_CODECS)."""
    if not sizes:  # the columns and no rows
        copy_batch(con, run_id, "parquet", None, out, NO_TEXTS, first=True, codec=codec)
        return
    grouped = batches(sizes, stored_chars=PART_CHARS, chars=GROUP_CHARS)
    column = TextColumn(OUTPUT, compressed=codec == "zstd")
    with closing(stored_outputs(con, sizes)) as stored, column:
        texts = _outputs(con, run_id, sizes, stored)

        def write_chunk(rows: int, write: Callable[[bytes], None], at: int) -> Chunk:
            return column.write(islice(texts, rows), write, at)

        with Joiner(out, (OUTPUT, write_chunk)) as joiner:
            rows = 0
            for n, batch in enumerate(grouped):
                part = tmp / f"{n:06d}.parquet"
                copy_batch(con, run_id, "parquet", batch, part, NO_TEXTS, first=n == 0,
                           without_outputs=True, codec=codec)  # fmt: skip
                if not joiner.add(part):
                    if joiner.started:  # every part comes from one query: not expected
                        raise StoreError(f"part {n} of the Parquet export would not join")
                    break  # DuckDB joins them, below
                part.unlink()
                rows += batch.rows  # both sides in rowid order: a count tells them apart
                if joiner.rows != rows:
                    raise StoreError(f"export out of order: part {n} holds other rows")
            else:
                all_taken(stored, run_id)
                joiner.finish()
                return
    _rebuilt_by_duckdb(con, run_id, sizes, out, tmp, codec)


def _outputs(
    con: duckdb.DuckDBPyConnection, run_id: str, sizes: Sizes, stored: Iterator[tuple[int, str]]
) -> Iterator[str | None]:
    """Each result's output in the order recorded: inline (read a batch of at most
    BATCH_CHARS at a time), or whole from its parts."""
    rows = iter(sizes)
    for batch in batches(sizes, stored_chars=0):
        params = {"run_id": run_id, "first": batch.first, "last": batch.last}
        inline = dict(con.execute(_INLINE, params).fetchall())
        for rowid, _, ref, *_ in islice(rows, batch.rows):
            whole = None if ref is None else output_of(stored, rowid)
            yield inline.get(rowid, whole)  # as the SQL's coalesce(output, rebuilt text)


def _rebuilt_by_duckdb(
    con: duckdb.DuckDBPyConnection, run_id: str, sizes: Sizes, out: Path, tmp: Path, codec: str
) -> None:
    """The slow way, for parts the footers cannot join: DuckDB rebuilds the outputs in
    SQL, writes a batch of at most BATCH_CHARS of them at a time, then joins the parts by
    decoding and encoding them again."""
    grouped = batches(sizes, stored_chars=PART_CHARS)
    parts = [
        str(copy_batch(con, run_id, "parquet", b, tmp / f"rebuilt-{n:06d}.parquet",
                       rebuilt_texts(b), first=n == 0, codec=codec))
        for n, b in enumerate(grouped)
    ]  # fmt: skip
    con.execute(
        f"COPY (SELECT * FROM read_parquet($parts)) TO $out "
        f"(FORMAT parquet, {PARQUET_CODECS[codec]}, ROW_GROUP_SIZE {_group_rows(grouped)})",
        {"parts": parts, "out": str(out)},
    )


def _group_rows(grouped: list[Batch]) -> int:
    """Rows per row group: about REBUILT_GROUP_CHARS of output text, at most 2,048 rows."""
    rows = sum(b.rows for b in grouped)
    chars = sum(b.chars for b in grouped)
    if rows == 0 or chars == 0:
        return 2048
    return max(1, min(2048, REBUILT_GROUP_CHARS * rows // chars))
