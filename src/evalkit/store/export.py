"""Export one run's trials, with their grades and case fields, to a file via DuckDB COPY.

Streamed in batches: a run's outputs can be gigabytes (20,000 trials of 100 KB), and
one COPY over them all made DuckDB reassemble every output stored in parts at once
(10 GB of memory). Each batch of trials, bounded in rows and characters of output, is
one COPY to a part file (export_batches.py). CSV and JSONL: each part is copied into the
file as soon as it is written, with the outputs stored in parts written in by
export_texts.splice (DuckDB rebuilding them took most of the time). Parquet: see
export_parquet.py. DuckDB's memory is capped as in the writing process. Rows come in the
order the run recorded them. The file appears whole or not at all (store/outfile.py).
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import duckdb
import zstandard

from evalkit.errors import StoreError, UsageError
from evalkit.store.export_batches import (
    COPY_OPTIONS,
    NO_TEXTS,
    SIZES,
    Compression,
    ExportFormat,
    Sizes,
    batches,
    copy_batch,
    stored_outputs,
)
from evalkit.store.export_parquet import write_parquet
from evalkit.store.export_texts import all_taken, csv_field, json_string, new_marker
from evalkit.store.export_texts import splice as splice_outputs
from evalkit.store.memory import apply_memory_limit
from evalkit.store.outfile import in_place, written_whole

__all__ = ["COMPRESSIONS", "Compression", "ExportFormat", "default_name", "export_run"]

# DuckDB writes the short columns and one batch of outputs at a time, and reads parts,
# which it caches up to its cap for nothing (read once). Measured on 2 GB of outputs:
# as fast under 128 MB as under 256 MB, and 130-145 MB less at peak.
EXPORT_LIMIT = "128MB"
# What each format takes (the first is its default), and the suffix a compressed CSV or
# JSONL file gets. gzip is Parquet's slowest codec and not written here.
COMPRESSIONS: dict[str, tuple[Compression, ...]] = {
    "csv": ("none", "zstd", "gzip"),
    "jsonl": ("none", "zstd", "gzip"),
    "parquet": ("zstd", "none"),
}
_SUFFIXES = {"zstd": ".zst", "gzip": ".gz", "none": ""}
# Whole-file compression of CSV and JSONL: the command-line tools' default levels (zstd's
# on every core).
_ZSTD_LEVEL, _GZIP_LEVEL = 3, 6


def default_name(run_id: str, fmt: ExportFormat, compression: Compression | None) -> str:
    """`RUN.FORMAT`, and `.zst` or `.gz` when a CSV or JSONL file is compressed whole
    (Parquet compresses its pages inside)."""
    suffix = "" if fmt == "parquet" or compression is None else _SUFFIXES[compression]
    return f"{run_id}.{fmt}{suffix}"


def export_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fmt: ExportFormat,
    out: Path,
    compression: Compression | None = None,
) -> Path:
    """Write every trial of `run_id` to `out` as csv, jsonl or parquet, compressed as
    asked (None: the format's default, see COMPRESSIONS); returns `out`."""
    if fmt not in COPY_OPTIONS:
        raise UsageError(f"unknown export format '{fmt}'; use one of csv, jsonl, parquet")
    codec = compression or COMPRESSIONS[fmt][0]
    if codec not in COMPRESSIONS[fmt]:
        raise UsageError(
            f"a {fmt} export cannot be compressed with {codec}",
            hint=f"--compression takes {' or '.join(COMPRESSIONS[fmt])} for {fmt}",
        )
    out = Path(out)
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a directory; give a file name",
            hint=f"e.g. --out {out / f'{run_id}.{fmt}'}",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    apply_memory_limit(con, default=EXPORT_LIMIT)
    sizes = con.execute(SIZES, {"run_id": run_id}).fetchall()
    try:
        with written_whole(out) as path, _one_thread(con), _scratch(path) as tmp:
            if fmt == "parquet":
                write_parquet(con, run_id, sizes, path, tmp, codec)
            else:
                _write_spliced(con, run_id, fmt, sizes, path, tmp, codec)
    except duckdb.IOException as exc:
        raise StoreError(f"could not write the export to {out}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"could not write the export to {out}: {exc}") from exc
    return out


@contextmanager
def _compressed(file: BinaryIO, compression: Compression) -> Iterator[BinaryIO]:
    """`file`, or a writer that compresses into it whole (closed, not `file`, at the end)."""
    if compression == "none":
        yield file
    elif compression == "gzip":
        with gzip.GzipFile(fileobj=file, mode="wb", compresslevel=_GZIP_LEVEL) as sink:
            yield cast(BinaryIO, sink)
    else:
        zstd = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, threads=-1)
        with zstd.stream_writer(file, closefd=False) as writer:
            yield cast(BinaryIO, writer)


@contextmanager
def _scratch(path: Path) -> Iterator[Path]:
    """A folder for the export's parts: beside `path`, on the same file system (joined
    Parquet parts are copied within it), unless `path` is a device or FIFO."""
    beside = None if in_place(path) else path.parent
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=beside) as tmp:
        yield Path(tmp)


@contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread while exporting (its setting restored after): the export
    already reads on one thread while it writes on another. Measured on 2 GB of text
    read by rowid range: a second DuckDB thread held 60-70 MB more at peak and slowed
    JSONL (6.7 s against 5.5 s) and Parquet (20.9 s against 18.4 s)."""
    (threads,) = con.execute("SELECT current_setting('threads')").fetchall()[0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


def _write_spliced(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fmt: ExportFormat,
    sizes: Sizes,
    out: Path,
    tmp: Path,
    compression: Compression,
) -> None:
    """CSV or JSONL: DuckDB writes each batch with a marker for every output stored in
    parts, and the batch goes into `out` with those outputs written in at the markers."""
    marker = new_marker()
    escape = csv_field if fmt == "csv" else json_string
    # the outputs are read on cursors of their own (the database is open read-only: every
    # cursor sees the same data), the next window while this one is written
    outputs = stored_outputs(con, sizes)
    with closing(outputs), out.open("wb") as file, _compressed(file, compression) as sink:
        for n, batch in enumerate(batches(sizes, stored_chars=0) or [None]):
            part = tmp / f"{n:06d}.{fmt}"
            copy_batch(con, run_id, fmt, batch, part, NO_TEXTS, first=n == 0, marker=marker)
            splice_outputs(part, sink, marker, outputs, escape)
            part.unlink()
        all_taken(outputs, run_id)
