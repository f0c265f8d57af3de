"""Compare benchmark: `evalkit compare` of two large runs, end to end and in process.

    python tests/benchmarks/bench_compare.py [--trials 100000] [--repeat 3] [--db FILE]

Writes two runs of --trials trials each into a real DuckDB file through the store's
writer (2 targets, one epoch, cases in clusters of 10, two graders per trial, 5% of
cases flipped between the runs; --db keeps the file for the next time), then prints,
median of --repeat:

- the wall and CPU time of the `evalkit compare BASE CAND` process (start-up, reading
  the two runs from DuckDB, the statistics, printing), the number the goal is set on
  (< 1 s; on a shared machine the CPU time is the steadier figure);
- in process: reading and comparing (`evalkit.analysis.verdict.judge`), wall and CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from evalkit.analysis.verdict import judge  # noqa: E402
from evalkit.records import Case, Grade, GraderConfig, Status, TargetOutput, TrialResult  # noqa: E402
from evalkit.store.db import Store  # noqa: E402
from evalkit.store.runs import RunInfo, RunTarget  # noqa: E402

TARGETS = ["model-a", "model-b"]
RUNS = ["20261201T000000-base00", "20261202T000000-cand00"]


def build_store(path: Path, trials: int) -> None:
    """Two completed runs of `trials` trials each on the same cases."""
    rng = random.Random(7)
    n_cases = trials // len(TARGETS)
    cases = [
        Case(
            suite=f"suite-{i % 5}",
            id=f"case-{i:06d}",
            vars={"question": f"q{i}"},
            expected="yes",
            graders=[GraderConfig(name="icontains"), GraderConfig(name="length")],
            cluster=f"doc-{i // 10}",
            content_hash=f"sha256:bench-{i}",
        )
        for i in range(n_cases)
    ]
    truth = [rng.random() < 0.8 for _ in range(n_cases * len(TARGETS))]
    flipped = [rng.random() < 0.05 for _ in truth]
    with Store.open(path) as store:
        for r, run_id in enumerate(RUNS):
            started = datetime(2026, 12, 1 + r, tzinfo=UTC)
            info = RunInfo(
                run_id=run_id, plan="bench", plan_path="evals/bench.yaml", started_at=started,
                git_sha="0" * 40, git_branch="main", git_dirty=False, config_hash="sha256:p",
                suite_hashes={}, evalkit_version="bench", labels={}, created_by="bench",
                hostname="bench", command="bench", settings={}, trials_planned=trials,
            )  # fmt: skip
            store.start_run(
                info, [RunTarget(t, None, "python", {}, f"sha256:{t}") for t in TARGETS], cases
            )
            writer = store.writer(run_id, flush_rows=5000)
            made = 0
            for case in cases:
                for target in TARGETS:
                    passed = truth[made] != (r == 1 and flipped[made])
                    made += 1
                    status = Status.PASS if passed else Status.FAIL
                    writer.put(
                        TrialResult(
                            run_id=run_id,
                            trial_id=f"{case.suite}/{case.id}@{target}#0",
                            case=case,
                            target_id=target,
                            prompt_id=None,
                            epoch=0,
                            output=TargetOutput(text="yes" if passed else "no", latency_ms=5.0),
                            grades=[
                                Grade("icontains", "icontains", status, float(passed), passed, ""),
                                Grade("length", "length", Status.PASS, 0.5, True, ""),
                            ],
                            status=status,
                            score=float(passed),
                            started_at=(started + timedelta(seconds=made)).timestamp(),
                            finished_at=(started + timedelta(seconds=made + 1)).timestamp(),
                        )
                    )
            writer.close()
            store.finish_run(run_id, "completed", {})


def main() -> None:
    """Build (or reuse) the database, time the CLI and the in-process comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100_000, help="trials per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the database here (reused if present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.duckdb"
        if not path.exists():
            started = time.perf_counter()
            build_store(path, args.trials)
            print(f"wrote 2 x {args.trials:,} trials in {time.perf_counter() - started:.0f} s")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        command = [sys.executable, "-m", "evalkit", "compare", RUNS[0], RUNS[1], "--db", str(path)]
        walls, cpus = [], []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode not in (0, 1):
                raise SystemExit(f"evalkit compare failed ({done.returncode}): {done.stderr}")
        print(done.stdout.strip().splitlines()[1] if done.stdout.strip() else "")
        print(
            f"`evalkit compare` of 2 x {args.trials:,} trials: "
            f"median {statistics.median(walls):.2f} s "
            f"wall per process (min {min(walls):.2f} s), {statistics.median(cpus):.2f} s CPU, "
            f"over {args.repeat} runs"
        )
        times, cpu = [], []
        with Store.open(path, read_only=True) as store:
            for _ in range(args.repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                comparison, _gate = judge(store.con, RUNS[1], RUNS[0], None)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
        assert comparison is not None
        # CPU seconds as well: on a shared machine wall time also counts other processes
        print(
            f"in process (read both runs + compare): median {statistics.median(times):.2f} s "
            f"wall, {statistics.median(cpu):.2f} s CPU; {len(comparison.cases):,} paired cases, "
            f"{len(comparison.groups)} groups, {len(comparison.regressions):,} regressions"
        )


if __name__ == "__main__":
    main()
