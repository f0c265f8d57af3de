"""Exports write the outputs stored in parts themselves, not DuckDB rebuilding them in
SQL: a CSV or JSONL file must be byte for byte the one DuckDB writes when it rebuilds
every output in SQL, and a Parquet file must hold the same rows, whatever the outputs
hold and however the run is cut into batches, windows and Parquet parts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from evalkit.errors import StoreError
from evalkit.store import export_batches, export_parquet, export_texts, parquet_concat
from evalkit.store.db import Store
from evalkit.store.export import ExportFormat, export_run
from evalkit.store.export_texts import csv_field, json_string
from evalkit.store.large_texts import PART_CHARS
from tests.reports.long_runs import RUN, build

TRIALS = 48
SHARED = ("shared, stored once " * 2500)[:40_000]  # several trials answer the same text

# every ASCII character, and non-ASCII ones of 2, 3 and 4 bytes in UTF-8
CHARACTERS = [chr(c) for c in range(1, 128)] + ["é", "€", "中", "😀", "\u2028", "\ufeff", "\x85"]


def output_of(i: int) -> str:
    """Long outputs (stored in parts) of every kind the writers escape, and short ones."""
    kind = i % 8
    if kind == 0:  # CSV quoting: quotes, commas, newlines, CRLF, '#'
        return (f'row {i}: "quoted", a,b\nnext line\r\n# not a comment ' * 700)[:45_000]
    if kind == 1:  # multi-byte characters on both sides of every part boundary
        text = "".join(
            "é" * (PART_CHARS - 2) + "😀中" if n % 2 else "中" * (PART_CHARS - 1) + "😀"
            for n in range(4)
        )
        return f"{i:03d}" + text
    if kind == 2:  # every ASCII character, control characters and backslashes included
        return (f"{i:03d}" + "".join(CHARACTERS) + r" \u001f \\u00ab \\\u00e9 ") * 300
    if kind == 3:
        return SHARED
    if kind == 4:  # inline (short) outputs between stored ones
        return f'short {i}, "quoted"\nline'
    if kind == 5:  # nothing to quote or escape: written as is
        return f"plain{i:03d}" * 5000
    if kind == 6:  # looks like the marker, without its random part
        return f"evalkit-output-{i}-" * 3000
    return f"{i:03d}" + "x" * (PART_CHARS * 4)  # exactly a whole number of parts, plus 3


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("splice") / "runs.duckdb", TRIALS, output_of, 10)


# Every output stored in parts, rebuilt from its parts in SQL.
REBUILT = """
    SELECT b.recorded, string_agg(l.text, '' ORDER BY l.part) AS text
    FROM batch b JOIN large_texts l ON l.text_hash = b.output_ref
    GROUP BY b.recorded
