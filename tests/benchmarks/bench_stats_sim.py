"""Simulation benchmark: the gate's false alarms and power, and interval coverage.

    python tests/benchmarks/bench_stats_sim.py [--null-reps 3000] [--null-reps-6 3000]
        [--power-reps 400] [--workers 2] [--seed 13] [--only '1g e3']

Draws pairs of runs and puts them through the code `evalkit compare --gate` and the
run table use: `evalkit.analysis.compare.compare` on trial rows, the gate's
`evalkit.analysis.gate.evaluate` (Holm across groups), and
`evalkit.analysis.stats.case_rate_interval` (the run table's pass-rate interval). Only
the DuckDB read and the printing are left out.

The world: a case's pass probability is drawn uniformly from 0.05-0.95 (fresh cases
every replicate, so the estimand is the population's mean pass rate, 0.5). Clustered
scenarios put cases in clusters of 10 whose difficulty shifts every case (a normal
shift of sd 0.5 on the logit scale) and which also get a fresh shock per run (sd 0.5),
so cases of one cluster move together between runs. "No change": both runs draw from
the same probabilities. A drop of d: every candidate probability is multiplied by
(1 - 2d), which lowers the mean pass rate by exactly d. Scenarios: 1 and 6 suite x
target groups (with 6, the drop is in one group only), epochs 1 and 3, 50 and 200
cases per group, clustered or not, no change and drops of 5, 10 and 15 points.

Printed: the gate's family-wise false-alarm rate under no change and its power under a
drop, each with a 95% Wilson Monte Carlo interval, for the gate the README recommends
(`max_drop: 0.02`) and with `max_regressions: 0` added; the coverage of the 95%
interval on the paired difference and of the run table's 95% interval.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from evalkit.analysis.compare import compare
from evalkit.analysis.gate import evaluate
from evalkit.analysis.stats import case_rate_interval, wilson_interval
from evalkit.records import TrialRow
from evalkit.workspace.models import GateSpec

RECOMMENDED = GateSpec(max_drop=0.02)
WITH_REGRESSIONS = GateSpec(max_drop=0.02, max_regressions=0)
CLUSTER_SIZE = 10
CLUSTER_SD = 0.5  # difficulty of a cluster, logit scale, fixed across the two runs
SHOCK_SD = 0.5  # a cluster's shift in one run, logit scale


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid."""

    groups: int
    epochs: int
    cases: int
    clustered: bool
    drop: float

    @property
    def name(self) -> str:
        """A short label for the table."""
        return (
            f"{self.groups}g e{self.epochs} n{self.cases} "
            f"{'clustered' if self.clustered else 'independent'}"
        )


