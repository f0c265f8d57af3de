"""The trend page: one chart per plan x suite x target, flagged series first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.analysis.trend import TrendRule, TrendSeries
from evalkit.reports.charts import trend_chart
from evalkit.reports.html.page import asset, render_page, write_page


def trend_context(
    all_series: list[TrendSeries], rule: TrendRule, tests: int, plans: list[str]
) -> dict[str, Any]:
    """What the trend template shows: flagged series first, then the rest by name."""
    ordered = sorted(all_series, key=lambda s: (not s.degradations, s.key))
    return {
        "plans": plans,
        "rule": rule,
        "tests": tests,
        "threshold": rule.alpha / (max(tests, 1) * max(rule.nights, 1)),
        "flagged": sum(1 for s in all_series if s.degradations),
        "series": [
            {
                "s": s,
                "chart": trend_chart(s),
                "latest": s.points[-1],
                "runs": len(s.points),
                "changes": [p for p in s.points if p.config_changed],
            }
            for s in ordered
        ],
    }


def render_trend_report(
    all_series: list[TrendSeries],
    rule: TrendRule,
    tests: int,
    plans: list[str],
    out: Path,
    workspace: Path | None,
    security: list[dict[str, Any]] | None = None,
) -> Path:
    """Write the trend page to `out` (with attack success over time when given)."""
    context = trend_context(all_series, rule, tests, plans)
    context["security"] = security or None
    html = render_page(
        "trend.html.j2",
        context,
        workspace=workspace,
        scripts=[asset("filter.js")],
    )
    return write_page(html, out)
