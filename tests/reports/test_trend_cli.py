"""`evalkit trend`: nightly runs of a real workspace, a drop, exit 1, a webhook post."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.cli.conftest import Workspace
from tests.reports.conftest import Hook

CLI = Callable[..., tuple[int, str]]
CASES = 40

# The system under test answers the first `quality.txt` cases right: a file read on
# every call, so a test can make the next nightly run worse without re-importing.
SYSTEM = """
from pathlib import Path

def answer(case):
    good = int(Path("quality.txt").read_text())
    n = int(case.vars["n"])
    return f"answer {n}" if n < good else "no idea"
"""


def nightly(
    workspace: Workspace, cli: CLI, qualities: list[int], function: str = "system.py"
) -> None:
    cases = "".join(
        f"  - {{id: q{n:02d}, vars: {{n: '{n}'}}, expected: 'answer {n}', tags: [t{n % 2}]}}\n"
        for n in range(CASES)
    )
    (workspace.root / "suites" / "support.yaml").write_text(
        f"name: support\ndefaults:\n  graders: [{{type: icontains}}]\ncases:\n{cases}"
    )
    (workspace.root / "system.py").write_text(SYSTEM)
    (workspace.root / "system2.py").write_text(SYSTEM)
    workspace.plan(f"  - id: local\n    provider: python\n    function: {function}:answer\n")
    for good in qualities:
        (workspace.root / "quality.txt").write_text(str(good))
        code, out = cli("run", "--no-cache")
        assert code in (0, 1), out


def test_a_drop_exits_1_posts_the_webhook_and_shows_on_the_page(
    workspace: Workspace, cli: CLI, hook: Hook, browse: Callable[[Path], Any],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    nightly(workspace, cli, [38, 39, 38, 38, 39, 20])
    monkeypatch.setenv("EVALKIT_WEBHOOK_URL", hook.url)  # a secret: not on the command line
    code, out = cli("trend", "support")
    assert code == 1, out
    assert "1 series degraded" in out and "posted the alert" in out
    assert "secret-token" not in out

    (post,) = hook.posts
    assert "1 of 1 suite x target series degraded" in post["text"]
    # the latest two runs together (39 and 20 of 40) against the four before them
    assert "support/support@local: pass rate 73.8% vs 95.6% before" in post["text"]
    assert post["blocks"][0]["type"] == "header"

    page_file = workspace.root / "reports" / "out" / "trend-support.html"
    assert page_file.exists()
    page = browse(page_file)
    assert "1 of 1 series degraded" in page.locator("#verdict").inner_text()
    card = page.locator("article.series")
    assert "pass rate dropped: 73.8% vs 95.6%" in card.inner_text()
    assert page.locator("svg.trend circle").count() == 6
    assert page.locator("svg.trend polygon").count() == 1  # the interval band
    page.fill("#q", "no-such-suite")
    expect(card).to_be_hidden()
    page.fill("#q", "support")
    expect(card).to_be_visible()
    page.screenshot(path=str(tmp_path / "trend.png"), full_page=True)


def test_steady_runs_exit_0_and_post_nothing(workspace: Workspace, cli: CLI, hook: Hook) -> None:
    nightly(workspace, cli, [38, 39, 38, 37])
    code, out = cli("trend", "--webhook", hook.url)
    assert code == 0, out
    assert "no degradation" in out
    assert hook.posts == []


def test_a_config_change_is_annotated(
    workspace: Workspace, cli: CLI, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    nightly(workspace, cli, [38, 38, 38])
    nightly(workspace, cli, [20], function="system2.py")
    out_file = tmp_path / "t.html"
    code, out = cli("trend", "--out", str(out_file))
    assert code == 1, out
    page = browse(out_file)
    assert page.locator("svg.trend line.change").count() == 1
    text = page.locator("article.series").inner_text()
    assert "the target's config changed in this window" in text
    assert "config changed before:" in text


def test_an_unreachable_webhook_is_an_error_that_hides_the_url(
    workspace: Workspace, cli: CLI
) -> None:
    nightly(workspace, cli, [38, 38, 38, 10])
    code, out = cli("trend", "--webhook", "http://127.0.0.1:9/hooks/secret-token")
    assert code == 3, out
    assert "could not deliver the degradation alert" in out and "127.0.0.1" in out
    assert "secret-token" not in out


def test_nothing_to_chart_exits_5(workspace: Workspace, cli: CLI) -> None:
    (workspace.root / ".evalkit").mkdir()
    nightly(workspace, cli, [])
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    (workspace.root / "quality.txt").write_text("1")
    assert cli("run", "--limit", "1")[0] in (0, 1)
    code, out = cli("trend", "someotherplan")
    assert code == 5, out
    assert "no finished runs of plan 'someotherplan'" in out
