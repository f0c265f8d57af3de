"""Tables shown after a run and by `evalkit show`: per suite x target, and failures."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.cli.console import money, num, pct, present

FAIL_STYLE = {"fail": "red", "error": "magenta"}


# Below this many columns the latency column goes first: pass rate, score and errors
# are what a narrow terminal must keep whole.
WIDE = 100


def summary_table(rows: list[dict[str, Any]], title: str, width: int = WIDE) -> Table:
    """Pass rate with its 95% interval, score, errors, latency, tokens and cost.

    Readable at 80 columns: columns no row has data for (tokens, cost, errors, latency
    of local targets) are left out, and under WIDE columns latency and tokens too;
    numbers never wrap or get cut, long suite and target names wrap instead.
    """
    has = {
        "errors": any(int(r["errors"] or 0) for r in rows),
        "latency": width >= WIDE and any(_present(r["p50_latency_ms"]) for r in rows),
        "tokens": width >= WIDE
        and any(_present(r["input_tokens"]) or _present(r["output_tokens"]) for r in rows),
        # a model that reported tokens has a cost, known or not: an unknown one shows '-'
        "cost": any(_present(r["cost_usd"]) or _present(r["input_tokens"]) for r in rows),
        "skipped": any(int(r.get("skipped") or 0) for r in rows),
    }
    columns: list[tuple[str, str, str | None]] = [
        ("suite", "left", None),
        ("target", "left", None),
        ("trials", "right", None),
        ("pass rate (95% CI)", "right", None),
        ("score", "right", None),
        ("errors", "right", "errors"),
        ("skipped", "right", "skipped"),
        ("p50 / p95 ms", "right", "latency"),
        ("tokens in / out", "right", "tokens"),
        ("cost", "right", "cost"),
    ]
    shown = [(name, justify) for name, justify, need in columns if need is None or has[need]]
    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in shown:
        is_name = name in ("suite", "target")
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not is_name,  # a number is never wrapped or cut
            overflow="fold" if is_name else "ellipsis",
            ratio=1 if is_name else None,
        )
    if caption := _interval_caption(rows):  # what each interval is over, under the table
        table.caption = caption
        table.caption_justify = "left"
    for row in rows:
        target, prompt = row["target_id"], row["prompt_id"]
        name = f"{target}[{prompt}]" if _present(prompt) else str(target)
        rate = pct(row["pass_rate"])
        if _present(row["ci_low"]):
            rate += " ({}–{})".format(pct(row["ci_low"]), pct(row["ci_high"]))
        cached = int(row["cached"]) if _present(row["cached"]) else 0
        latency = "{} / {}".format(
            num(row["p50_latency_ms"], "{:.0f}"), num(row["p95_latency_ms"], "{:.0f}")
        )
        errors = int(row["errors"])
        cells: dict[str, Any] = {
            "suite": Text(str(row["suite"])),
            "target": Text(name),  # a Text: "chat[short]" is not rich markup
            "trials": str(int(row["trials"])) + (f" · {cached} cached" if cached else ""),
            "pass rate (95% CI)": Text(rate, style=_rate_style(row["pass_rate"])),
            "score": num(row["mean_score"]),
            "errors": Text(str(errors), style="magenta" if errors else ""),
            "skipped": str(int(row.get("skipped") or 0)),
            "p50 / p95 ms": latency,
            "tokens in / out": "{} / {}".format(
                _int(row["input_tokens"]), _int(row["output_tokens"])
            ),
            "cost": money(row["cost_usd"]),
        }
        table.add_row(*(cells[name] for name, _ in shown))
    return table


def print_failures(console: Console, rows: list[dict[str, Any]], total: int, limit: int) -> None:
    """One block per failing trial: id, status, and why (grader reasons or the error)."""
    if not rows:
        return
    shown = rows[:limit]
    console.print(Text(f"Failures ({len(shown)} of {total} shown)", style="bold"))
    for row in shown:
        status = str(row["status"])
        console.print(
            Text.assemble(
                ("  ✗ " if status == "fail" else "  ! ", FAIL_STYLE.get(status, "")),
                (str(row["trial_id"]), "bold"),
                f"  {status}",
            )
        )
        for reason in _reasons(row):
            console.print(Text(f"      {reason}", style="dim"), overflow="fold")


def _reasons(row: dict[str, Any]) -> list[str]:
    error = row.get("error")
    if _present(error):
        kind = row.get("error_kind")
        return [f"{kind}: {error}" if _present(kind) else str(error)]
    reasons = row.get("reasons")
    if reasons is None or (isinstance(reasons, float)):
        return []
    if isinstance(reasons, str):
        return [reasons]
    return [str(r) for r in list(reasons)[:5]]


_present = present


def _int(value: object) -> str:
    if not _present(value):
        return "-"
    return f"{int(value):,}"  # type: ignore[call-overload]


def _rate_style(rate: Any) -> str:
    if not _present(rate):
        return ""
    if rate >= 0.9:
        return "green"
    return "yellow" if rate >= 0.7 else "red"


def judge_line(judge: dict[str, Any] | None) -> str | None:
    """One line on the run's judge: calls (cached), tokens, cost, pairwise position bias."""
    if not judge:
        return None
    if judge.get("unavailable"):
        return f"judge {judge.get('model')}: not used ({judge['unavailable']})"
    parts = [
        f"judge {judge.get('model')}: {judge.get('calls', 0)} calls",
        f"{judge.get('cached_calls', 0)} cached",
        f"tokens {_int(judge.get('input_tokens'))} / {_int(judge.get('output_tokens'))}",
        money(judge.get("cost_usd")),
    ]
    if judge.get("pairs"):
        rate = judge.get("position_bias_rate") or 0.0
        parts.append(f"pairwise position bias {rate:.0%} of {judge['pairs']} pairs")
    return " · ".join(parts)


def print_reasoning(console: Console, rows: list[dict[str, Any]]) -> None:
    """The judge's reasoning for each judged grade."""
    if not rows:
        return
    console.print(Text("Judge reasoning", style="bold"))
    for row in rows:
        status = str(row["status"])
        flaky = row.get("flakiness")
        note = f" · flakiness {flaky:.2f}" if _present(flaky) and flaky else ""
        console.print(
            Text.assemble(
                ("  " + str(row["trial_id"]), "bold"),
                f"  {row['metric']}  {status}  score {num(row['score'])}{note}",
            )
        )
        reasoning = row.get("reasoning")
        if _present(reasoning) and reasoning:
            console.print(Text(f"      {reasoning}", style="dim"), overflow="fold")


def _interval_caption(rows: list[dict[str, Any]]) -> str | None:
    """What the intervals are over; with several wordings, which suites each is for."""
    suites_by_label: dict[str, dict[str, None]] = {}
    for row in rows:
        if _present(row.get("ci_label")):
            suites_by_label.setdefault(str(row["ci_label"]), {})[str(row["suite"])] = None
    if not suites_by_label:
        return None
    if len(suites_by_label) == 1:
        return f"pass-rate interval: {next(iter(suites_by_label))}"
    return "pass-rate intervals: " + "; ".join(
        f"{label} ({', '.join(suites)})" for label, suites in sorted(suites_by_label.items())
    )
