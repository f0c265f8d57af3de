"""The run page stays small and is written a batch of trials at a time: long texts are
cut to a preview that shrinks as the run grows, say so, and name the command that
prints the rest; failing trials stay inspectable in the browser."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalkit.reports.html.run_page import preview_chars, render_run_report
from evalkit.store.db import Store
from evalkit.store.report_trials import trial_batches
from tests.reports.long_runs import RUN, build

TRIALS = 5_000  # more than DuckDB hands to Python at once (2,048 rows)
OUTPUT = 3_000  # characters: stored inline
LARGE = 50_000  # characters: every 100th output, stored in parts (large_texts)
REASON = 1_500


def output_of(i: int) -> str:
    size = LARGE if i % 100 == 0 else OUTPUT
    return (f"out{i:05d} " + "lorem ipsum " * (size // 12 + 1))[:size]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("bounded") / "runs.duckdb", TRIALS, output_of, REASON)


@pytest.fixture(scope="module")
def page_path(db: Path) -> Path:
    page = db.with_name("report.html")
    with Store.open(db, read_only=True) as store:
        render_run_report(store.con, RUN, page, None)
    return page


def embedded(page: Path) -> list[dict[str, Any]]:
    html = page.read_text()
    found = re.search(
        r'<script type="application/json" id="evalkit-data">(.*?)</script>', html, re.S
    )
    assert found is not None
    return json.loads(found[1])  # type: ignore[no-any-return]


def test_the_preview_shrinks_as_runs_grow_within_bounds() -> None:
    assert preview_chars(100) == 4_000
    assert preview_chars(1_000) == 2_000
    assert preview_chars(TRIALS) == 400
    assert preview_chars(10_000) == preview_chars(1_000_000) == 200


def test_the_page_is_bounded_and_says_where_the_rest_is(page_path: Path) -> None:
    page = page_path
    chars = preview_chars(TRIALS)
    # 5,000 outputs of 3-50 KB and reasons of 1.5 KB: 400 characters of each and the
    # rest; 4,000-character previews made a 25 MB page
    assert page.stat().st_size < 7_000_000, page.stat().st_size
    trials = embedded(page)
    assert len(trials) == TRIALS
    for i, trial in enumerate(sorted(trials, key=lambda t: t["id"])):
        whole = output_of(i)
        head, _, note = trial["output"].partition("… [")
        assert head == whole[:chars]
        assert note == (
            f"{len(whole) - chars:,} more characters: evalkit show {RUN} --trial 's/c{i:05d}@t#0']"
        )
        reason = trial["grades"][0]["reason"]
        assert reason.startswith(f"why{i:05d} ") and len(reason) < chars + 80
        assert f"more characters: evalkit export {RUN} has it whole]" in reason
        assert trial["cut"] is True
    html = page.read_text()
    assert f"Texts longer than {chars:,} characters are cut on this page" in html
    assert f"evalkit show {RUN} --trial ID" in html


def test_rows_come_in_batches_with_texts_cut_in_the_store(db: Path) -> None:
    with Store.open(db, read_only=True) as store:
        batches = list(trial_batches(store.con, RUN, 100, batch_rows=300))
    assert [len(b) for b in batches] == [300] * 16 + [200]
    rows = [row for batch in batches for row in batch]
    assert [row["case_id"] for row in rows] == [f"c{i:05d}" for i in range(TRIALS)]
    for i, row in enumerate(rows):
        assert row["output"] == output_of(i)[:100]  # also from a large text's first part
        assert row["output_chars"] == len(output_of(i))
        (grade,) = row["grades"]
        assert len(grade["reason"]) == 100 and grade["reason_chars"] == REASON + 9


def test_the_page_never_holds_every_trial_in_python(db: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    with Store.open(db, read_only=True) as store:
        tracemalloc.start()
        try:
            render_run_report(store.con, RUN, page, None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # built as one list, every trial's data was in memory at once (more than the page)
    assert page.stat().st_size > 5_000_000
    assert peak < page.stat().st_size / 2, (peak, page.stat().st_size)


Browse = Callable[[Path], Any]


def test_a_failing_trial_with_a_cut_output_is_inspectable(page_path: Path, browse: Browse) -> None:
    from playwright.sync_api import expect

    page = browse(page_path)
    expect(page.locator("#cut-note")).to_contain_text("evalkit show")
    page.select_option("#f-status", "fail")
    page.fill("#q", "s/c00100@t#0")
    expect(page.locator("#count")).to_contain_text("1 of 5000")
    page.locator("tr.trial").first.click()
    detail = page.locator("tr.more").inner_text()
    assert output_of(100)[: preview_chars(TRIALS)] in detail
    assert f"more characters: evalkit show {RUN} --trial 's/c00100@t#0'" in detail
    assert "diff: expected" not in detail  # a diff against a cut output would mislead