"""


def rebuilt_in_sql(db: Path, fmt: ExportFormat, out: Path) -> bytes:
    """The export as one DuckDB COPY that rebuilds every output from its parts in SQL."""
    with Store.open(db, read_only=True) as store:
        (lo, hi) = store.con.execute("SELECT min(rowid), max(rowid) FROM results").fetchone() or ()
        whole = export_batches.Batch(first=lo, last=hi)
        export_batches.copy_batch(store.con, RUN, fmt, whole, out, REBUILT, first=True)
    return out.read_bytes()


def test_the_run_holds_outputs_stored_in_parts(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    stored, inline = con.execute(
        "SELECT count(output_ref), count(output) FROM results"
    ).fetchone() or (0, 0)
    assert stored == TRIALS - TRIALS // 8 and inline == TRIALS // 8
    # the shared text is stored once for its six trials
    assert con.execute("SELECT count(DISTINCT output_ref) FROM results").fetchone() == (
        stored - TRIALS // 8 + 1,
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize(("batch_rows", "window_chars"), [(5000, 32 * 2**20), (7, 100_000), (1, 1)])
def test_export_is_byte_identical_to_duckdb_rebuilding_the_outputs(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: ExportFormat,
    batch_rows: int,
    window_chars: int,
) -> None:
    monkeypatch.setattr(export_batches, "BATCH_ROWS", batch_rows)
    monkeypatch.setattr(export_texts, "WINDOW_CHARS", window_chars)
    with Store.open(db, read_only=True) as store:
        out = export_run(store.con, RUN, fmt, tmp_path / f"trials.{fmt}")
    written = out.read_bytes()
    assert b"evalkit-output-" in written  # kind 6 is there as text ...
    assert written.count(b"evalkit-output-") == (TRIALS // 8) * 3000  # ... and no marker
    assert written == rebuilt_in_sql(db, fmt, tmp_path / f"sql.{fmt}")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rows_come_in_recorded_order_with_every_output_whole(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: ExportFormat
) -> None:
    monkeypatch.setattr(export_batches, "BATCH_ROWS", 5)
    monkeypatch.setattr(export_texts, "WINDOW_CHARS", 150_000)
    with Store.open(db, read_only=True) as store:
        out = export_run(store.con, RUN, fmt, tmp_path / f"trials.{fmt}")
    if fmt == "csv":  # Python's own CSV reader, not DuckDB's
        with out.open(newline="", encoding="utf-8") as f:
            rows = [(r["case_id"], r["output"]) for r in csv.DictReader(f)]
    else:
        with out.open(encoding="utf-8") as f:
            rows = [(r["case_id"], r["output"]) for r in map(json.loads, f)]
    assert [case for case, _ in rows] == [f"c{i:05d}" for i in range(TRIALS)]
    for i, (_, output) in enumerate(rows):
        assert output == output_of(i), i


@pytest.mark.parametrize("text", [f"ab{c}cd" for c in CHARACTERS] + [" lead", "trail ", "NULL"])
def test_escaping_is_duckdbs_own(text: str, tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT ?::VARCHAR AS s", [text])
    con.execute(f"COPY t TO '{tmp_path / 'f.csv'}' (FORMAT csv, HEADER false)")
    con.execute(f"COPY t TO '{tmp_path / 'f.json'}' (FORMAT json)")
    assert (tmp_path / "f.csv").read_bytes() == csv_field(text) + b"\n"
    assert (tmp_path / "f.json").read_bytes() == b'{"s":' + json_string(text) + b"}\n"


@pytest.mark.parametrize(("deleted", "message"), [("part = 2", "has 6 of its 7 parts"),
                                                  ("true", "has none of its parts")])  # fmt: skip
def test_a_missing_part_is_an_error_not_a_short_output(
    tmp_path: Path, deleted: str, message: str
) -> None:
    db = build(tmp_path / "runs.duckdb", 3, lambda i: f"{i}" * 50_000, 10)
    con = duckdb.connect(str(db))
    con.execute(
        f"DELETE FROM large_texts WHERE {deleted} "
        "AND text_hash = (SELECT min(text_hash) FROM large_texts)"
    )
    con.close()
    with Store.open(db, read_only=True) as store, pytest.raises(StoreError, match=message):
        export_run(store.con, RUN, "csv", tmp_path / "trials.csv")


@pytest.mark.parametrize(("fmt", "expected"), [("csv", b"run_id,"), ("jsonl", b"")])
def test_a_run_without_trials_exports_an_empty_file(
    tmp_path: Path, fmt: ExportFormat, expected: bytes
) -> None:
    db = build(tmp_path / "runs.duckdb", 0, lambda i: "", 10)
    with Store.open(db, read_only=True) as store:
        out = export_run(store.con, RUN, fmt, tmp_path / f"trials.{fmt}")
    written = out.read_bytes()
    assert written.startswith(expected) and written.count(b"\n") == (1 if fmt == "csv" else 0)


def test_a_run_without_trials_exports_a_parquet_file_of_no_rows(tmp_path: Path) -> None:
    db = build(tmp_path / "runs.duckdb", 0, lambda i: "", 10)
    with Store.open(db, read_only=True) as store:
        out = export_run(store.con, RUN, "parquet", tmp_path / "trials.parquet")
    con = duckdb.connect()
    assert read_rows(con, out) == []
    names = [
        c[0] for c in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
    ]
    assert {"run_id", "trial_id", "output", "grades", "steps"} <= set(names)
    assert "recorded" not in names


def read_rows(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[object, ...]]:
    return con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()


@pytest.mark.parametrize("joined_by", ["footers", "duckdb"])
@pytest.mark.parametrize(("batch_rows", "group_chars"), [(5000, 16 * 2**20), (7, 100_000), (1, 1)])
def test_parquet_export_holds_the_rows_duckdb_rebuilds(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    joined_by: str,
    batch_rows: int,
    group_chars: int,
) -> None:
    monkeypatch.setattr(export_batches, "BATCH_ROWS", batch_rows)
    monkeypatch.setattr(export_parquet, "GROUP_CHARS", group_chars)
    monkeypatch.setattr(export_texts, "WINDOW_CHARS", min(group_chars, 150_000))
    joined: list[bool] = []
    on_disk: list[int] = []
    add = parquet_concat.Joiner.add

    def spy(joiner: parquet_concat.Joiner, part: Path) -> bool:
        on_disk.append(sum(1 for p in part.parent.iterdir() if p.name[0].isdigit()))
        joined.append(joined_by == "footers" and add(joiner, part))
        return joined[-1]  # False: parts that the footers cannot join are joined by DuckDB

    monkeypatch.setattr(parquet_concat.Joiner, "add", spy)
    with Store.open(db, read_only=True) as store:
        out = export_run(store.con, RUN, "parquet", tmp_path / "trials.parquet")
    if joined_by == "footers":  # every batch's part had the same schema, and went at once
        assert joined == [True] * len(on_disk) and set(on_disk) == {1}
    else:  # the first part refused, every part is kept for DuckDB
        assert joined == [False]
    rebuilt_in_sql(db, "parquet", tmp_path / "sql.parquet")
    con = duckdb.connect()
    rows = read_rows(con, out)
    assert rows == read_rows(con, tmp_path / "sql.parquet")  # same rows, order, types
    names = [
        c[0] for c in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
    ]
    outputs = [dict(zip(names, row, strict=True))["output"] for row in rows]
    assert outputs == [output_of(i) for i in range(TRIALS)]
    # every column chunk of the file in the export's codec, whichever way it was joined
    codecs = con.execute(
        "SELECT DISTINCT compression FROM parquet_metadata(?)", [str(out)]
    ).fetchall()
    assert codecs == [("ZSTD",)]


def test_a_parquet_part_that_would_not_join_the_ones_before_is_an_error(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_parquet, "GROUP_CHARS", 100_000)  # several parts
    answers = iter([True])
    add = parquet_concat.Joiner.add
    monkeypatch.setattr(
        parquet_concat.Joiner, "add", lambda j, part: next(answers, False) and add(j, part)
    )
    with Store.open(db, read_only=True) as store, pytest.raises(StoreError, match="part 1 of"):
        export_run(store.con, RUN, "parquet", tmp_path / "trials.parquet")
    assert list(tmp_path.iterdir()) == []  # no part left behind, and no half file


def test_a_parquet_part_holding_other_rows_than_its_outputs_is_an_error(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_parquet, "GROUP_CHARS", 100_000)  # several parts
    copy_batch = export_batches.copy_batch

    def one_row_short(
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        fmt: ExportFormat,
        batch: export_batches.Batch,
        part: Path,
        *args: Any,
        **kwargs: Any,
    ) -> Path:
        if part.name == "000001.parquet":  # the second part loses its last row
            batch = export_batches.Batch(batch.first, batch.last - 1)
        return copy_batch(con, run_id, fmt, batch, part, *args, **kwargs)

    monkeypatch.setattr(export_parquet, "copy_batch", one_row_short)
    with Store.open(db, read_only=True) as store, pytest.raises(StoreError, match="out of order"):
        export_run(store.con, RUN, "parquet", tmp_path / "trials.parquet")


def test_windows_end_where_no_later_output_has_parts_inside_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two writer batches of three outputs, each batch's parts stored in no particular order
    firsts = [2, 0, 1, 5, 3, 4]
    rows = [export_texts.Stored(n, f"h{n}", 1, lo, lo) for n, lo in enumerate(firsts)]

    def windows() -> list[list[int]]:
        return [[row.rowid for row in w.rows] for w in export_texts._windows(rows, 1)]

    monkeypatch.setattr(export_texts, "WINDOW_CHARS", 2)
    assert windows() == [[0, 1, 2], [3, 4, 5]]  # one per writer batch: each part read once
    monkeypatch.setattr(export_texts, "WINDOW_CHARS", 1)  # no clean cut fits: cut at the cap
    assert windows() == [[0, 1], [2], [3, 4], [5]]


def test_a_window_is_read_by_its_range_alone_only_when_its_parts_fill_it() -> None:
    def query(*rows: tuple[str, int, int, int]) -> str:
        window = export_texts._Window()
        for n, (ref, parts, lo, hi) in enumerate(rows):
            window.add(export_texts.Stored(n, ref, parts, lo, hi), parts)
        sql, params = export_texts.parts_query(window)
        assert params["lo"] == min(r[2] for r in rows) and params["hi"] == max(r[3] for r in rows)
        assert ("$hashes" in sql) == ("hashes" in params)
        return "hashes" if "hashes" in params else "range"

    assert query(("a", 3, 10, 12), ("b", 2, 13, 14)) == "range"
    assert query(("a", 3, 10, 12), ("a", 3, 10, 12), ("b", 2, 13, 14)) == "range"  # shared
    assert query(("a", 3, 10, 12), ("b", 2, 14, 15)) == "hashes"  # rowid 13 is another's
    assert query(("a", 3, 10, 13), ("b", 1, 11, 11)) == "range"  # a's parts around b's
    assert query(("a", 3, 10, 14), ("b", 1, 11, 11)) == "hashes"  # one rowid left over


def test_the_splice_run_reads_windows_both_ways(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[bool] = []
    real = export_texts.parts_query

    def spy(window: export_texts._Window) -> tuple[str, dict[str, object]]:
        sql, params = real(window)
        used.append("hashes" in params)
        return sql, params

    monkeypatch.setattr(export_texts, "parts_query", spy)
    expected = rebuilt_in_sql(db, "csv", tmp_path / "sql.csv")
    for window_chars in (32 * 2**20, 100_000):  # one window of every part; windows that
        monkeypatch.setattr(export_texts, "WINDOW_CHARS", window_chars)  # share a text
        with Store.open(db, read_only=True) as store:
            out = export_run(store.con, RUN, "csv", tmp_path / f"{window_chars}.csv")
        assert out.read_bytes() == expected
    assert set(used) == {True, False}


@pytest.mark.parametrize("fails", [False, True])
def test_an_export_gives_duckdb_its_threads_back(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    seen: list[int] = []
    real = export_texts.parts_query

    def during(window: export_texts._Window) -> tuple[str, dict[str, object]]:
        if fails:
            raise StoreError("stopped mid-export")
        return real(window)

    monkeypatch.setattr(export_texts, "parts_query", during)
    with Store.open(db, read_only=True) as store:
        store.con.execute("SET threads = 3")
        real_splice = export_texts.splice

        def splice(*args: object, **kwargs: object) -> None:
            seen.append(
                int(store.con.execute("SELECT current_setting('threads')").fetchall()[0][0])
            )
            real_splice(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr("evalkit.store.export.splice_outputs", splice)
        if fails:
            with pytest.raises(StoreError, match="stopped mid-export"):
                export_run(store.con, RUN, "csv", tmp_path / "trials.csv")
        else:
            export_run(store.con, RUN, "csv", tmp_path / "trials.csv")
            assert seen and set(seen) == {1}  # one thread while it ran
        assert store.con.execute("SELECT current_setting('threads')").fetchall() == [(3,)]
