"""`evalkit trend [PLAN]`: pass rate and score over time, drops flagged; exit 1 on one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from evalkit.analysis.trend import TrendRule, TrendSeries, build_series, flag_degradations
from evalkit.cli.console import console, db_path, num, pct
from evalkit.cli.limits import MAX_COUNT
from evalkit.cli.report import default_out, workspace_or_none
from evalkit.reports.html.security_section import trend_security
from evalkit.store import reporting
from evalkit.store.db import Store

NOTHING_RAN = 5


def command(
    plan: Annotated[str | None, typer.Argument(help="Plan name (default: every plan).")] = None,
    window: Annotated[
        int, typer.Option(min=1, max=MAX_COUNT, help="Runs before the latest to compare with.")
    ] = 10,
    nights: Annotated[
        int,
        typer.Option(
            min=1, help="Runs watched: alpha is the false-alarm rate of a stable series over them."
        ),
    ] = 14,
    alpha: Annotated[
        float, typer.Option(min=0.0001, max=0.5, help="False-alarm rate over all series.")
    ] = 0.05,
    min_drop: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Smallest absolute drop to flag.")
    ] = 0.05,
    last: Annotated[int, typer.Option(min=2, max=MAX_COUNT, help="Runs per plan to chart.")] = 30,
    out: Annotated[
        Path | None, typer.Option(help="HTML page (default: reports/out/trend-<plan>.html).")
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            envvar="EVALKIT_WEBHOOK_URL",
            show_envvar=True,
            help="Slack-compatible webhook to post to when a drop is found.",
        ),
    ] = None,
    report_url: Annotated[
        str | None,
        typer.Option(help="Where people can open the page (e.g. the CI run), for the alert."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Chart every suite x target over time and flag the latest run's drops (exit 1)."""
    rule = TrendRule(window=window, alpha=alpha, min_drop=min_drop, nights=nights)
    workspace = workspace_or_none()
    with Store.open(db_path(db, workspace), read_only=True) as store:
        rows = reporting.history_rows(store.con, plan, max(last, window + 2))
        # per case only for the runs the rule tests: the latest two and their window
        case_rows = reporting.history_case_rows(store.con, plan, window + 2)
        plans = [plan] if plan else reporting.known_plans(store.con)
        security = trend_security(store.con, plans, last)
    if not rows:
        scope = f"plan '{plan}'" if plan else "any plan"
        console.print(f"no finished runs of {scope} with results: nothing to chart")
        return NOTHING_RAN
    all_series = build_series(rows, case_rows)
    tests = flag_degradations(all_series, rule)

    from evalkit.reports.html.trend_page import render_trend_report

    target = out or default_out(workspace, f"trend-{plan or 'all'}")
    written = render_trend_report(
        all_series, rule, tests, plans, target, workspace, security=security
    )
    console.print(_table(all_series))
    flagged = [s for s in all_series if s.degradations]
    console.print(f"wrote {written}")
    if not flagged:
        console.print(
            f"no degradation ({tests} tests, each at alpha {alpha} / ({tests} x {nights} runs): "
            f"a stable series alarms at most {alpha:.0%} of the time over {nights} runs)"
        )
        return 0
    console.print(f"[bold red]{len(flagged)} series degraded[/]", markup=True)
    if webhook:
        from evalkit.reports.webhook import degradation_payload, post

        post(webhook, degradation_payload(all_series, report_url or str(written)))
        console.print("posted the alert to the webhook")
    return 1


def _table(all_series: list[TrendSeries]) -> Table:
    table = Table(title="trend: latest run vs the runs before it")
    for name in ("plan", "suite", "target", "runs", "latest", "pass rate", "before", "p"):
        table.add_column(name, justify="right" if name in ("runs", "p") else "left")
    table.add_column("", justify="left")
    for s in sorted(all_series, key=lambda s: (not s.degradations, s.key)):
        rate = next((t for t in s.tests if t[0] == "pass rate"), None)
        flag = "▼ " + ", ".join(d.metric for d in s.degradations) if s.degradations else ""
        # Text, not markup: suite and target names are the user's and may hold [brackets]
        table.add_row(
            Text(s.plan),
            Text(s.suite),
            Text(s.target_label),
            str(len(s.points)),
            s.points[-1].run_id,
            pct(s.points[-1].pass_rate),
            pct(rate[2]) if rate else "-",
            num(rate[3], "{:.3g}") if rate else "-",
            Text(flag, style="bold red"),
        )
    return table
