"""Memory benchmark: peak RSS of `evalkit run` as trials grow, with 20 KB outputs.

    python tests/benchmarks/bench_memory.py [--trials 50000] [--output-kb 20] [--memory-limit 256MB]
    python tests/benchmarks/bench_memory.py --trials 20000 --output-kb 100 --read --only-full
    python tests/benchmarks/bench_memory.py --trials 20000 --output-kb 100 --read --only-full \
        --keep /tmp/bench20k --readers "export csv" "export jsonl"

Runs a `python` target that answers every trial with a distinct ~20 KB text, graded by
two rule graders, everything written to DuckDB, at 1/10 of --trials and at --trials,
each in its own process, and prints the peak resident memory of each and the growth.
Every run must end recorded `completed` with all its results (exit 1 is also what a
crash gives). The engine keeps one worker pool per target and a bounded writer queue,
so peak memory should not depend on the number of trials, except for DuckDB's buffer
pool, which keeps written blocks cached up to its memory limit: evalkit starts it at
32 MB in the writing process and raises it for batches of long outputs (256 MB at
most); --memory-limit sets EVALKIT_DB_MEMORY_LIMIT (`none` for DuckDB's own 80% of
RAM). Outputs over 32 KB are stored in parts (try --output-kb 200). With
--read it then measures the readers of that run the same way: `evalkit report` and
`evalkit export` in each format (peak RSS, wall time, CPU time, file size); --readers
picks some of them. --keep DIR builds the workspace and its run in DIR once and reuses
them on later calls (only the readers are measured again). With --read each export is
followed by its floor: for CSV and JSONL the time to write a file of its size with an
fsync at the end; for Parquet, whose compressed file is no load on the disk, the time
DuckDB takes to read the exported file and write its rows again (the encoding alone).
Before the exports, the read floor: the time to read every output out of the store as
the exports do, writing nothing. Measured numbers are in the README's Reliability section.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from evalkit.store.export_batches import PARQUET_CODECS

ROOT = Path(__file__).resolve().parents[2]

SUITE = """name: mem
cases_from: [cases.jsonl]
defaults:
  graders:
    - type: icontains
      value: "answer"
    - type: length
      max: 100000
"""

PLAN = """name: mem
suites: [suites/mem.yaml]
epochs: {epochs}
concurrency: 16
targets:
  - id: local
    provider: python
    function: system.py:answer
"""

SYSTEM = """
import hashlib
import os

