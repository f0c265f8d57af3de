"""The Markdown summary's security table: attack success per target and OWASP category."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evalkit.analysis.security import Rate, case_key


def security_lines(trials: Iterable[dict[str, Any]]) -> list[str]:
    """A table of attack success (95% CI over cases) per target x category, worst first;
    no lines when the run has no security cases."""
    rates: dict[tuple[str, str], Rate] = {}
    for trial in trials:
        category = trial.get("owasp_category")
        if not category or trial["status"] not in ("pass", "fail"):
            continue
        prompt = trial["prompt_id"]
        target = f"{trial['target_id']}[{prompt}]" if prompt else str(trial["target_id"])
        rates.setdefault((target, str(category)), Rate(str(category))).record(
            case_key(trial), trial["status"]
        )
    if not rates:
        return []
    lines = [
        "#### Security: attack success",
        "",
        "| target | category | succeeded | attack success (95% CI over cases) |",
        "| --- | --- | ---: | ---: |",
    ]
    for (target, _), rate in sorted(rates.items(), key=lambda kv: (kv[0][0], -kv[1].rate)):
        low, high = rate.interval
        lines.append(
            f"| {target} | {rate.label} | {rate.successes}/{rate.attempts} | "
            f"{rate.rate:.1%} ({low:.1%}–{high:.1%}) |"
        )
    return [*lines, ""]
