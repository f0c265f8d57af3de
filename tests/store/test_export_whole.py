"""An export appears whole or not at all (store/outfile.py): a failure or Ctrl-C half-way
through leaves the last good file and no half file a reader could take for a whole one,
in every format; links are written through and devices written into."""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb
import pytest

from evalkit.errors import StoreError
from evalkit.store import export as export_module
from evalkit.store.db import Store
from evalkit.store.export import ExportFormat, export_run
from tests.harness import char_device, root_only
from tests.reports.long_runs import RUN, build

FORMATS: list[ExportFormat] = ["csv", "jsonl", "parquet"]


def output_of(i: int) -> str:
    return f"answer {i} " * (i % 3 * 5_000 + 1)  # some stored in parts, some inline


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("whole") / "runs.duckdb", 60, output_of, 10)


def export(db: Path, fmt: ExportFormat, out: Path) -> Path:
    with Store.open(db, read_only=True) as store:
        return export_run(store.con, RUN, fmt, out)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("failure", "raised"),
    [(OSError("disk gone"), StoreError), (KeyboardInterrupt(), KeyboardInterrupt)],
)
def test_a_failure_half_way_leaves_the_last_good_file(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: ExportFormat,
    failure: BaseException,
    raised: type[BaseException],
) -> None:
    out = tmp_path / f"trials.{fmt}"
    out.write_text("the last good export")
    writer = "write_parquet" if fmt == "parquet" else "_write_spliced"
    real = getattr(export_module, writer)

    def half_then_fail(con: duckdb.DuckDBPyConnection, *args: object) -> None:
        real(con, *args)  # the whole file written where the export writes it ...
        written = Path(str(args[-2]))
        assert written != out and written.stat().st_size > 1000
        raise failure  # ... then a failure before it is done

    monkeypatch.setattr(export_module, writer, half_then_fail)
    with pytest.raises(raised):
        export(db, fmt, out)
    assert out.read_text() == "the last good export"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no partial, no parts


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_through_a_link_writes_the_target_and_keeps_the_link(
    db: Path, tmp_path: Path, fmt: ExportFormat
) -> None:
    target = tmp_path / "kept" / f"real.{fmt}"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / f"latest.{fmt}"
    link.symlink_to(target)
    export(db, fmt, link)
    assert link.is_symlink() and link.resolve() == target
    assert target.stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", link.name]
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    if fmt == "parquet":
        rows = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(target)])
        assert rows.fetchone() == (60,)


@root_only
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_to_a_null_device_keeps_the_device(
    db: Path, tmp_path: Path, fmt: ExportFormat
) -> None:
    null = char_device(tmp_path / "null", 3)
    export(db, fmt, null)
    assert stat.S_ISCHR(null.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]  # its parts went elsewhere
