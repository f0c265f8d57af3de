"""The run report with human labels: each trial's human verdict, the disagreement
filter, the review overview, the reviewers, and the judge's kappa beside its numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.calibration.conftest import judged_suite, label
from tests.graders.judge.conftest import Cli, JudgeWorkspace

JUDGE = {f"p{i:02d}": True for i in range(10)} | {f"f{i:02d}": False for i in range(10)}


def test_human_verdicts_filter_and_kappa_in_the_run_report(
    ws: JudgeWorkspace, cli: Cli, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    judged_suite(ws, JUDGE)
    ws.plan(extra="calibration: {min_kappa: 0.9, min_labels: 5}\n")
    cli("run")
    first = str(ws.sql("SELECT run_id FROM runs")[0][0])
    # humans disagree on p00 (trial label) and f00 (grade label); agree on the rest
    label(ws, first, [(c, None, JUDGE[c] and c != "p00") for c in JUDGE if c.startswith("p")])
    f_cases = [(c, 1, c == "f00") for c in JUDGE if c.startswith("f")]
    label(ws, first, f_cases, reviewer="bo", note="tone is fine, really")
    cli("run")  # the same judge version: its kappa is checked against those labels
    out = tmp_path / "first.html"
    code, text = cli("report", first, "--out", str(out))
    assert code == 0, text
    second = tmp_path / "second.html"
    assert cli("report", "latest", "--out", str(second))[0] == 0

    html = out.read_text()
    data = json.loads(re.search(r'id="evalkit-data">(.*?)</script>', html, re.S)[1])  # type: ignore[index]
    by_case = {t["case"]: t for t in data}
    assert by_case["p00"]["human"]["trial"]["passed"] is False
    assert by_case["p00"]["disagrees"] is True and by_case["p01"]["disagrees"] is False
    (grade_label,) = by_case["f00"]["human"]["grades"]
    assert grade_label["idx"] == 1 and grade_label["agrees"] is False
    assert grade_label["note"] == "tone is fine, really"

    page = browse(out)
    review = page.locator("#review").inner_text()
    # 20 labels: 10 trial labels vs the trial status; 10 grade labels vs the judge's grade
    # (p-cases pass their rule grader, f-cases fail the judged one, so trials follow it)
    assert "20 of 20 trials reviewed" in review
    assert "humans agree with the machine on 18 of 20" in review
    assert "2 trials where a human disagrees" in review
    assert "ana (10 labels), bo (10 labels)" in page.locator("#reviewers").inner_text()
    page.select_option("#f-human", "disagrees")
    expect(page.locator("#count")).to_have_text("2 of 20 trials match")
    rows = page.locator("tr.trial")
    assert sorted(rows.nth(i).get_attribute("data-trial") or "" for i in range(2))[0].startswith(
        "judged/f00"
    )
    rows.first.click()
    detail = page.locator("tr.more").inner_text()
    assert "human pass" in detail and "disagrees with the machine" in detail
    assert "tone is fine, really" in detail and "by bo" in detail

    page = browse(second)  # the later run shows its judge's kappa and that it is too low
    grader_table = page.locator("#by-grader").inner_text()
    assert "below the plan's minimum 0.90" in grader_table
    assert "n=20" in grader_table
    assert page.locator(".calibration-below").count() == 1
    assert page.locator("#review").count() == 0  # nobody reviewed the second run
