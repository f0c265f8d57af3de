"""Cost: an unknown price is '-', never $0; --max-cost stops a run (exit 3) that resumes."""

from __future__ import annotations

from collections.abc import Callable

from evalkit.cli.console import money
from evalkit.targets.pricing import PRICES_AS_OF, price_for
from tests.cli.conftest import Workspace, anthropic_target
from tests.harness import many_cases

Cli = Callable[..., tuple[int, str]]


def test_the_price_table_covers_the_models_the_scaffold_and_readme_name() -> None:
    assert price_for("claude-sonnet-4-6") == (3.0, 15.0)
    assert price_for("claude-haiku-4-5") is not None
    assert PRICES_AS_OF.startswith("20")


def test_money_never_reads_zero_for_a_real_or_unknown_cost() -> None:
    assert money(None) == "-"
    assert money(0.00002) == "<$0.0001"
    assert money(0.5) == "$0.5000"


def test_an_unknown_price_shows_as_a_dash(workspace: Workspace, cli: Cli) -> None:
    target = anthropic_target(workspace.server).replace("claude-haiku-4-5", "claude-unpriced-9")
    workspace.plan(target)
    _, out = cli("run")
    assert "$0.0000" not in out, out
    (row,) = [r for r in out.splitlines() if "claude[plain]" in r and r.startswith("│")]
    assert row.rstrip().endswith("- │"), row  # the cost cell


def test_max_cost_stops_the_run_with_exit_3_and_resume_finishes(
    workspace: Workspace, cli: Cli
) -> None:
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(20))
    workspace.plan(anthropic_target(workspace.server), extra="concurrency: 1\n")
    # each call: ~4 input and ~4 output words at $1/$5 per Mtok = about $0.000024
    code, out = cli("run", "--max-cost", "0.0001")
    assert code == 3, out
    assert "--max-cost $0.0001 reached" in out
    sent = workspace.server.request_count()
    assert 2 <= sent <= 5
    ((status, run_id),) = workspace.sql("SELECT status, run_id FROM runs")
    assert status == "interrupted"
    code, out = cli("resume", str(run_id))
    assert code == 0, out
    assert workspace.sql("SELECT count(*) FROM results") == [(20,)]