@dataclass
class Tally:
    """Counts over the replicates of one scenario."""

    reps: int = 0
    alarms: int = 0  # recommended gate failed
    alarms_regressions: int = 0  # gate with max_regressions: 0 failed
    diff_covered: int = 0
    diff_intervals: int = 0
    rate_covered: int = 0
    rate_intervals: int = 0
    seconds: float = 0.0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _runs(s: Scenario, rng: random.Random) -> tuple[list[TrialRow], list[TrialRow]]:
    base: list[TrialRow] = []
    cand: list[TrialRow] = []
    for group in range(s.groups):
        drop = s.drop if group == 0 else 0.0
        clusters = max(1, s.cases // CLUSTER_SIZE)
        difficulty = [rng.gauss(0.0, CLUSTER_SD) if s.clustered else 0.0 for _ in range(clusters)]
        shocks = [
            [rng.gauss(0.0, SHOCK_SD) if s.clustered else 0.0 for _ in range(clusters)]
            for _run in range(2)
        ]
        for case in range(s.cases):
            c = case % clusters
            logit = _logit(rng.uniform(0.05, 0.95)) + difficulty[c]
            p_base = _sigmoid(logit + shocks[0][c])
            p_cand = _sigmoid(logit + shocks[1][c]) * (1.0 - 2.0 * drop)
            cluster = f"doc{c}" if s.clustered else None
            for epoch in range(s.epochs):
                for rows, p in ((base, p_base), (cand, p_cand)):
                    ok = rng.random() < p
                    rows.append(
                        TrialRow(
                            suite="suite",
                            case_id=f"c{case}",
                            case_hash=f"sha256:{group}:{case}",
                            target_id=f"t{group}",
                            prompt_id=None,
                            epoch=epoch,
                            status="pass" if ok else "fail",
                            score=1.0 if ok else 0.0,
                            cluster=cluster,
                        )
                    )
    return base, cand


def _run_scenario(args: tuple[Scenario, int, int]) -> tuple[Scenario, Tally]:
    scenario, reps, seed = args
    rng = random.Random(seed)
    tally = Tally()
    started = time.process_time()
    for _ in range(reps):
        base, cand = _runs(scenario, rng)
        comparison = compare("base", base, "cand", cand)
        tally.reps += 1
        tally.alarms += not evaluate(RECOMMENDED, {}, {}, comparison).passed
        tally.alarms_regressions += not evaluate(WITH_REGRESSIONS, {}, {}, comparison).passed
        for group in comparison.groups:
            truth = -scenario.drop if group.target_id == "t0" else 0.0
            metric = group.metric("pass")
            assert metric is not None
            tally.diff_intervals += 1
            tally.diff_covered += metric.paired.ci_low <= truth <= metric.paired.ci_high
        # the run table's interval, on the base run (true mean pass rate 0.5)
        for group in range(scenario.groups):
            means: dict[str, list[int]] = {}
            clusters: dict[str, str | None] = {}
            for row in base:
                if row.target_id == f"t{group}":
                    means.setdefault(row.case_id, []).append(row.status == "pass")
                    clusters[row.case_id] = row.cluster
            keys = sorted(means)
            interval = case_rate_interval(
                [sum(means[k]) / len(means[k]) for k in keys],
                [clusters[k] for k in keys],
                trials=sum(len(v) for v in means.values()),
                epochs=scenario.epochs,
            )
            tally.rate_intervals += 1
            tally.rate_covered += interval.low <= 0.5 <= interval.high
    tally.seconds = time.process_time() - started
    return scenario, tally


def _rate(k: int, n: int) -> str:
    low, high = wilson_interval(k, n)
    return f"{k / n:6.1%} ({low:5.1%}-{high:5.1%})"


def _row(s: Scenario, t: Tally) -> str:
    change = (
        "none"
        if s.drop == 0
        else f"-{s.drop * 100:.0f} pts" + (" (1 of 6 groups)" if s.groups > 1 else "")
    )
    return (
        f"| {s.name} | {change} | {t.reps} | {_rate(t.alarms, t.reps)} | "
        f"{_rate(t.alarms_regressions, t.reps)} | "
        f"{_rate(t.diff_covered, t.diff_intervals)} | "
        f"{_rate(t.rate_covered, t.rate_intervals)} |"
    )


HEADER = (
    "| scenario | change | reps | gate fails (max_drop 0.02) | "
    "+ max_regressions 0 | 95% CI on difference covers | run-table 95% CI covers |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
)


def _priority(s: Scenario) -> tuple[int, ...]:
    # the targets first (no change; a 10-point drop on 200 cases), so a run cut short
    # still answers them; then the rest of the grid
    return (
        0 if s.drop == 0 and s.groups == 1 else 1 if s.drop == 0.10 and s.cases == 200 else 2,
        0 if s.drop == 0 else 1,
        s.groups,
    )


def main() -> None:
    """Run the grid, printing each scenario as it finishes, then the whole table."""
    parser = argparse.ArgumentParser()
    # a false-alarm rate near 5% needs about 3,000 replicates for its 95% Monte Carlo
    # interval to end within 1 point of it
    parser.add_argument("--null-reps", type=int, default=3000)
    parser.add_argument("--null-reps-6", type=int, default=3000, help="null reps with 6 groups")
    parser.add_argument("--power-reps", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--only", help="only scenarios whose name contains this (e.g. '1g e3 n200'), no change"
    )
    args = parser.parse_args()
    grid = [
        Scenario(groups, epochs, cases, clustered, drop)
        for drop, groups, epochs, cases, clustered in itertools.product(
            (0.0, 0.05, 0.10, 0.15), (1, 6), (1, 3), (50, 200), (False, True)
        )
    ]

    if args.only:
        grid = [s for s in grid if args.only in s.name and s.drop == 0]

    def reps(s: Scenario) -> int:
        if s.drop:
            return int(args.power_reps)
        return int(args.null_reps if s.groups == 1 else args.null_reps_6)

    jobs = sorted(
        ((s, reps(s), args.seed + i) for i, s in enumerate(grid)), key=lambda j: _priority(j[0])
    )
    started = time.perf_counter()
    results: dict[Scenario, Tally] = {}
    print(HEADER, flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        for scenario, tally in pool.map(_run_scenario, jobs, chunksize=1):
            results[scenario] = tally
            print(_row(scenario, tally), flush=True)
    wall = time.perf_counter() - started
    print("\nIn grid order:\n")
    print(HEADER)
    for s in grid:
        print(_row(s, results[s]))
    cpu = sum(t.seconds for t in results.values())
    print(f"\n{len(grid)} scenarios, {cpu:.0f} s CPU, {wall:.0f} s wall ({args.workers} workers)")


if __name__ == "__main__":
    main()
