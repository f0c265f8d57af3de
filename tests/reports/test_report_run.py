"""`evalkit report RUN`: one self-contained page, read and used in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.cli.conftest import PYTHON_TARGET, Workspace

CLI = Callable[..., tuple[int, str]]
Browse = Callable[[Path], Any]


def run_once(workspace: Workspace, cli: CLI) -> str:
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run")
    assert code == 1, out  # the shipping case fails on purpose
    (run_id,) = workspace.sql("SELECT run_id FROM runs")[0]
    return str(run_id)


def test_report_is_one_offline_file_in_reports_out(workspace: Workspace, cli: CLI) -> None:
    run_id = run_once(workspace, cli)
    code, out = cli("report")
    assert code == 0, out
    page = workspace.root / "reports" / "out" / f"{run_id}.html"
    assert page.exists(), out
    html = page.read_text()
    # nothing is fetched: no external URL in any src/href, and the CSP forbids it anyway
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = unescape(csp[1])
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_overview_breakdowns_and_trials_in_the_browser(
    workspace: Workspace, cli: CLI, browse: Browse, tmp_path: Path
) -> None:
    run_id = run_once(workspace, cli)
    out = tmp_path / "report.html"
    code, text = cli("report", run_id, "--out", str(out))
    assert code == 0, text
    page = browse(out)

    overview = page.locator("#overview tbody tr")
    assert overview.count() == 1
    row = overview.first.inner_text()
    # 2 of 3 pass: 66.7% with its continuity-corrected Wilson 95% interval over 3 cases
    assert "support" in row and "local" in row and "66.7%" in row and "(12.5%–98.2%)" in row
    assert "95% CI over 3 cases" in row
    assert "python" in page.locator("#targets").inner_text()
    # the breakdowns' intervals are over cases too, and say so
    graders = page.locator("#by-grader").inner_text()
    assert "icontains" in graders and "(12.5%–98.2%)" in graders
    assert "95% CI over 3 cases" in graders
    tags = page.locator("#by-tag").inner_text()
    assert "policy" in tags and "smoke" in tags
    assert "95% CI over 2 cases" in tags and "95% CI over 1 case" in tags
    assert page.locator("#count").inner_text() == "3 trials"

    page.select_option("#f-status", "fail")
    expect(page.locator("#count")).to_have_text("1 of 3 trials match")
    rows = page.locator("tr.trial")
    assert rows.count() == 1
    assert "support/shipping@local#0" in rows.first.inner_text()
    assert "'3 days' not found" in rows.first.inner_text()

    rows.first.click()
    detail = page.locator("tr.more")
    text = detail.inner_text()
    assert "How long does shipping take?" in text  # the input
    assert "3 days" in text  # expected
    # the output, diffed against the expected answer word by word
    assert page.locator("tr.more pre.diff del").count() >= 1
    assert "sure." in page.locator("tr.more pre.diff ins").all_inner_texts()[-1]
    page.screenshot(path=str(tmp_path / "run-report.png"), full_page=True)

    page.select_option("#f-status", "")
    page.fill("#q", "refund")
    expect(page.locator("#count")).to_have_text("1 of 3 trials match")
    assert "support/refund@local#0" in page.locator("tr.trial").first.inner_text()

    page.fill("#q", "")
    page.select_option("#sort", "status")
    expect(page.locator("#count")).to_have_text("3 trials")
    assert "shipping" in page.locator("tr.trial").first.inner_text()  # failures first


@pytest.mark.slow
def test_ten_thousand_trials_page_fifty_at_a_time(tmp_path: Path, browse: Browse) -> None:
    from tests.benchmarks.bench_report import build_store

    db = build_store(tmp_path / "big.duckdb", trials=10_000)
    out = tmp_path / "big.html"
    from evalkit.cli import invoke

    assert invoke(["report", "latest", "--db", str(db), "--out", str(out)]) == 0
    page = browse(out)
    assert page.locator("#count").inner_text() == "10000 trials"
    assert page.locator("tr.trial").count() == 50
    assert page.locator("#page-info").inner_text() == "page 1 of 200"
    page.click("#next")
    assert page.locator("#page-info").inner_text() == "page 2 of 200"


def test_workspace_template_overrides_the_packaged_one(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    run_once(workspace, cli)
    (workspace.root / "reports").mkdir()
    (workspace.root / "reports" / "report.html.j2").write_text(
        '{% extends "evalkit/report.html.j2" %}{% block content %}<p id="ours">ACME evals: '
        "{{ run.plan }} {{ totals.trials }} trials</p>{{ super() }}{% endblock %}"
    )
    out = tmp_path / "r.html"
    code, text = cli("report", "--out", str(out))
    assert code == 0, text
    html = out.read_text()
    assert '<p id="ours">ACME evals: support 3 trials</p>' in html
    assert 'id="overview"' in html  # the packaged content is still there through super()


def test_a_broken_override_is_a_config_error_naming_the_file(
    workspace: Workspace, cli: CLI
) -> None:
    run_once(workspace, cli)
    (workspace.root / "reports").mkdir()
    (workspace.root / "reports" / "report.html.j2").write_text("{% if %}\n")
    code, text = cli("report")
    assert code == 4
    assert "report.html.j2:1" in text and "report template error" in text


def test_unknown_run_is_a_usage_error(workspace: Workspace, cli: CLI) -> None:
    run_once(workspace, cli)
    code, text = cli("report", "nosuchrun")
    assert code == 4
    assert "no run matches 'nosuchrun'" in text
