"""One Parquet column of optional text, written from Python: an export's outputs.

DuckDB's Parquet writer took 50-60 ms for each 16 MB of outputs handed to it from Python,
with compression or without: two thirds of an export of 2 GB of outputs, on one core.
So DuckDB writes every other column, the outputs as NULL, and this module writes the
output column of each row group itself, in plain data pages (version 1) of about
PAGE_BYTES, compressed with zstd on COMPRESS_THREADS threads (zstandard lets go of
Python's lock). parquet_concat.Joiner puts each chunk in place of DuckDB's.

A page: its header (Thrift compact), then, compressed together, the definition levels
(a 4-byte length, then runs of RLE at bit width 1: a NULL is level 0) and each value
that is not NULL as a 4-byte length and its UTF-8 bytes. No statistics but the count of
NULLs: min and max of 100 KB texts would cost more than they prune.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby

import zstandard

from evalkit.store.parquet_concat import Chunk
from evalkit.store.thrift import BINARY, I32, I64, LIST, STRUCT, Struct, add_varint, encode

PAGE_BYTES = 1024 * 1024  # of values in one page (a longer value is a page of its own)
# zstd on up to four cores (measured on two: 2 GB of words in 8.0-8.8 s, one core's
# COPYs took 16.7-17.3 s); pages wait in order, at most twice as many as threads
COMPRESS_THREADS = min(4, os.cpu_count() or 1)
ZSTD_LEVEL = 1  # as DuckDB's: see export_batches.PARQUET_CODECS
# parquet.thrift's enum values used here
_BYTE_ARRAY, _PLAIN, _RLE, _DATA_PAGE, _UNCOMPRESSED, _ZSTD = 6, 0, 3, 0, 0, 6
_MAX_PAGE = 2**31 - 1  # page sizes are i32


@dataclass(slots=True)
class _Written:
    """One page ready to write: its header and compressed data, and what it holds."""

    data: bytes
    uncompressed: int
    rows: int
    nulls: int


class TextColumn:
    """Writes the chunks of one column `path` of optional UTF-8 text, one per row group,
    its pages compressed with zstd or (`compressed` False) not."""

    def __init__(self, path: list[str], *, compressed: bool = True) -> None:
        self.path = path
        self.compressed = compressed
        self._pool = ThreadPoolExecutor(COMPRESS_THREADS, thread_name_prefix="evalkit-zstd")
        self._local = threading.local()

    def write(self, texts: Iterable[str | None], write: Callable[[bytes], None], at: int) -> Chunk:
        """`texts` as one column chunk, its bytes given to `write` in order; the chunk's
        first byte will be at `at` in the file."""
        compressed = uncompressed = rows = nulls = 0
        for page in self._compressed(_pages(texts)):
            write(page.data)
            compressed += len(page.data)
            uncompressed += page.uncompressed
            rows, nulls = rows + page.rows, nulls + page.nulls
        meta: Struct = [
            [1, I32, _BYTE_ARRAY],
            [2, LIST, [I32, [_PLAIN, _RLE]]],
            [3, LIST, [BINARY, [name.encode() for name in self.path]]],
            [4, I32, _ZSTD if self.compressed else _UNCOMPRESSED],
            [5, I64, rows],
            [6, I64, uncompressed],
            [7, I64, compressed],
            [9, I64, at],
            [12, STRUCT, [[3, I64, nulls]]],  # Statistics.null_count
        ]
        # ColumnChunk: file_offset (0, as DuckDB writes it), meta_data
        return Chunk([[2, I64, 0], [3, STRUCT, meta]], compressed, uncompressed, rows)

    def _compressed(self, pages: Iterator[_Page]) -> Iterator[_Written]:
        """`pages` compressed on the pool, a few at a time, given back in order."""
        pending: deque[Future[_Written]] = deque()
        for page in pages:
            pending.append(self._pool.submit(self._page, page))
            while pending and (len(pending) > 2 * COMPRESS_THREADS or pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _page(self, page: _Page) -> _Written:
        levels = _levels(page.present)
        plain = 4 + len(levels) + page.size
        if plain > _MAX_PAGE:
            raise ValueError(f"a text of {page.size} bytes is too long for one Parquet page")
        body = b"".join([struct.pack("<I", len(levels)), levels, *page.values])
        if self.compressed:
            compressor = getattr(self._local, "zstd", None)
            if compressor is None:  # one per thread: a compressor is not shared
                compressor = self._local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
            body = compressor.compress(body)
        header: Struct = [
            [1, I32, _DATA_PAGE],
            [2, I32, plain],
            [3, I32, len(body)],
            [5, STRUCT, [[1, I32, len(page.present)], [2, I32, _PLAIN],
                          [3, I32, _RLE], [4, I32, _RLE]]],
        ]  # fmt: skip
        head = encode(header)
        nulls = page.present.count(False)
        return _Written(head + body, len(head) + plain, len(page.present), nulls)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> TextColumn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class _Page:
    present: list[bool]
    values: list[bytes]  # each value's length and bytes, as two items
    size: int = 0


def _pages(texts: Iterable[str | None]) -> Iterator[_Page]:
    page = _Page([], [])
    for text in texts:
        if page.present and page.size >= PAGE_BYTES:
            yield page
            page = _Page([], [])
        page.present.append(text is not None)
        if text is not None:
            data = text.encode()
            page.values += (struct.pack("<I", len(data)), data)
            page.size += 4 + len(data)
    if page.present:
        yield page


def _levels(present: list[bool]) -> bytes:
    """Definition levels (1: a value, 0: NULL) as RLE runs of bit width 1."""
    out = bytearray()
    for level, run in groupby(present):
        add_varint(out, sum(1 for _ in run) << 1)  # the run's length, then 0: RLE
        out.append(int(level))
    return bytes(out)
