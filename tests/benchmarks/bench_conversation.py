"""Conversation and tool-loop benchmark: what the driver costs, and what the cache saves.

    python tests/benchmarks/bench_conversation.py [--cases 500] [--latency-ms 50]

Prints, each run in a fresh workspace through the real CLI (DuckDB writes included):
- a `python` target: one-shot cases vs 3-turn cases (trials/s and steps/s), the cost of
  the conversation driver per model call;
- an `anthropic` target with one workspace tool, against the fake server at the given
  latency: the tool loop's wall time against its ideal bound (2 calls per case,
  ceil(N/C) x 2 x latency), then a rerun: model calls made and wall time, all from the
  response cache.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.fakeserver import FakeModelServer  # noqa: E402

AGENT = """\
def reply(case, request):
    return "noted: " + request.prompt
"""
TOOLS = """\
def lookup(ticket_id):
    return {"id": ticket_id, "status": "open"}
"""


def _workspace(root: Path, cases: list[dict[str, object]], target: str) -> None:
    (root / "suites").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "agent.py").write_text(AGENT)
    (root / "tools.py").write_text(TOOLS)
    suite = {"name": "bench", "cases": cases}
    (root / "suites" / "bench.yaml").write_text(json.dumps(suite))
    plan = f"name: bench\nsuites: [suites/bench.yaml]\nconcurrency: 32\ntargets:\n{target}"
    (root / "evals" / "plan.yaml").write_text(plan)


def _run(root: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "run"], cwd=root, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"evalkit run failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def _steps(root: Path) -> int:
    import duckdb

    con = duckdb.connect(str(root / ".evalkit" / "evalkit.duckdb"), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM steps").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    n = args.cases
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    grader = [{"type": "icontains", "value": "noted"}]
    python_target = "  - {id: py, provider: python, function: 'agent.py:reply'}\n"
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one-shot"
        _workspace(one, [{"id": f"c{i}", "vars": {"input": f"q{i}"}, "graders": grader}
                         for i in range(n)], python_target)  # fmt: skip
        t_one = _run(one, env)
        three = Path(tmp) / "three-turns"
        turns = [{"content": f"t{k}", "graders": grader} for k in range(3)]
        _workspace(three, [{"id": f"c{i}", "turns": turns} for i in range(n)], python_target)
        t_three = _run(three, env)
        steps = _steps(three)
        print(f"python target, {n} cases (wall time of `evalkit run`, process start included)")
        print(f"  one-shot: {t_one:.2f}s ({n / t_one:,.0f} trials/s)")
        print(
            f"  3 turns:  {t_three:.2f}s ({n / t_three:,.0f} trials/s, {steps:,} steps stored, "
            f"{steps / t_three:,.0f} steps/s); extra per model call: "
            f"{(t_three - t_one) / (2 * n) * 1000:.2f} ms"
        )
        with FakeModelServer(latency_ms=args.latency_ms) as server:
            tool = {
                "name": "lookup", "description": "look up a ticket",
                "parameters": {"type": "object", "properties": {"ticket_id": {"type": "string"}}},
                "function": "tools.py:lookup",
            }  # fmt: skip
            target = (
                f"  - {{id: claude, provider: anthropic, model: m, base_url: '{server.url}', "
                f"tools: [{json.dumps(tool)}]}}\n"
            )
            plain = Path(tmp) / "one-call"
            no_tools = (
                f"  - {{id: claude, provider: anthropic, model: m, base_url: '{server.url}'}}\n"
            )
            _workspace(plain, [{"id": f"c{i}", "vars": {"input": f"q{i}"}, "graders": grader}
                               for i in range(n)], no_tools)  # fmt: skip
            keyed = {**env, "ANTHROPIC_API_KEY": "bench"}
            t_plain = _run(plain, keyed)
            loop = Path(tmp) / "tool-loop"
            _workspace(loop, [{"id": f"c{i}", "vars": {"input": f"q{i}"}, "graders": grader}
                              for i in range(n)], target)  # fmt: skip
            server.reset()
            server.script(
                {
                    "match": "",
                    "steps": [
                        {"tool_calls": [{"name": "lookup", "arguments": {"ticket_id": "T-1"}}]},
                        {"text": "noted: it is open"},
                    ],
                }
            )
            t_loop = _run(loop, keyed)
            calls = server.request_count()
            ideal = math.ceil(n / 32) * 2 * args.latency_ms / 1000
            server.reset()
            server.script({"match": "", "steps": [{"text": "should not be asked"}]})
            t_again = _run(loop, keyed)
            again = server.request_count()
        print(
            f"anthropic tool loop, {n} cases x (tool call + answer), "
            f"{args.latency_ms:g} ms per call"
        )
        print(f"  one call per case, no tools (for scale): {t_plain:.2f}s")
        print(f"  first run: {t_loop:.2f}s, {calls} model calls (ideal bound {ideal:.2f}s)")
        print(f"  rerun:     {t_again:.2f}s, {again} model calls (every call from the cache)")


if __name__ == "__main__":
    main()
