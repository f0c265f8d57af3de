"""Hostile model output, case fields and grader reasons: shown as text, never executed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from playwright.sync_api import expect

from evalkit.store.labels import Label, record_labels
from tests.cli.conftest import Workspace

CLI = Callable[..., tuple[int, str]]

# Each payload, if it ever ran, would set window.__pwned or change the page title.
PAYLOADS = [
    "<script>window.__pwned = 'script'; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'; document.title = 'pwned'\">",
    '"><svg onload="window.__pwned=\'svg\'"><b x="',
    "' onmouseover='window.__pwned=1' x='",
    "</script><script>window.__pwned = 'breakout'</script>",
    "<!--<script>window.__pwned = 'comment'</script>-->",
    '<a href="javascript:window.__pwned=\'link\';void 0" id="evil-link">click me</a>',
    "<iframe src=\"data:text/html,<script>parent.__pwned='data'</script>\"></iframe>",
    '<object data="data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xPC9zY3JpcHQ+">',
    "\u2028\u2029</script><!--",
    "{{ 7*7 }} ${7*7} <style>body{display:none}</style>",
]

SYSTEM = f"""
PAYLOADS = {json.dumps(PAYLOADS)}

def answer(case):
    return "Answer: " + PAYLOADS[int(case.vars["n"])]
"""

GRADER = """
from evalkit.graders.base import Score, grader

@grader("hostile")
def hostile(output, case, params):
    text = output.text or ""
    passed = text.startswith("Answer: ")  # the second run in a test regresses every case
    return Score(float(passed), passed, reason="reason: " + text,
                 metadata={"reasoning": "judge says: " + text})
"""


def hostile_workspace(workspace: Workspace) -> None:
    cases = []
    for n, payload in enumerate(PAYLOADS):
        cases.append(
            {
                "id": f"x{n}",
                "vars": {"n": str(n), "note": payload},
                "expected": payload,
                "tags": ["<b>tag</b>", "xss"],
                "metadata": {"html": payload},
                "graders": [{"type": "icontains"}, {"type": "hostile"}],
            }
        )
    suite = {"name": "hostile", "cases": cases}
    (workspace.root / "suites" / "support.yaml").unlink()
    (workspace.root / "suites" / "hostile.yaml").write_text(json.dumps(suite))
    (workspace.root / "system.py").write_text(SYSTEM)
    (workspace.root / "graders").mkdir()
    (workspace.root / "graders" / "hostile.py").write_text(GRADER)
    workspace.plan("  - id: model\n    provider: python\n    function: system.py:answer\n")


def hostile_labels(workspace: Workspace) -> None:
    """A human label on every trial, its note and its reviewer's name a payload."""
    con = duckdb.connect(str(workspace.db))
    try:
        rows = con.execute(
            "SELECT run_id, trial_id, case_hash, case_id FROM results ORDER BY case_id"
        ).fetchall()
        labels = [
            Label(run_id, trial_id, case_hash, None, None, "override", False, None, None, None,
                  "human note: " + PAYLOADS[int(case_id[1:])], PAYLOADS[1],
                  datetime(2026, 11, 27, tzinfo=UTC), None, "csv")
            for run_id, trial_id, case_hash, case_id in rows
        ]  # fmt: skip
        record_labels(con, labels)
    finally:
        con.close()


def test_nothing_from_the_data_executes(
    workspace: Workspace, cli: CLI, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    hostile_workspace(workspace)
    code, out = cli("run")
    assert code in (0, 1), out
    hostile_labels(workspace)
    report = tmp_path / "hostile.html"
    code, out = cli("report", "--out", str(report))
    assert code == 0, out

    html = report.read_text()
    block = r"<script type=\"application/json\" id=\"evalkit-data\">(.*?)</script>"
    data = re.search(block, html, re.S)
    assert data is not None
    # the only way out of the data block would be a literal "<": there is none in it
    assert "<" not in data[1] and "\u2028" not in data[1] and "\u2029" not in data[1]
    assert len(json.loads(data[1])) == len(PAYLOADS)  # and it is still the same JSON

    page = browse(report)
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text))
    page.on("dialog", lambda dialog: violations.append(f"dialog {dialog.message}"))
    title = page.title()
    assert title.startswith("evalkit")

    # open every trial: outputs, expected answers, reasons and reasoning all get drawn
    rows = page.locator("tr.trial")
    assert rows.count() == len(PAYLOADS)
    for i in range(len(PAYLOADS)):
        page.locator("tr.trial").nth(i).click()
    expect(page.locator("tr.more")).to_have_count(len(PAYLOADS))
    for reasoning in page.locator("details.reasoning").all():
        reasoning.locator("summary").click()
    # human notes and reviewer names are drawn as text too
    assert "human note: <script>window.__pwned = 'script'" in page.locator("#trials").inner_text()
    assert "<img src=x" in page.locator("#reviewers").inner_text()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == title
    # the payloads are on the page as text, not as elements
    assert page.locator("details.reasoning[open]").count() == len(PAYLOADS)
    text = page.locator("#trials").inner_text()
    assert "<script>window.__pwned = 'script'" in text
    assert "judge says: Answer: <img src=x onerror=" in text
    assert page.locator("#trials img, #trials iframe, #trials object, #trials svg").count() == 0
    assert page.locator("#evil-link").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    page.locator("tr.trial").first.hover()
    page.fill("#q", "<script>")
    expect(page.locator("#count")).to_contain_text("of")
    page.fill("#q", "")
    page.select_option("#f-tag", "<b>tag</b>")
    expect(page.locator("#count")).to_contain_text(f"{len(PAYLOADS)} trials")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == title
    assert not [v for v in violations if "dialog" in v]
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)


def test_compare_and_trend_pages_escape_too(
    workspace: Workspace, cli: CLI, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    hostile_workspace(workspace)
    assert cli("run")[0] in (0, 1)
    # a new file, not an edited one: the first run's module stays imported in this process
    (workspace.root / "system2.py").write_text(SYSTEM.replace('"Answer: "', '"Changed: "'))
    workspace.plan("  - id: model\n    provider: python\n    function: system2.py:answer\n")
    assert cli("run")[0] in (0, 1)
    compare = tmp_path / "compare.html"
    trend = tmp_path / "trend.html"
    assert cli("report", "--compare", "latest~1", "latest", "--out", str(compare))[0] == 0
    assert cli("trend", "--out", str(trend))[0] in (0, 1)
    pages = []
    for report in (compare, trend):
        page = browse(report)
        pages.append(page)
        title = page.title()
        page.locator("body").hover()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.title() == title
        assert page.locator("main script, main img, main iframe, main object").count() == 0
    compared = pages[0].locator("#regressed").inner_text()
    assert "Changed: <script>window.__pwned = 'script'" in compared
    assert pages[0].locator("#regressed pre.diff ins").count() >= len(PAYLOADS)
