"""Review costs: `PYTHONPATH=src:. python tests/review/bench_review.py [trials] [labels]`.

Not collected by pytest (takes seconds). Records a run of `trials` trials (3 grades
each, 2 KB outputs), then prints how long loading its review queue takes and how long
one label save takes (a writable open, one transaction, close: what every key press
that labels pays), and the same for a CSV export and import of the whole queue.
"""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from evalkit.records import Status
from evalkit.review.importer import Stamp, plan_import
from evalkit.review.queue import QueueFilter, load_queue
from evalkit.review.save import LabelSaver
from evalkit.review.spreadsheet import export_sheet
from evalkit.review.state import Command, ReviewState
from evalkit.store.db import Store
from tests.store import factories as f


def main(trials: int, saves: int) -> None:
    """Record, load, label `saves` items one by one, export and import."""
    cases = [f.case(case_id=f"c{i}") for i in range(trials)]
    grades = [f.grade(m, Status.PASS, "ok") for m in ("contains", "regex", "judge")]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.duckdb"
        with Store.open(db) as store:
            f.start(store, "bench", cases)
            writer = store.writer("bench")
            for case in cases:
                writer.put(f.result("bench", case, text="x" * 2048, grades=grades))
            writer.close()
        started = time.perf_counter()
        with Store.open(db, read_only=True) as store:
            queue = load_queue(store.con, "bench", QueueFilter())
        loaded = time.perf_counter() - started
        saver = LabelSaver(db)
        state = ReviewState(queue, reviewer="bench", git_sha=None)
        for i in range(saves):
            state.handle(Command("pass" if i % 2 else "fail"), saver)
        sheet = Path(folder) / "review.csv"
        started = time.perf_counter()
        export_sheet(queue, sheet)
        exported = time.perf_counter() - started
        rows = list(csv.DictReader(sheet.open(encoding="utf-8-sig")))
        for row in rows:
            row["verdict"] = "accept"
        with sheet.open("w", newline="", encoding="utf-8") as out:
            out_csv = csv.DictWriter(out, fieldnames=list(rows[0]))
            out_csv.writeheader()
            out_csv.writerows(rows)
        started = time.perf_counter()
        with Store.open(db, read_only=True) as store:
            plan = plan_import(store.con, sheet, Stamp("bench", datetime.now(UTC), None))
        LabelSaver(db).save_all(plan.labels)
        imported = time.perf_counter() - started
    ms = [t * 1000 for t in saver.timings]
    print(f"{trials} trials: queue loaded in {loaded * 1000:.0f} ms")
    print(
        f"one label save: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms "
        f"over {saves} saves"
    )
    print(f"CSV export {exported * 1000:.0f} ms; import of {len(plan.labels)} labels "
          f"{imported * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 30,
    )
