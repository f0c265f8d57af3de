"""`evalkit report --compare BASE CAND`: regressions first, side by side, paired statistics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import PYTHON_TARGET, SYSTEM, Workspace

CLI = Callable[..., tuple[int, str]]

# The candidate forgets the refund window and learns the shipping time.
CANDIDATE = SYSTEM.replace("Refunds are accepted within 30 days.", "Refunds are possible.").replace(
    'return "I am not sure."', 'return "Shipping takes 3 days."'
)


def test_compare_page_in_the_browser(
    workspace: Workspace, cli: CLI, browse: Callable[[Path], Any], tmp_path: Path
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] == 1
    (workspace.root / "candidate.py").write_text(CANDIDATE)
    workspace.plan(PYTHON_TARGET.replace("system.py", "candidate.py"))
    assert cli("run")[0] == 1
    base, cand = (str(r[0]) for r in workspace.sql("SELECT run_id FROM runs ORDER BY started_at"))

    code, out = cli("report", "--compare", base[:-1], cand)  # a prefix, unique but for 1 in 16**5
    assert code == 0, out
    page_file = workspace.root / "reports" / "out" / f"compare-{base}-{cand}.html"
    page = browse(page_file)

    sections = page.locator("main > section[id]").evaluate_all("s => s.map(x => x.id)")
    assert sections == ["regressed", "dropped", "fixed"]  # regressions first
    regressed = page.locator("#regressed article.case")
    assert regressed.count() == 1
    text = regressed.inner_text()
    assert "support/refund@local" in text and "score 1.00 → 0.00" in text
    sides = regressed.locator(".side > div")
    assert "Refunds are accepted within 30 days." in sides.nth(0).inner_text()
    assert "Refunds are possible." in sides.nth(1).inner_text()
    assert "icontains: '30 days' not found" in sides.nth(1).inner_text()
    assert regressed.locator("pre.diff del").all_inner_texts() == ["accepted within 30 days."]
    assert regressed.locator("pre.diff ins").all_inner_texts() == ["possible."]
    assert "support/shipping@local" in page.locator("#fixed").inner_text()

    stats = page.locator("#stats tbody tr").first.inner_text()
    # the pass metric: 2/3 in both runs, one case flipped each way, McNemar p = 1
    assert "support x local" in stats and "pass" in stats
    assert "0.667" in stats and "+0.000" in stats and "1 / 1" in stats
    # two flips cannot reach 5% even if both went one way: said, not guessed
    assert "too few to tell" in stats and "McNemar exact" in stats

    page.fill("#q", "shipping")
    assert not regressed.is_visible()
    assert page.locator("#fixed article.case").is_visible()
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
