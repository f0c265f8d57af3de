"""Compare benchmark: how long pairing and testing two large runs takes.

    python tests/benchmarks/bench_compare.py [--cases 20000] [--epochs 1] [--targets 2]

Builds two synthetic runs in memory (every case graded by two metrics, 5% of cases
flipped between the runs, clusters of 10 cases) and times `evalkit.analysis.compare.compare`
(pairing, per-case changes, paired intervals, clustered SE, McNemar) over them, median
of --repeat runs. The store read is not included: see bench_report.py for DuckDB reads.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from evalkit.analysis.compare import compare
from evalkit.records import TrialRow


def _runs(cases: int, epochs: int, targets: int) -> tuple[list[TrialRow], list[TrialRow]]:
    rng = random.Random(7)
    base: list[TrialRow] = []
    cand: list[TrialRow] = []
    for target in range(targets):
        for case in range(cases):
            ok = rng.random() < 0.8
            flipped = rng.random() < 0.05
            for epoch in range(epochs):
                for rows, passed in ((base, ok), (cand, ok != flipped)):
                    score = 1.0 if passed else 0.0
                    rows.append(
                        TrialRow(
                            suite=f"suite-{case % 5}",
                            case_id=f"c{case}",
                            case_hash=f"sha256:{case}",
                            target_id=f"t{target}",
                            prompt_id=None,
                            epoch=epoch,
                            status="pass" if passed else "fail",
                            score=score,
                            cluster=f"doc-{case // 10}",
                            grades={"exact": (score, passed), "style": (0.5, True)},
                        )
                    )
    return base, cand


def main() -> None:
    """Time compare() on two synthetic runs and print the numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--targets", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base, cand = _runs(args.cases, args.epochs, args.targets)
    times, cpu = [], []
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = compare("base", base, "cand", cand)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    median = statistics.median(times)
    # CPU seconds as well: on a shared machine wall time also counts other processes
    print(
        f"compare: {len(base)} + {len(cand)} trials, {len(result.cases)} paired cases, "
        f"{len(result.groups)} groups, {len(result.regressions)} regressions: "
        f"median {median:.2f} s wall, {statistics.median(cpu):.2f} s CPU "
        f"({len(base) * 2 / median:,.0f} trials/s) over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
