"""Simulation benchmark of `evalkit trend`'s rule: false alarms of stable series, and
how soon a real drop is flagged.

    python tests/benchmarks/bench_trend_sim.py [--series 1000] [--drop-series 1000]
        [--cases 200] [--epochs 1] [--window 10]

Each simulated series is one suite x target run nightly on the same cases (pass
probabilities drawn once from 0.05-0.95). Every night the history so far goes through
`evalkit.analysis.trend.build_series` and `flag_degradations` with the default rule
(window 10, alpha 0.05, nights 14, min_drop 0.05), as `evalkit trend` runs it after
each nightly run. Printed, with 95% Wilson Monte Carlo intervals:

- stable: the share of 14-night series that raise any alarm (nights 2-14 are tested);
- drop: 8 stable nights, then every case's probability times 0.8 (a 10-point drop of
  the mean): the share flagged on the first or second night of the drop, and the share
  that alarmed before it.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from evalkit.analysis.stats import wilson_interval
from evalkit.analysis.trend import TrendRule, build_series, flag_degradations

START = datetime(2026, 1, 1, tzinfo=UTC)
NIGHTS = 14
DROP_NIGHT = 8  # 0-based: nights 0-7 stable, the drop starts on night 8


def _night(
    i: int, probabilities: list[float], epochs: int, rng: random.Random
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run_id = f"run{i:02d}"
    case_rows = []
    passed_total = 0
    for c, p in enumerate(probabilities):
        passed = sum(rng.random() < p for _ in range(epochs))
        passed_total += passed
        case_rows.append(
            {"run_id": run_id, "suite": "s", "target_id": "t", "prompt_id": None,
             "case_id": f"c{c}", "passed": passed, "graded": epochs,
             "mean_score": passed / epochs}
        )  # fmt: skip
    graded = len(probabilities) * epochs
    scores = [r["mean_score"] for r in case_rows]
    mean = passed_total / graded
    sd = (mean * (1 - mean) * graded / max(graded - 1, 1)) ** 0.5
    row = {
        "plan": "nightly", "run_id": run_id, "started_at": START + timedelta(days=i),
        "git_sha": None, "suite": "s", "target_id": "t", "prompt_id": None,
        "config_hash": "sha256:a", "passed": passed_total, "graded": graded,
        "mean_score": sum(scores) / len(scores), "sd_score": sd, "scored": graded,
    }  # fmt: skip
    return row, case_rows


def _series(cases: int, epochs: int, drop: bool, rng: random.Random, rule: TrendRule) -> list[int]:
    """The nights (0-based) on which the rule raised an alarm."""
    base = [rng.uniform(0.05, 0.95) for _ in range(cases)]
    rows: list[dict[str, Any]] = []
    case_rows: list[dict[str, Any]] = []
    alarms = []
    for night in range(NIGHTS):
        factor = 0.8 if drop and night >= DROP_NIGHT else 1.0
        row, cases_tonight = _night(night, [p * factor for p in base], epochs, rng)
        rows.append(row)
        case_rows.extend(cases_tonight)
        if night == 0:
            continue
        # as `evalkit trend` reads it: every run for the chart, cases of the tested runs
        recent = {f"run{k:02d}" for k in range(max(0, night - rule.window - 1), night + 1)}
        series = build_series(rows, [r for r in case_rows if r["run_id"] in recent])
        flag_degradations(series, rule)
        if series[0].degradations:
            alarms.append(night)
        if drop and night >= DROP_NIGHT + 1:
            break  # the question is only whether the first two nights of the drop alarm
    return alarms


def _rate(k: int, n: int) -> str:
    low, high = wilson_interval(k, n)
    return f"{k / n:.1%} ({low:.1%}-{high:.1%}), {k} of {n}"


def main() -> None:
    """Simulate stable and dropping series; print the rates."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--drop-series", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--window", type=int, default=TrendRule().window)
    args = parser.parse_args()
    rule = TrendRule(window=args.window)
    rng = random.Random(args.seed)
    started = time.process_time()
    stable = sum(
        bool(_series(args.cases, args.epochs, False, rng, rule)) for _ in range(args.series)
    )
    caught = early = 0
    for _ in range(args.drop_series):
        alarms = _series(args.cases, args.epochs, True, rng, rule)
        early += any(n < DROP_NIGHT for n in alarms)
        caught += any(n in (DROP_NIGHT, DROP_NIGHT + 1) for n in alarms)
    print(
        f"trend rule (window {rule.window}, alpha {rule.alpha}, nights {rule.nights}, "
        f"min_drop {rule.min_drop}); {args.cases} cases, epochs {args.epochs}"
    )
    print(f"stable 14-night series with any false alarm: {_rate(stable, args.series)}")
    print(
        f"10-point drop flagged within 2 nights: {_rate(caught, args.drop_series)}; "
        f"alarmed before the drop: {_rate(early, args.drop_series)}"
    )
    print(f"{time.process_time() - started:.0f} s CPU")


if __name__ == "__main__":
    main()
