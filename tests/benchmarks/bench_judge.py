"""Judge benchmark: a run whose every case is judged, then the same run again.

    python tests/benchmarks/bench_judge.py [--cases 500] [--latency-ms 50] [--concurrency 16]

A python target answers instantly; every case has one `llm-rubric` grade, judged by the
fake server's Anthropic API with `--latency-ms` per reply. Prints, for the first run and
the rerun: wall time, judge requests the server received, the ideal bound
ceil(N/C) x latency, and grades per second. The rerun should make no request.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from evalkit.cli import invoke  # noqa: E402
from tests.fakeserver import FakeModelServer  # noqa: E402

PLAN = """name: bench
suites: [suites/bench.yaml]
concurrency: {concurrency}
judge: {{provider: anthropic, model: bench-judge, base_url: '{url}', concurrency: {concurrency}}}
targets:
  - id: sut
    provider: python
    function: system.py:answer
"""


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    os.environ["ANTHROPIC_API_KEY"] = "bench"
    with tempfile.TemporaryDirectory() as tmp, FakeModelServer(args.latency_ms) as server:
        root = Path(tmp)
        (root / "suites").mkdir()
        (root / "evals").mkdir()
        (root / "system.py").write_text("def answer(case):\n    return case.vars['answer']\n")
        rows = [
            {"id": f"c{i}", "vars": {"question": f"Question {i}?", "answer": f"Answer {i}"}}
            for i in range(args.cases)
        ]
        (root / "suites" / "cases.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        (root / "suites" / "bench.yaml").write_text(
            "name: bench\ncases_from: [cases.jsonl]\ndefaults:\n  graders:\n"
            "    - {type: llm-rubric, value: Answers the question}\n"
        )
        (root / "evals" / "plan.yaml").write_text(
            PLAN.format(concurrency=args.concurrency, url=server.anthropic_url)
        )
        reply = json.dumps({"reasoning": "ok", "pass": True, "score": 1})
        server.script({"match": "", "reply": reply})
        os.chdir(root)
        ideal = math.ceil(args.cases / args.concurrency) * args.latency_ms / 1000
        print(f"{args.cases} judged cases, judge latency {args.latency_ms:g} ms, "
              f"concurrency {args.concurrency}; ideal {ideal:.2f} s")  # fmt: skip
        for label in ("first run", "rerun"):
            before = server.request_count()
            started = time.perf_counter()
            code = invoke(["run", "--failures", "0"])
            wall = time.perf_counter() - started
            calls = server.request_count() - before
            print(f"{label}: exit {code}, {wall:.2f} s, {calls} judge requests, "
                  f"{args.cases / wall:.0f} grades/s")  # fmt: skip


if __name__ == "__main__":
    main()
