"""Parquet parts joined by their footers alone (store/parquet_concat.py): the joined
file must read back, through DuckDB's own reader, as exactly the parts' rows in order,
with every offset (pages, dictionaries, Bloom filters) still pointing at its bytes."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

import duckdb
import pytest

from evalkit.store import parquet_concat
from evalkit.store.parquet_concat import concat
from evalkit.store.thrift import decode, encode

# Every kind of column an export holds, and the Thrift shapes their metadata takes:
# nested lists and structs, maps, decimals, timestamps, blobs, booleans, NULL-only
# columns, long strings (truncated statistics) and dictionary-encoded ones (Bloom filters).
ROWS = """
    SELECT i AS id,
           'run-' || (i % 3) AS run_id,
           repeat(chr((65 + i % 26)::INTEGER), 50 + (i * 37) % 3000) AS output,
           i % 2 = 0 AS passed,
           (i * 1.25)::DECIMAL(12, 3) AS score,
           TIMESTAMPTZ '2026-12-07 03:00:00+00' + INTERVAL (i) MINUTE AS finished_at,
           [struct_pack(grader := 'g' || j, score := j / 10) FOR j IN range(i % 4)] AS grades,
           MAP {'k' || i: i} AS labels,
           encode('bytes ' || i) AS raw,
           NULL::VARCHAR AS never,
           uuid() AS trial_uuid
    FROM range($lo, $hi) t(i)
