"""Parquet files of one schema joined into one file without decoding their pages.

A Parquet file is "PAR1", its pages (and Bloom filters), then a footer that says where
each row group's column chunks lie, in Thrift's compact protocol, its length and "PAR1"
again. Joining an export's part files in DuckDB decoded and re-encoded every page: 7 s
of an 18 s export of 2 GB of outputs. Here each part's body is copied as bytes, and one
footer lists every part's row groups with their offsets moved by where the part now
starts; a `Joiner` does it part by part as they are written, and can write one column
of text itself (parquet_text_column.py). Page indexes and encrypted columns hold offsets
or keys of their own that a footer edit cannot move: parts with them are refused (`concat`
and `Joiner.add` return False) and the caller joins them another way. DuckDB writes
neither.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from evalkit.store.thrift import I16, I64, LIST, STRUCT, Struct, decode, encode

MAGIC = b"PAR1"
_COPY_CHUNK = 8 * 1024 * 1024
# copy_file_range's ways of saying it cannot copy between these files at all
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}

# Field ids in parquet.thrift.
_FILE_NUM_ROWS, _FILE_SCHEMA, _FILE_ROW_GROUPS = 3, 2, 4
_FILE_ENCRYPTION = (8, 9)  # encryption_algorithm, footer_signing_key_metadata
_SCHEMA_TYPE, _SCHEMA_REPETITION, _SCHEMA_NAME, _SCHEMA_CHILDREN = 1, 3, 4, 5
_BYTE_ARRAY, _OPTIONAL = 6, 1  # a SchemaElement's type and repetition_type
_GROUP_COLUMNS, _GROUP_TOTAL_BYTES, _GROUP_NUM_ROWS = 1, 2, 3
_GROUP_FILE_OFFSET, _GROUP_TOTAL_COMPRESSED, _GROUP_ORDINAL = 5, 6, 7
_CHUNK_FILE_PATH, _CHUNK_FILE_OFFSET, _CHUNK_META = 1, 2, 3
_CHUNK_REFUSED = (4, 5, 6, 7, 8, 9)  # page indexes, encryption
# ColumnMetaData: data_page_offset, index_page_offset, dictionary_page_offset,
# bloom_filter_offset: each counts bytes from the start of the file.
_META_OFFSETS = (9, 10, 11, 14)
_META_UNCOMPRESSED, _META_COMPRESSED = 6, 7  # total sizes, page headers included


@dataclass(slots=True)
class Chunk:
    """A column chunk a ChunkWriter wrote: its footer entry (a ColumnChunk), its sizes in
    bytes, page headers included, and its rows."""

    entry: Struct
    compressed: int
    uncompressed: int
    rows: int


# Writes one row group's chunk of a column: (its rows, where its bytes go, the file
# offset of its first byte) -> the chunk written.
ChunkWriter = Callable[[int, Callable[[bytes], None], int], Chunk]


def concat(parts: Sequence[Path], out: Path) -> bool:
    """Write `parts` (Parquet files of one schema), in order, as the one file `out`.
    False, with nothing written, when they cannot be joined by their footers alone."""
    footers = [_footer(part) for part in parts]
    read = [f for f in footers if f is not None]
    if not read or len(read) < len(footers) or not all(_joinable(read[0][0], m) for m, _ in read):
        return False
    with Joiner(out) as joiner:
        for part, footer in zip(parts, read, strict=True):
            joiner.append(part, footer)
        joiner.finish()
    return True


class Joiner:
    """Parts appended to `out` one at a time, as they are written: a part's body can go
    (and the part be deleted) at once, so an export's parts are never all on disk.

    With `column` (a column's path and a ChunkWriter), that column of every row group is
    written by the writer instead: its chunk goes right after the part's body, the
    footer points at it, and the part's own chunk of it (written all NULL) is left unread.

    Measured writing 128 parts of 16 MB: a part deleted once copied was never written
    back to the disk, and the parts took 3.9 s instead of 7.2 s uncompressed, 9.9 s
    instead of 10.3-10.8 s with zstd (the disk then writes the export once, not twice)."""

    def __init__(self, out: Path, column: tuple[list[str], ChunkWriter] | None = None) -> None:
        self.out = out
        self.rows = 0  # in the parts appended
        self._column = column
        self._leaf = -1  # the index of `column` among the leaf columns
        self._sink: BinaryIO | None = None
        self._first: Struct | None = None  # the first part's metadata: the joined file's
        self._groups: list[Struct] = []
        self._at = len(MAGIC)  # where the next part's body goes

    @property
    def started(self) -> bool:
        return self._sink is not None

    def add(self, part: Path) -> bool:
        """Append `part`; False, with nothing written, when its footer cannot join it to
        the parts before (another schema, offsets outside its footer, not Parquet, no
        such `column` of text)."""
        footer = _footer(part)
        if footer is None or not _joinable(self._first, footer[0]):
            return False
        if self._first is None and self._column is not None:
            leaf = _text_leaf(footer[0], self._column[0])
            if leaf is None:
                return False
            self._leaf = leaf
        self.append(part, footer)
        return True

    def append(self, part: Path, footer: tuple[Struct, int]) -> None:
        """Append `part`, whose footer (read by `_footer`) is known to join."""
        meta, body_end = footer
        if self._sink is None:
            # unbuffered: _copy writes by its descriptor
            self._sink = cast(BinaryIO, self.out.open("wb", buffering=0))
            _write_all(self._sink, MAGIC)
            self._first = meta
        _copy(part, len(MAGIC), body_end, self._sink)
        moved_by = self._at - len(MAGIC)
        self._at += body_end - len(MAGIC)
        for group in _field(meta, _FILE_ROW_GROUPS)[1]:
            _move(group, moved_by)
            if self._column is not None:
                self._write_column(group, self._column[1])
            self._groups.append(group)
            self.rows += _field(group, _GROUP_NUM_ROWS)

    def _write_column(self, group: Struct, write_chunk: ChunkWriter) -> None:
        """The replaced column's chunk of `group`, written at the end of the file."""
        assert self._sink is not None
        sink = self._sink
        columns = _field(group, _GROUP_COLUMNS)[1]
        old = _field(columns[self._leaf], _CHUNK_META)
        rows = _field(group, _GROUP_NUM_ROWS)
        new = write_chunk(rows, lambda data: _write_all(sink, data), self._at)
        if new.rows != rows:
            raise ValueError(f"a row group of {rows} rows got {new.rows} texts")
        columns[self._leaf] = new.entry
        self._at += new.compressed
        _shift(group, (_GROUP_TOTAL_BYTES,), new.uncompressed - _field(old, _META_UNCOMPRESSED))
        _shift(group, (_GROUP_TOTAL_COMPRESSED,), new.compressed - _field(old, _META_COMPRESSED))

    def finish(self) -> None:
        """Write the footer that lists every part's row groups, and close `out`."""
        if self._sink is None or self._first is None:
            raise ValueError("no part to join")
        for ordinal, group in enumerate(self._groups):
            group[:] = [f for f in group if f[0] != _GROUP_ORDINAL]
            if ordinal < 2**15:  # an i16
                _set(group, _GROUP_ORDINAL, I16, ordinal)
        _set(self._first, _FILE_NUM_ROWS, I64, self.rows)
        _set(self._first, _FILE_ROW_GROUPS, LIST, [STRUCT, self._groups])
        footer = encode(self._first)
        _write_all(self._sink, footer + struct.pack("<I", len(footer)) + MAGIC)
        self.close()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()

    def __enter__(self) -> Joiner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _joinable(first: Struct | None, meta: Struct) -> bool:
    """Whether a part with metadata `meta` can follow the first part's (None: it is the
    first)."""
    return _movable(meta) and (first is None or _same_schema(first, meta))


def _footer(part: Path) -> tuple[Struct, int] | None:
    """(the file's metadata, where its footer starts), or None if it is not one this
    module can rewrite exactly (its footer would not re-encode to the same bytes)."""
    with part.open("rb") as f:
        size = f.seek(0, 2)
        if size < 12:
            return None
        f.seek(size - 8)
        length_and_magic = f.read(8)
        length = struct.unpack("<I", length_and_magic[:4])[0]
        start = size - 8 - length
        if length_and_magic[4:] != MAGIC or start < len(MAGIC):
            return None
        f.seek(start)
        raw = f.read(length)
    try:
        meta = decode(raw)
    except (ValueError, IndexError, RecursionError):  # not a footer this module can read
        return None
    return (meta, start) if encode(meta) == raw else None


def _text_leaf(meta: Struct, path: list[str]) -> int | None:
    """The index among the leaf columns of the optional text column at `path`, if any."""
    elements = _field(meta, _FILE_SCHEMA)[1]
    wanted = [name.encode() for name in path]
    leaves = 0
    parents: list[list[Any]] = [[_field(elements[0], _SCHEMA_CHILDREN) or 0, b""]]
    for element in elements[1:]:  # [0] is the root; the rest its tree, depth first
        while parents and parents[-1][0] == 0:
            parents.pop()
        if not parents:
            return None
        parents[-1][0] -= 1
        name, children = _field(element, _SCHEMA_NAME), _field(element, _SCHEMA_CHILDREN)
        if children:
            parents.append([children, name])
            continue
        if [p[1] for p in parents[1:]] + [name] == wanted:
            text = _field(element, _SCHEMA_TYPE) == _BYTE_ARRAY
            return leaves if text and _field(element, _SCHEMA_REPETITION) == _OPTIONAL else None
        leaves += 1
    return None


def _same_schema(a: Struct, b: Struct) -> bool:
    return encode([_field_entry(a, _FILE_SCHEMA)]) == encode([_field_entry(b, _FILE_SCHEMA)])


def _movable(meta: Struct) -> bool:
    """No encryption, and no column chunk with offsets outside its footer entry."""
    if any(f[0] in _FILE_ENCRYPTION for f in meta):
        return False
    for group in _field(meta, _FILE_ROW_GROUPS)[1]:
        for chunk in _field(group, _GROUP_COLUMNS)[1]:
            if any(f[0] in _CHUNK_REFUSED or f[0] == _CHUNK_FILE_PATH for f in chunk):
                return False
    return True


def _move(group: Struct, by: int) -> None:
    """Every file offset in a row group's entry moved by `by` bytes."""
    _shift(group, (_GROUP_FILE_OFFSET,), by)
    for chunk in _field(group, _GROUP_COLUMNS)[1]:
        if _field(chunk, _CHUNK_FILE_OFFSET):  # deprecated; 0 when unused
            _shift(chunk, (_CHUNK_FILE_OFFSET,), by)
        meta = _field(chunk, _CHUNK_META)
        if meta is not None:
            _shift(meta, _META_OFFSETS, by)


def _shift(fields: Struct, ids: tuple[int, ...], by: int) -> None:
    for entry in fields:
        if entry[0] in ids:
            entry[2] += by


def _field_entry(fields: Struct, field_id: int) -> list[Any]:
    for entry in fields:
        if entry[0] == field_id:
            return entry
    return [field_id, 0, None]


def _field(fields: Struct, field_id: int) -> Any:
    return _field_entry(fields, field_id)[2]


def _set(fields: Struct, field_id: int, ctype: int, value: Any) -> None:
    """Set a field, keeping the fields in id order (the writer needs rising ids)."""
    fields[:] = [f for f in fields if f[0] != field_id] + [[field_id, ctype, value]]
    fields.sort(key=lambda f: f[0])


def _copy(part: Path, start: int, end: int, sink: BinaryIO) -> None:
    """Bytes `start` to `end` of `part` appended to `sink` (unbuffered)."""
    with part.open("rb") as source:
        left = end - start
        if _kernel_copy(source.fileno(), sink.fileno(), start, left):
            return
        source.seek(start)
        while left > 0:
            chunk = source.read(min(_COPY_CHUNK, left))
            if not chunk:
                raise OSError(f"{part} ended {left} bytes early")
            _write_all(sink, chunk)
            left -= len(chunk)


def _write_all(sink: BinaryIO, data: bytes) -> None:
    """All of `data` to the unbuffered `sink`, whose one write may take only some."""
    view = memoryview(data)
    while view:
        view = view[sink.write(view) :]


def _kernel_copy(source: int, sink: int, start: int, length: int) -> bool:
    """Copy in the kernel (copy_file_range): the bodies are most of an export, and passing
    them through Python's buffers took a fifth of its CPU on 2 GB of text. False when
    the system cannot (another OS, an old kernel, some file systems), before any byte
    is written: the caller copies itself."""
    copy_range = getattr(os, "copy_file_range", None)
    offset, left = start, length
    while left > 0 and copy_range is not None:
        try:
            done = copy_range(source, sink, left, offset)
        except OSError as exc:
            if offset == start and exc.errno in _NO_KERNEL_COPY:
                return False
            raise
        if done == 0:
            raise OSError(f"a part ended {left} bytes early")
        offset += done
        left -= done
    return copy_range is not None
