"""Thrift's compact protocol, as Parquet's footers and page headers use it: read into
plain values (lists, ints, bytes) and written back to the same bytes."""

from __future__ import annotations

from typing import Any

# Thrift compact protocol: the type codes of fields and of list elements.
TRUE, FALSE, I8, I16, I32, I64, DOUBLE, BINARY = 1, 2, 3, 4, 5, 6, 7, 8
LIST, SET, MAP, STRUCT, UUID = 9, 10, 11, 12, 13
_FIXED_SIZE = {DOUBLE: 8, UUID: 16}

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
            value = None if ctype in (TRUE, FALSE) else self._value(ctype)
            fields.append([field_id, ctype, value])
            last = field_id
        return fields

    def _value(self, ctype: int) -> Any:
        if ctype in (TRUE, FALSE, I8):  # a bool inside a list is a byte
            return self._byte()
        if ctype in (I16, I32, I64):
            return self._zigzag()
        if ctype in _FIXED_SIZE:
            return self._bytes(_FIXED_SIZE[ctype])
        if ctype == BINARY:
            return self._bytes(self._varint())
        if ctype in (LIST, SET):
            header = self._byte()
            size = header >> 4 if header >> 4 != 15 else self._varint()
            etype = header & 0x0F
            return [etype, [self._value(etype) for _ in range(size)]]
        if ctype == MAP:
            size = self._varint()
            types = self._byte() if size else 0
            ktype, vtype = types >> 4, types & 0x0F
            return [ktype, vtype, [(self._value(ktype), self._value(vtype)) for _ in range(size)]]
        if ctype == STRUCT:
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
            if ctype not in (TRUE, FALSE):
                self._value(ctype, value)
            last = field_id
        self.out.append(0)

    def _value(self, ctype: int, value: Any) -> None:
        if ctype in (TRUE, FALSE, I8):
            self.out.append(value)
        elif ctype in (I16, I32, I64):
            self._zigzag(value)
        elif ctype in _FIXED_SIZE:
            self.out += value
        elif ctype == BINARY:
            self._varint(len(value))
            self.out += value
        elif ctype in (LIST, SET):
            etype, items = value
            if len(items) < 15:
                self.out.append(len(items) << 4 | etype)
            else:
                self.out.append(0xF0 | etype)
                self._varint(len(items))
            for item in items:
                self._value(etype, item)
        elif ctype == MAP:
            ktype, vtype, pairs = value
            self._varint(len(pairs))
            if pairs:
                self.out.append(ktype << 4 | vtype)
            for key, item in pairs:
                self._value(ktype, key)
                self._value(vtype, item)
        elif ctype == STRUCT:
            self.struct(value)
        else:
            raise ValueError(f"unknown Thrift type {ctype}")

    def _varint(self, n: int) -> None:
        add_varint(self.out, n)

    def _zigzag(self, n: int) -> None:
        self._varint((n << 1) ^ (n >> 63))


def add_varint(out: bytearray, n: int) -> None:
    """Append `n` (not negative) as an unsigned varint (ULEB128), as Thrift and Parquet's
    RLE run headers write it."""
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)


def encode(fields: Struct) -> bytes:
    writer = _Writer()
    writer.struct(fields)
    return bytes(writer.out)


def decode(data: bytes) -> Struct:
    return _Reader(data).struct()