"""


def write_parts(tmp_path: Path, bounds: list[tuple[int, int]]) -> list[Path]:
    con = duckdb.connect()
    parts = []
    for n, (lo, hi) in enumerate(bounds):
        part = tmp_path / f"part-{n}.parquet"
        con.execute(
            f"COPY ({ROWS}) TO $out (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)",
            {"lo": lo, "hi": hi, "out": str(part)},
        )
        parts.append(part)
    return parts


def footer_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    return data[-8 - length : -8]


def test_footers_decode_and_encode_to_the_same_bytes(tmp_path: Path) -> None:
    for part in write_parts(tmp_path, [(0, 300), (300, 301)]):
        raw = footer_bytes(part)
        assert encode(decode(raw)) == raw


@pytest.mark.parametrize(
    "fields",
    [
        [[1, 5, 7], [40, 6, -(2**40)], [41, 8, b"x" * 300]],  # long field-id deltas, long strings
        [[2, 9, [5, list(range(-20, 20))]]],  # a list of 15 or more items
        [[3, 9, [2, [1, 2, 1]]], [4, 1, None], [5, 2, None]],  # bools in a list and as fields
        [[6, 11, [8, 12, [(b"k", [[1, 4, -3]])]]], [7, 11, [0, 0, []]]],  # maps, one empty
        [[8, 7, b"\x00" * 8], [9, 3, 255], [10, 12, []]],  # a double, an i8, an empty struct
    ],
)
def test_thrift_values_round_trip(fields: list[list[object]]) -> None:
    assert decode(encode(fields)) == fields


def test_concat_reads_back_as_the_parts_in_order(tmp_path: Path) -> None:
    parts = write_parts(tmp_path, [(0, 3000), (3000, 3001), (3001, 7000)])
    out = tmp_path / "joined.parquet"
    assert concat(parts, out)
    con = duckdb.connect()
    joined = con.execute("SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
    expected = con.execute("SELECT * FROM read_parquet(?)", [[str(p) for p in parts]]).fetchall()
    assert len(joined) == 7000 and joined == expected
    assert [r[0] for r in joined] == list(range(7000))
    assert (
        con.execute("SELECT * FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(out)]).fetchall()
        == con.execute(
            "SELECT * FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(parts[0])]
        ).fetchall()
    )
    # row groups keep their rows, and are numbered anew
    groups = con.execute(
        "SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(?) "
        "GROUP BY ALL ORDER BY 1",
        [str(out)],
    ).fetchall()
    assert [n for _, n in groups] == [2048, 952, 1, 2048, 1951]
    ordinals = [
        next(value for field, _, value in group if field == 7)
        for group in next(v for f, _, v in decode(footer_bytes(out)) if f == 4)[1]
    ]
    assert ordinals == list(range(5))


def test_bloom_filters_still_answer_in_every_row_group(tmp_path: Path) -> None:
    parts = write_parts(tmp_path, [(0, 2500), (2500, 5000)])
    out = tmp_path / "joined.parquet"
    assert concat(parts, out)
    con = duckdb.connect()

    def excluded(value: str) -> list[bool]:
        rows = con.execute(
            "SELECT bloom_filter_excludes FROM parquet_bloom_probe(?, 'run_id', ?) "
            "ORDER BY row_group_id",
            [str(out), value],
        ).fetchall()
        return [r[0] for r in rows]

    assert excluded("run-1") == [False] * 4  # present in every group ...
    assert excluded("run-9") == [True] * 4  # ... and an absent value is ruled out in each
    # a filtered read, which uses the statistics and dictionaries at their new offsets
    assert con.execute(
        "SELECT count(*), min(id) FROM read_parquet(?) WHERE run_id = 'run-2' AND id >= 150",
        [str(out)],
    ).fetchone() == (1616, 152)


def test_parts_of_different_schemas_are_refused(tmp_path: Path) -> None:
    con = duckdb.connect()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    con.execute(f"COPY (SELECT 1 AS x) TO '{a}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT 'one' AS x) TO '{b}' (FORMAT parquet)")
    out = tmp_path / "joined.parquet"
    assert not concat([a, b], out)
    assert not out.exists()


def test_a_joiner_refuses_a_part_that_does_not_join_and_writes_nothing_of_it(
    tmp_path: Path,
) -> None:
    first, second = write_parts(tmp_path, [(0, 10), (10, 30)])
    other = tmp_path / "other.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS x) TO '{other}' (FORMAT parquet)")
    out = tmp_path / "joined.parquet"
    with parquet_concat.Joiner(out) as joiner:
        assert not joiner.started
        assert joiner.add(first)
        size = out.stat().st_size
        assert not joiner.add(other)  # another schema
        assert out.stat().st_size == size
        assert joiner.add(second)
        joiner.finish()
    con = duckdb.connect()
    assert [r[0] for r in con.execute("SELECT id FROM read_parquet(?)", [str(out)]).fetchall()] == (
        list(range(30))
    )


def test_files_that_are_not_parquet_or_are_cut_short_are_refused(tmp_path: Path) -> None:
    good = write_parts(tmp_path, [(0, 10)])[0]
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-20])
    text = tmp_path / "text.parquet"
    text.write_text("not parquet at all, but long enough\n")
    out = tmp_path / "joined.parquet"
    for bad in (cut, text):
        assert not concat([good, bad], out)
    assert not concat([], out)
    assert not out.exists()


def test_a_footer_that_would_not_encode_back_exactly_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = write_parts(tmp_path, [(0, 10), (10, 20)])
    monkeypatch.setattr(parquet_concat, "encode", lambda fields: b"\x00")
    assert not concat(parts, tmp_path / "joined.parquet")


@pytest.mark.parametrize("field", [4, 6, 8])  # offset index, column index, encryption
def test_chunks_with_offsets_outside_the_footer_are_refused(tmp_path: Path, field: int) -> None:
    parts = write_parts(tmp_path, [(0, 10), (10, 20)])
    meta = decode(footer_bytes(parts[1]))
    chunk = next(v for f, _, v in meta if f == 4)[1][0][0][2][1][0]
    chunk.append([field, 6 if field != 8 else 12, 123 if field != 8 else []])
    footer = encode(meta)
    body = parts[1].read_bytes()[: -8 - len(footer_bytes(parts[1]))]
    parts[1].write_bytes(body + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    assert not concat(parts, tmp_path / "joined.parquet")


def test_bodies_copied_in_the_kernel_or_by_python_give_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = write_parts(tmp_path, [(0, 3000), (3000, 3001), (3001, 7000)])
    real = os.copy_file_range
    copied: list[int] = []

    def spy(source: int, sink: int, count: int, offset_src: int | None = None) -> int:
        copied.append(real(source, sink, count, offset_src))
        return copied[-1]

    monkeypatch.setattr(os, "copy_file_range", spy)
    kernel = tmp_path / "kernel.parquet"
    assert concat(parts, kernel)
    assert sum(copied) == sum(p.stat().st_size - 8 - len(footer_bytes(p)) - 4 for p in parts)
    calls: list[int] = []

    def cannot(source: int, sink: int, count: int, offset_src: int | None = None) -> int:
        calls.append(count)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", cannot)
    refused = tmp_path / "refused.parquet"
    assert concat(parts, refused)
    monkeypatch.delattr(os, "copy_file_range")
    missing = tmp_path / "missing.parquet"
    assert concat(parts, missing)
    assert len(calls) == len(parts)  # each part tried the kernel first, then Python copied
    assert kernel.read_bytes() == refused.read_bytes() == missing.read_bytes()


def test_a_copy_that_fails_after_its_first_bytes_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = write_parts(tmp_path, [(0, 3000), (3000, 7000)])
    real = os.copy_file_range

    def half_then_fail(source: int, sink: int, count: int, offset_src: int | None = None) -> int:
        if offset_src == len(parquet_concat.MAGIC):
            return real(source, sink, max(1, count // 2), offset_src)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", half_then_fail)
    with pytest.raises(OSError, match="cross-device"):
        concat(parts, tmp_path / "joined.parquet")


def test_writes_the_sink_takes_in_pieces_are_written_whole() -> None:
    class Piecemeal(io.RawIOBase):  # an unbuffered file may take part of a write
        def __init__(self) -> None:
            self.got = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            self.got += bytes(data[:3])
            return min(3, len(data))

    sink = Piecemeal()
    parquet_concat._write_all(cast(BinaryIO, sink), b"PAR1 and a footer")
    assert bytes(sink.got) == b"PAR1 and a footer"
