"""A Parquet export of long outputs keeps its row groups bounded in text, not only in
rows (readers hold a row group's column whole: 2,048 outputs of 100 KB would be 200 MB),
and needs little of DuckDB's memory: DuckDB writes every column but the outputs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from evalkit.store import export_parquet
from evalkit.store.db import Store
from evalkit.store.export import export_run
from evalkit.store.memory import MEMORY_ENV
from tests.reports.long_runs import RUN, build

SIZE = 100 * 1024


def output_of(i: int) -> str:
    return f"{i:05d}" * (SIZE // 5)


@pytest.mark.parametrize("cap", ["32MB", None])  # 60 MB of outputs under a 32 MB cap
def test_row_groups_hold_a_bounded_amount_of_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: str | None
) -> None:
    group_chars = 16 * 2**20
    monkeypatch.setattr(export_parquet, "GROUP_CHARS", group_chars)
    db = build(tmp_path / "runs.duckdb", 600, output_of, 10)
    if cap is None:  # the readers' cap, under which batches are largest
        monkeypatch.delenv(MEMORY_ENV, raising=False)
    else:
        monkeypatch.setenv(MEMORY_ENV, cap)
    out = tmp_path / "trials.parquet"
    with Store.open(db, read_only=True) as store:
        export_run(store.con, RUN, "parquet", out)
    con = duckdb.connect()
    groups = con.execute(
        "SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(?) "
        "GROUP BY ALL ORDER BY 1",
        [str(out)],
    ).fetchall()
    rows = [n for _, n in groups]
    assert sum(rows) == 600 and len(rows) > 1
    assert max(rows) * SIZE <= group_chars * 1.1, rows
    outputs = con.execute("SELECT case_id, output FROM read_parquet(?)", [str(out)]).fetchall()
    assert all(output == output_of(int(case[1:])) for case, output in outputs)
