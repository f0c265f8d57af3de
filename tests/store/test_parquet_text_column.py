"""The output column written from Python (store/parquet_text_column.py) in place of the
one DuckDB wrote NULL (parquet_concat.Joiner): every reader must see the texts, NULLs
and row counts exactly, whatever the pages, runs of NULLs and nested columns around."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from pathlib import Path

import duckdb
import pytest

from evalkit.store import parquet_text_column
from evalkit.store.parquet_concat import Chunk, Joiner
from evalkit.store.parquet_text_column import TextColumn

# Nested columns before and after the text, as an export has them around its outputs.
PART = """
    COPY (
        SELECT i AS id,
               [struct_pack(g := 'g' || j, s := j / 10) FOR j IN range(i % 3)] AS grades,
               struct_pack(a := i, b := 'x' || i) AS meta,
               NULL::VARCHAR AS output,
               MAP {'k': i} AS labels
        FROM range($lo, $hi) t(i)
    ) TO $out (FORMAT parquet, COMPRESSION zstd)
"""


def texts_for(n: int) -> list[str | None]:
    """NULL runs short and long (past one byte of RLE header), empty texts, every width
    of UTF-8, and a text longer than a page."""
    out: list[str | None] = []
    for i in range(n):
        if 40 <= i < 300 or i % 7 == 3:
            out.append(None)
        elif i % 11 == 0:
            out.append("")
        elif i == 5:
            out.append("long " * 5_000)
        else:
            out.append(f"{i} plain, é, 日本語, 🙂 " * (i % 5 + 1))
    return out


def joined(tmp_path: Path, bounds: list[tuple[int, int]], texts: list[str | None]) -> Path:
    con = duckdb.connect()
    out = tmp_path / "joined.parquet"
    left = iter(texts)
    with TextColumn(["output"]) as column:

        def write_chunk(rows: int, write: Callable[[bytes], None], at: int) -> Chunk:
            return column.write(islice(left, rows), write, at)

        with Joiner(out, (["output"], write_chunk)) as joiner:
            for n, (lo, hi) in enumerate(bounds):
                part = tmp_path / f"part-{n}.parquet"
                con.execute(PART, {"lo": lo, "hi": hi, "out": str(part)})
                assert joiner.add(part)
            joiner.finish()
    return out


@pytest.mark.parametrize("page_bytes", [1024 * 1024, 1000, 1])
def test_every_reader_sees_the_texts_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page_bytes: int
) -> None:
    monkeypatch.setattr(parquet_text_column, "PAGE_BYTES", page_bytes)
    texts = texts_for(700)
    out = joined(tmp_path, [(0, 1), (1, 450), (450, 700)], texts)
    con = duckdb.connect()
    rows = con.execute(
        "SELECT id, output, meta, labels FROM read_parquet(?)", [str(out)]
    ).fetchall()
    assert [r[0] for r in rows] == list(range(700))
    assert [r[1] for r in rows] == texts
    assert rows[9][2] == {"a": 9, "b": "x9"} and rows[9][3] == {"k": 9}  # columns around it
    # filters and statistics on the written column
    assert con.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE output IS NULL", [str(out)]
    ).fetchone() == (texts.count(None),)
    chunks = con.execute(
        "SELECT row_group_id, compression, stats_null_count, num_values "
        "FROM parquet_metadata(?) WHERE path_in_schema = 'output' ORDER BY 1",
        [str(out)],
    ).fetchall()
    assert [c[1] for c in chunks] == ["ZSTD"] * 3
    assert [c[2] for c in chunks] == [
        texts[:1].count(None),
        texts[1:450].count(None),
        texts[450:].count(None),
    ]
    assert [c[3] for c in chunks] == [1, 449, 250]
    pyarrow = pytest.importorskip("pyarrow.parquet")  # a second, independent reader
    table = pyarrow.read_table(str(out))
    assert table.column("output").to_pylist() == texts
    assert table.column("id").to_pylist() == list(range(700))


def test_a_row_group_all_null_and_one_of_one_row(tmp_path: Path) -> None:
    texts: list[str | None] = [None] * 300 + ["only"]
    out = joined(tmp_path, [(0, 300), (300, 301)], texts)
    rows = duckdb.connect().execute("SELECT output FROM read_parquet(?)", [str(out)]).fetchall()
    assert [r[0] for r in rows] == texts


def test_a_writer_that_gives_fewer_texts_than_rows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="row group of 10 rows got 9 texts"):
        joined(tmp_path, [(0, 10)], ["t"] * 9)


def test_a_part_whose_column_is_not_optional_text_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "part.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS id, 2 AS output) TO '{part}' (FORMAT parquet)")

    def never(rows: int, write: Callable[[bytes], None], at: int) -> Chunk:
        raise AssertionError("not written")

    out = tmp_path / "joined.parquet"
    with Joiner(out, (["output"], never)) as joiner:
        assert not joiner.add(part)  # an integer column of that name
        assert not joiner.started
    missing = tmp_path / "missing.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'x' AS other) TO '{missing}' (FORMAT parquet)")
    with Joiner(out, (["output"], never)) as joiner:
        assert not joiner.add(missing)
