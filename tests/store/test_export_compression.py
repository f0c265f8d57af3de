"""`evalkit export --compression`: Parquet's pages in zstd (the default) or plain; CSV and
JSONL plain (the default) or compressed whole with zstd or gzip, the same bytes inside."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest
import zstandard

from evalkit.errors import UsageError
from evalkit.store.db import Store
from evalkit.store.export import Compression, ExportFormat, export_run
from tests.reports.long_runs import RUN, build


def output_of(i: int) -> str:
    return f"answer {i}, é\n" * (i % 3 * 4_000 + 1)  # some stored in parts, some inline


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("codecs") / "runs.duckdb", 40, output_of, 10)


def export(db: Path, fmt: ExportFormat, out: Path, compression: Compression | None) -> Path:
    with Store.open(db, read_only=True) as store:
        return export_run(store.con, RUN, fmt, out, compression)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_jsonl_compressed_whole_hold_the_plain_file(
    db: Path, tmp_path: Path, fmt: ExportFormat
) -> None:
    plain = export(db, fmt, tmp_path / f"plain.{fmt}", None).read_bytes()
    zst = export(db, fmt, tmp_path / f"t.{fmt}.zst", "zstd").read_bytes()
    gz = export(db, fmt, tmp_path / f"t.{fmt}.gz", "gzip").read_bytes()
    assert len(plain) > 100_000 and len(zst) < len(plain) / 10 and len(gz) < len(plain) / 10
    assert zstandard.ZstdDecompressor().decompressobj().decompress(zst) == plain
    assert gzip.decompress(gz) == plain
    assert export(db, fmt, tmp_path / f"none.{fmt}", "none").read_bytes() == plain


def test_parquet_plain_holds_the_same_rows_with_no_page_compressed(
    db: Path, tmp_path: Path
) -> None:
    zstd = export(db, "parquet", tmp_path / "zstd.parquet", None)
    plain = export(db, "parquet", tmp_path / "plain.parquet", "none")
    con = duckdb.connect()

    def codecs(path: Path) -> set[str]:
        rows = con.execute("SELECT compression FROM parquet_metadata(?)", [str(path)])
        return {r[0] for r in rows.fetchall()}

    assert codecs(zstd) == {"ZSTD"} and codecs(plain) == {"UNCOMPRESSED"}
    read = "SELECT * FROM read_parquet(?)"
    assert con.execute(read, [str(plain)]).fetchall() == con.execute(read, [str(zstd)]).fetchall()
    assert plain.stat().st_size > 5 * zstd.stat().st_size


@pytest.mark.parametrize(("fmt", "codec"), [("parquet", "gzip")])
def test_a_compression_the_format_does_not_take_is_a_usage_error(
    db: Path, tmp_path: Path, fmt: ExportFormat, codec: Compression
) -> None:
    out = tmp_path / "t.parquet"
    with pytest.raises(UsageError, match="cannot be compressed with gzip") as raised:
        export(db, fmt, out, codec)
    assert "zstd or none" in str(raised.value.hint)
    assert not out.exists()