def answer(case):
    # distinct per trial (a case's epochs too), so nothing is shared, interned or stored
    # once for several trials (large outputs are stored by hash)
    seed = hashlib.sha256(case.id.encode() + os.urandom(16)).hexdigest()
    return "answer " + (seed * ({size} // 64 + 1))[:{size}]
"""

# --prose: words drawn at random, per trial, from a fixed vocabulary of 4,000: text that
# compresses about as natural language does (zstd and snappy shrink the hex above ~600x)
PROSE = """
import random
import string

_WORDS = None

def answer(case):
    global _WORDS
    if _WORDS is None:
        pick = random.Random(0)
        _WORDS = ["".join(pick.choices(string.ascii_lowercase, k=pick.randint(2, 9)))
                  for _ in range(4000)] + [".", ",", "\\n", "the", "of", "and"]
    draw = random.Random()  # seeded from the OS: distinct per trial
    words = draw.choices(_WORDS, k={size} // 5)
    return ("answer " + " ".join(words))[:{size}]
"""

CASES = 5000  # trials = CASES x epochs: loading stays cheap, trials scale


def workspace(root: Path, trials: int, output_kb: int, prose: bool = False) -> None:
    """A workspace whose plan runs `trials` trials."""
    (root / "suites").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "suites" / "mem.yaml").write_text(SUITE)
    with (root / "suites" / "cases.jsonl").open("w") as out:
        for i in range(min(CASES, trials)):
            out.write(json.dumps({"id": f"c{i}", "question": f"question {i}"}) + "\n")
    epochs = max(1, trials // CASES)
    (root / "evals" / "plan.yaml").write_text(PLAN.format(epochs=epochs))
    (root / "system.py").write_text((PROSE if prose else SYSTEM).format(size=output_kb * 1024))


def planned(trials: int) -> int:
    """How many trials the workspace `workspace(root, trials, ...)` plans."""
    return min(CASES, trials) * max(1, trials // CASES)


def peak_of(
    root: Path, env: dict[str, str], *args: str, exits: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """(peak RSS in MB, wall seconds, user+sys CPU seconds) of one `evalkit ARGS` process
    run in `root`; stops when it exits with a code outside `exits`."""
    # a child of a fresh `time`-like wrapper, so RUSAGE_CHILDREN is this command's alone
    wrapper = (
        "import resource, subprocess, sys; "
        f"p = subprocess.run([sys.executable, '-m', 'evalkit', *{list(args)!r}], "
        "capture_output=True); "
        "sys.stderr.write(p.stderr.decode()[-2000:] + p.stdout.decode()[-2000:]); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(u.ru_maxrss, p.returncode, u.ru_utime + u.ru_stime)"
    )
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=root, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"evalkit {' '.join(args)} failed: {done.stderr}")
    peak_kb, code, cpu = done.stdout.split()
    if int(code) not in exits:
        raise SystemExit(f"evalkit {' '.join(args)} exited {code}: {done.stderr}")
    return int(peak_kb) / 1024, wall, float(cpu)


def check_complete(db: Path, expected: int) -> int:
    """The number of results of the one run in `db`; stops unless that run is recorded
    `completed` with `expected` results.

    `evalkit run` exits 1 both when trials failed (every trial of this workspace fails
    its length grader once outputs pass 100 KB) and when Python dies of an uncaught
    exception: only the store tells a finished run from a crashed one.
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("SELECT run_id, status FROM runs").fetchall()
        (stored,) = con.execute("SELECT count(*) FROM results").fetchone() or (0,)
    finally:
        con.close()
    if len(runs) != 1 or runs[0][1] != "completed" or stored != expected:
        status = runs[0][1] if len(runs) == 1 else f"{len(runs)} runs"
        raise SystemExit(
            f"the run did not finish: {status}, {stored} of {expected} results recorded"
        )
    return int(stored)


READERS = {
    "report": ("report", "latest", "--out", "out/report.html"),
    "export csv": ("export", "--format", "csv", "--out", "out/trials.csv"),
    "export jsonl": ("export", "--format", "jsonl", "--out", "out/trials.jsonl"),
    "export parquet": ("export", "--format", "parquet", "--out", "out/trials.parquet"),
    "export parquet none": (
        "export",
        "--format",
        "parquet",
        "--compression",
        "none",
        "--out",
        "out/plain.parquet",
    ),
}


def disk_floor(folder: Path, size: int) -> float:
    """Seconds to write `size` bytes to a new file in `folder` (1 MB writes, one fsync at
    the end, as the disk must take them): what no export of that size can beat."""
    block = os.urandom(2**20)
    path = folder / "floor.bin"
    began = time.perf_counter()
    with path.open("wb") as out:
        for _ in range(size // len(block) + 1):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    took = time.perf_counter() - began
    path.unlink()
    return took


def parquet_floor(path: Path) -> float:
    """Seconds for DuckDB to read the exported Parquet file and write its rows again
    (the export's codec and level, rows per row group as in the file): the encoding that
    any Parquet export of those rows does, on every core, memory unbounded."""
    con = duckdb.connect()
    (rows,) = con.execute(
        "SELECT max(row_group_num_rows) FROM parquet_metadata(?)", [str(path)]
    ).fetchone() or (2048,)
    again = path.with_name("floor.parquet")
    began = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_parquet($src)) TO $dst "
        f"(FORMAT parquet, {PARQUET_CODECS['zstd']}, ROW_GROUP_SIZE {int(rows or 2048)})",
        {"src": str(path), "dst": str(again)},
    )
    took = time.perf_counter() - began
    con.close()
    again.unlink()
    return took


# In a fresh process: every output stored in parts read out of the store, as every
# export reads them (the export's own cap and DuckDB on one thread, a window ahead on a
# second thread), and nothing written. Prints wall and CPU seconds.
_READ_OUTPUTS = """
import sys, time
import duckdb
from evalkit.store.export import EXPORT_LIMIT
from evalkit.store.export_batches import SIZES, stored_outputs
from evalkit.store.memory import apply_memory_limit
con = duckdb.connect(sys.argv[1], read_only=True)
apply_memory_limit(con, default=EXPORT_LIMIT)
con.execute("SET threads = 1")
(run,) = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
began, cpu = time.perf_counter(), time.process_time()
for _ in stored_outputs(con, con.execute(SIZES, {"run_id": run}).fetchall()):
    pass
print(time.perf_counter() - began, time.process_time() - cpu)
"""


def read_floor(root: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU seconds) to read every output stored in parts out of the run's store:
    what every export does before it writes a byte of them."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_OUTPUTS, str(root / "results.duckdb")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def read_all(root: Path, env: dict[str, str], readers: list[str]) -> None:
    """Print peak RSS, wall and CPU time and file size of each reader of the run in `root`."""
    (root / "out").mkdir(exist_ok=True)
    if any(name.startswith("export") for name in readers):
        wall, cpu = read_floor(root, env)
        print(f"    {'read floor':<19} {wall:6.1f} s wall {cpu:6.1f} s CPU to read every output")
    for name in readers:
        args = READERS[name]
        target = root / args[-1]
        target.unlink(missing_ok=True)
        reader_peak, reader_wall, cpu = peak_of(root, env, *args)
        size = target.stat().st_size
        with target.open("rb") as out:  # the export's own fsync, timed apart
            began = time.perf_counter()
            os.fsync(out.fileno())
            synced = time.perf_counter() - began
        print(
            f"    {name:<19} peak RSS {reader_peak:7.1f} MB  {reader_wall:6.1f} s wall  "
            f"{cpu:6.1f} s CPU  file {size / 2**20:8.1f} MB  (fsync after: {synced:4.1f} s)",
            flush=True,
        )
        if name in ("export csv", "export jsonl", "export parquet none"):
            floor = disk_floor(root / "out", size)
            print(f"    {'disk floor':<19} {floor:6.1f} s to write and fsync {size / 2**20:.1f} MB")
        elif name == "export parquet":  # its floor is the encoding, not the disk
            floor = parquet_floor(target)
            print(
                f"    {'encoding floor':<19} {floor:6.1f} s for DuckDB to read it and write it anew"
            )
        target.unlink()


def measure(
    trials: int,
    output_kb: int,
    memory_limit: str | None,
    readers: list[str],
    keep: Path | None = None,
    prose: bool = False,
) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, results stored) of one `evalkit run` process (nothing
    measured when `keep` already holds the run); then each of `readers` of that run."""
    with tempfile.TemporaryDirectory() as tmp:
        root = (keep or Path(tmp)) / "ws"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        env["EVALKIT_DB"] = str(root / "results.duckdb")
        env.pop("EVALKIT_DB_MEMORY_LIMIT", None)
        if memory_limit:
            env["EVALKIT_DB_MEMORY_LIMIT"] = memory_limit
        peak = wall = float("nan")
        if not (root / "results.duckdb").exists():
            workspace(root, trials, output_kb, prose)
            peak, wall, _ = peak_of(root, env, "run", exits=(0, 1))  # 1: trials failed
        stored = check_complete(root / "results.duckdb", planned(trials))
        read_all(root, env, readers)
        return peak, wall, int(stored)


def main() -> None:
    """Measure at a tenth of the trials and at all of them; print the numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50_000)
    parser.add_argument("--output-kb", type=int, default=20)
    parser.add_argument(
        "--memory-limit", help="EVALKIT_DB_MEMORY_LIMIT for the runs, e.g. 128MB or none"
    )
    parser.add_argument(
        "--read", action="store_true", help="also measure report and export of each run"
    )
    parser.add_argument(
        "--only-full", action="store_true", help="skip the run at a tenth of --trials"
    )
    parser.add_argument(
        "--readers", nargs="+", choices=list(READERS), help="with --read: only these readers"
    )
    parser.add_argument(
        "--keep", type=Path, help="build the run in this folder once and reuse it (--only-full)"
    )
    parser.add_argument(
        "--prose", action="store_true", help="outputs of random words (compress like text)"
    )
    args = parser.parse_args()
    readers = (args.readers or list(READERS)) if args.read else []
    limit = args.memory_limit or "evalkit's default cap (32 MB, raised per batch)"
    kind = "prose" if args.prose else "hex"
    print(f"python target, {args.output_kb} KB {kind} outputs, 2 rule graders, DuckDB: {limit}")
    print(f"{'trials':>8} {'peak RSS MB':>12} {'wall s':>8} {'stored':>8}")
    peaks = []
    sizes = (args.trials,) if args.only_full else (args.trials // 10, args.trials)
    for trials in sizes:
        name = f"{trials}x{args.output_kb}kb" + ("-prose" if args.prose else "")
        keep = args.keep / name if args.keep else None
        peak, wall, stored = measure(
            trials, args.output_kb, args.memory_limit, readers, keep, args.prose
        )
        peaks.append(peak)
        if peak != peak:  # NaN: --keep held the run already, nothing was measured for it
            print(f"{trials:>8} {'(run reused from --keep)':>21} {stored:>8}", flush=True)
            continue
        print(f"{trials:>8} {peak:>12.1f} {wall:>8.1f} {stored:>8}", flush=True)
    if len(peaks) == 2 and all(p == p for p in peaks):
        print(f"growth x{peaks[1] / peaks[0]:.2f} for x10 trials")


if __name__ == "__main__":
    main()
