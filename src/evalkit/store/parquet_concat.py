"""Parquet files of one schema joined into one file without decoding their pages.

A Parquet file is "PAR1", its pages (and Bloom filters), then a footer that says where
each row group's column chunks lie, in Thrift's compact protocol, its length and "PAR1"
again. Joining an export's part files in DuckDB decoded and re-encoded every page: 7 s
of an 18 s export of 2 GB of outputs. Here each part's body is copied as bytes, and one
footer lists every part's row groups with their offsets moved by where the part now
starts. Page indexes and encrypted columns hold offsets or keys of their own that a
footer edit cannot move: parts with them are refused (`concat` returns False) and the
caller joins them another way. DuckDB writes neither.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"PAR1"
_COPY_CHUNK = 8 * 1024 * 1024
# copy_file_range's ways of saying it cannot copy between these files at all
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}

# Thrift compact protocol: the type codes of fields and of list elements.
_TRUE, _FALSE, _I8, _I16, _I32, _I64, _DOUBLE, _BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_LIST, _SET, _MAP, _STRUCT, _UUID = 9, 10, 11, 12, 13
_FIXED_SIZE = {_DOUBLE: 8, _UUID: 16}

# Field ids in parquet.thrift.
_FILE_NUM_ROWS, _FILE_SCHEMA, _FILE_ROW_GROUPS = 3, 2, 4
_FILE_ENCRYPTION = (8, 9)  # encryption_algorithm, footer_signing_key_metadata
_GROUP_COLUMNS, _GROUP_FILE_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_FILE_PATH, _CHUNK_FILE_OFFSET, _CHUNK_META = 1, 2, 3
_CHUNK_REFUSED = (4, 5, 6, 7, 8, 9)  # page indexes, encryption
# ColumnMetaData: data_page_offset, index_page_offset, dictionary_page_offset,
# bloom_filter_offset: each counts bytes from the start of the file.
_META_OFFSETS = (9, 10, 11, 14)

# A struct is its fields in the order read: [field id, type code, value].
Struct = list[list[Any]]


class _Reader:
    """Thrift compact protocol, read into plain values (lists, ints, bytes)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def struct(self) -> Struct:
        fields: Struct = []
        last = 0
        while (header := self._byte()) != 0:
            ctype, delta = header & 0x0F, header >> 4
            field_id = last + delta if delta else self._zigzag()
            value = None if ctype in (_TRUE, _FALSE) else self._value(ctype)
            fields.append([field_id, ctype, value])
            last = field_id
        return fields

    def _value(self, ctype: int) -> Any:
        if ctype in (_TRUE, _FALSE, _I8):  # a bool inside a list is a byte
            return self._byte()
        if ctype in (_I16, _I32, _I64):
            return self._zigzag()
        if ctype in _FIXED_SIZE:
            return self._bytes(_FIXED_SIZE[ctype])
        if ctype == _BINARY:
            return self._bytes(self._varint())
        if ctype in (_LIST, _SET):
            header = self._byte()
            size = header >> 4 if header >> 4 != 15 else self._varint()
            etype = header & 0x0F
            return [etype, [self._value(etype) for _ in range(size)]]
        if ctype == _MAP:
            size = self._varint()
            types = self._byte() if size else 0
            ktype, vtype = types >> 4, types & 0x0F
            return [ktype, vtype, [(self._value(ktype), self._value(vtype)) for _ in range(size)]]
        if ctype == _STRUCT:
            return self.struct()
        raise ValueError(f"unknown Thrift type {ctype} at byte {self.pos}")

    def _byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def _bytes(self, n: int) -> bytes:
        self.pos += n
        if self.pos > len(self.data):
            raise ValueError("a Thrift value runs past the footer")
        return self.data[self.pos - n : self.pos]

    def _varint(self) -> int:
        result = shift = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def _zigzag(self) -> int:
        n = self._varint()
        return (n >> 1) ^ -(n & 1)


class _Writer:
    """The inverse of _Reader: the same values give back the same bytes."""

    def __init__(self) -> None:
        self.out = bytearray()

    def struct(self, fields: Struct) -> None:
        last = 0
        for field_id, ctype, value in fields:
            delta = field_id - last
            if 0 < delta <= 15:
                self.out.append(delta << 4 | ctype)
            else:
                self.out.append(ctype)
                self._zigzag(field_id)
            if ctype not in (_TRUE, _FALSE):
                self._value(ctype, value)
            last = field_id
        self.out.append(0)

    def _value(self, ctype: int, value: Any) -> None:
        if ctype in (_TRUE, _FALSE, _I8):
            self.out.append(value)
        elif ctype in (_I16, _I32, _I64):
            self._zigzag(value)
        elif ctype in _FIXED_SIZE:
            self.out += value
        elif ctype == _BINARY:
            self._varint(len(value))
            self.out += value
        elif ctype in (_LIST, _SET):
            etype, items = value
            if len(items) < 15:
                self.out.append(len(items) << 4 | etype)
            else:
                self.out.append(0xF0 | etype)
                self._varint(len(items))
            for item in items:
                self._value(etype, item)
        elif ctype == _MAP:
            ktype, vtype, pairs = value
            self._varint(len(pairs))
            if pairs:
                self.out.append(ktype << 4 | vtype)
            for key, item in pairs:
                self._value(ktype, key)
                self._value(vtype, item)
        elif ctype == _STRUCT:
            self.struct(value)
        else:
            raise ValueError(f"unknown Thrift type {ctype}")

    def _varint(self, n: int) -> None:
        while n >= 0x80:
            self.out.append(n & 0x7F | 0x80)
            n >>= 7
        self.out.append(n)

    def _zigzag(self, n: int) -> None:
        self._varint((n << 1) ^ (n >> 63))


def encode(fields: Struct) -> bytes:
    writer = _Writer()
    writer.struct(fields)
    return bytes(writer.out)


def decode(data: bytes) -> Struct:
    return _Reader(data).struct()


def concat(parts: Sequence[Path], out: Path) -> bool:
    """Write `parts` (Parquet files of one schema), in order, as the one file `out`.
    False, with nothing written, when they cannot be joined by their footers alone."""
    footers = [_footer(part) for part in parts]
    if not footers or any(f is None for f in footers):
        return False
    read = [f for f in footers if f is not None]
    first = read[0][0]
    if any(not _same_schema(first, meta) or not _movable(meta) for meta, _ in read):
        return False
    groups: list[Struct] = []
    with out.open("wb", buffering=0) as sink:  # unbuffered: _copy writes by its descriptor
        _write_all(sink, MAGIC)
        at = len(MAGIC)
        for part, (meta, body_end) in zip(parts, read, strict=True):
            _copy(part, len(MAGIC), body_end, sink)
            for group in _field(meta, _FILE_ROW_GROUPS)[1]:
                _move(group, at - len(MAGIC))
                groups.append(group)
            at += body_end - len(MAGIC)
        for ordinal, group in enumerate(groups):
            group[:] = [f for f in group if f[0] != _GROUP_ORDINAL]
            if ordinal < 2**15:  # an i16
                _set(group, _GROUP_ORDINAL, _I16, ordinal)
        rows = sum(_field(meta, _FILE_NUM_ROWS) for meta, _ in read)
        _set(first, _FILE_NUM_ROWS, _I64, rows)
        _set(first, _FILE_ROW_GROUPS, _LIST, [_STRUCT, groups])
        footer = encode(first)
        _write_all(sink, footer + struct.pack("<I", len(footer)) + MAGIC)
    return True


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
