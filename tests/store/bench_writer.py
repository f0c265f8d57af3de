"""Writer throughput: `PYTHONPATH=src:. python tests/store/bench_writer.py [n] [output_bytes]`.

Not collected by pytest (takes seconds). Prints results/s end to end (first put to
close) and the engine thread's CPU time per put.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from evalkit.records import Status
from evalkit.store.db import Store
from tests.store import factories as f


def main(n: int, output_bytes: int, cache: bool = True, setup: str = "") -> None:
    """Put `n` results with 3 grades each and report the rates."""
    text = "x" * output_bytes
    cases = [f.case(case_id=f"c{i}") for i in range(200)]
    grades = [f.grade(m, Status.PASS, "ok") for m in ("contains", "regex", "judge")]
    results = [
        f.result("bench", cases[i % 200], epoch=i // 200, text=text, grades=grades)
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as folder:
        with Store.open(Path(folder) / "bench.duckdb") as store:
            f.start(store, "bench", cases)
            if setup:
                store.con.execute(setup)
            writer = store.writer("bench")
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            wall = time.perf_counter()
            cpu = time.thread_time()
            for i, result in enumerate(results):
                writer.put(result, cache_key=f"sha256:{i}" if cache else None, provider="python")
            put_cpu = time.thread_time() - cpu
            writer.close()
            elapsed = time.perf_counter() - wall
            rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            stored = store.con.execute("SELECT count(*) FROM results").fetchone()
        print(
            f"{n} results x 3 grades, {output_bytes} B outputs, "
            f"{'with' if cache else 'without'} cache rows: "
            f"{n / elapsed:,.0f} results/s end to end; put costs "
            f"{put_cpu / n * 1e6:.1f} µs CPU per result on the caller; "
            f"peak RSS grew {rss_growth_mb:.0f} MB; stored {stored}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 500,
         (sys.argv[3] if len(sys.argv) > 3 else "cache") == "cache",
         sys.argv[4] if len(sys.argv) > 4 else "")  # fmt: skip
