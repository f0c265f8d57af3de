"""Engine benchmark: evalkit against the bare SDK loop, and raw trial throughput.

    python tests/benchmarks/bench_engine.py [--cases 5000] [--latency-ms 50] [--concurrency 32]

Prints, for an `anthropic` and an `openai` target against the local fake server:
wall time, the ideal bound ceil(N/C) x latency, the bare-loop time (the same SDK
calls under asyncio.gather + a semaphore, nothing else: the floor for any harness
built on the official SDKs), the ratios, harness CPU seconds and peak memory
(medians of --repeat alternating pairs, with every pair's ratio); and trials per
second for a `python` target at zero latency with rule graders, DuckDB writes
included. Each measurement runs in its own process so peak memory is its own.
Goals on a 2-core machine: evalkit <= 1.1x the bare loop, >= 2,000 python trials/s,
peak memory < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

SUITE_HEADER = """name: bench
cases_from: [cases.jsonl]
defaults:
  graders:
    - type: icontains
      value: "reply"
    - type: regex
      value: "[a-z]+"
    - type: length
      max: 2000
"""

PLAN = """name: bench
suites: [suites/bench.yaml]
concurrency: {concurrency}
timeout: 30
targets:
  - id: {target}
    {body}
"""

TARGET_BODIES = {
    "anthropic": "provider: anthropic\n    model: claude-haiku-4-5\n    base_url: {url}\n"
    "    max_tokens: 64\n    prompts: [{{id: p, template: '{{{{ question }}}}'}}]",
    "openai": "provider: openai\n    model: gpt-4o-mini\n    base_url: {url}/v1\n"
    "    max_tokens: 64\n    prompts: [{{id: p, template: '{{{{ question }}}}'}}]",
    "python": "provider: python\n    function: system.py:answer",
}

SYSTEM = """
def answer(case):
    return "reply to " + case.vars["question"]
"""


def make_workspace(base: Path, cases: int, target: str, url: str, concurrency: int) -> Path:
    """A workspace with one suite of `cases` cases and one plan for `target`."""
    ws = base / f"ws-{target}"
    (ws / "suites").mkdir(parents=True)
    (ws / "evals").mkdir()
    with open(ws / "suites" / "cases.jsonl", "w") as fh:
        for i in range(cases):
            fh.write(json.dumps({"id": f"q{i:05d}", "question": f"question number {i}"}) + "\n")
    (ws / "suites" / "bench.yaml").write_text(SUITE_HEADER)
    body = TARGET_BODIES[target].format(url=url)
    (ws / "evals" / "bench.yaml").write_text(
        PLAN.format(concurrency=concurrency, target=target, body=body)
    )
    (ws / "system.py").write_text(SYSTEM)
    return ws


def measure_evalkit(ws: Path, provider: str) -> dict[str, float]:
    """Run the plan through evalkit's API (no cache) and time it, imports excluded."""
    import importlib

    began = time.perf_counter()
    import evalkit
    import evalkit.api

    importlib.import_module(f"evalkit.targets.{provider}_provider")
    imports = time.perf_counter() - began
    began, cpu0 = time.perf_counter(), time.process_time()
    outcomes = evalkit.run(workspace=ws, db=ws / "bench.duckdb", cache=False)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu0
    outcome = outcomes[0]
    return {
        "wall": wall,
        "cpu": cpu,
        "imports": imports,
        "trials": outcome.totals.finished,
        "errors": outcome.totals.by_status.get("error", 0),
    }


def measure_bare(provider: str, url: str, cases: int, concurrency: int) -> dict[str, float]:
    """The same SDK calls with nothing around them (the SDK's import not timed either)."""
    import anthropic
    import openai

    async def go() -> int:
        sem = asyncio.Semaphore(concurrency)
        if provider == "anthropic":
            a_client = anthropic.AsyncAnthropic(api_key="bench", base_url=url, max_retries=0)

            async def call(i: int) -> None:
                async with sem:
                    await a_client.messages.create(
                        model="claude-haiku-4-5",
                        max_tokens=64,
                        messages=[{"role": "user", "content": f"question number {i}"}],
                    )
        else:
            o_client = openai.AsyncOpenAI(api_key="bench", base_url=url + "/v1", max_retries=0)

            async def call(i: int) -> None:
                async with sem:
                    await o_client.chat.completions.create(
                        model="gpt-4o-mini",
                        max_tokens=64,
                        messages=[{"role": "user", "content": f"question number {i}"}],
                    )

        await asyncio.gather(*(call(i) for i in range(cases)))
        return cases

    began, cpu0 = time.perf_counter(), time.process_time()
    done = asyncio.run(go())
    return {"wall": time.perf_counter() - began, "cpu": time.process_time() - cpu0, "trials": done}


def phase(args: argparse.Namespace) -> None:
    """Child process: one measurement, printed as JSON with its peak memory."""
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-key")
    os.environ.setdefault("OPENAI_API_KEY", "bench-key")
    if args.phase.startswith("bare-"):
        result = measure_bare(args.phase[5:], args.url, args.cases, args.concurrency)
    else:
        ws = make_workspace(Path(args.tmp), args.cases, args.phase, args.url, args.concurrency)
        result = measure_evalkit(ws, args.phase)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_phase(name: str, args: argparse.Namespace, url: str, tmp: str) -> dict[str, float]:
    """One measurement in a fresh process and a fresh workspace folder."""
    tmp = tempfile.mkdtemp(dir=tmp)
    cmd = [sys.executable, __file__, "--phase", name, "--url", url, "--tmp", tmp]
    cmd += ["--cases", str(args.cases), "--concurrency", str(args.concurrency)]
    if name == "python":
        cmd[cmd.index("--cases") + 1] = str(args.python_cases)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over repeated measurements."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--python-cases", type=int, default=20000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating bare/evalkit pairs; medians shown"
    )
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--tmp")
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return

    from tests.fakeserver import FakeModelServer

    ideal = math.ceil(args.cases / args.concurrency) * args.latency_ms / 1000
    print(
        f"{args.cases} cases, concurrency {args.concurrency}, latency {args.latency_ms:g} ms, "
        f"{os.cpu_count()} cores; ideal bound ceil(N/C) x latency = {ideal:.2f}s"
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeModelServer(latency_ms=args.latency_ms) as server,
    ):
        for provider in ("anthropic", "openai"):
            pairs = [
                (run_phase(f"bare-{provider}", args, server.url, tmp),
                 run_phase(provider, args, server.url, tmp))
                for _ in range(args.repeat)
            ]  # fmt: skip
            bare = median_of([b for b, _ in pairs])
            ours = median_of([o for _, o in pairs])
            spread = ", ".join(f"{o['wall'] / b['wall']:.2f}x" for b, o in pairs)
            print(
                f"{provider:9} evalkit {ours['wall']:6.2f}s (cpu {ours['cpu']:.2f}s, "
                f"imports {ours['imports']:.2f}s untimed, "
                f"peak {ours['peak_mb']:.0f} MB, errors {ours['errors']:.0f}) | bare SDK loop "
                f"{bare['wall']:6.2f}s (cpu {bare['cpu']:.2f}s, peak {bare['peak_mb']:.0f} MB) | "
                f"evalkit/bare {ours['wall'] / bare['wall']:.3f}x | bare/ideal "
                f"{bare['wall'] / ideal:.2f}x | evalkit/ideal {ours['wall'] / ideal:.2f}x "
                f"| per pair: {spread}"
            )
        py = run_phase("python", args, server.url, tmp)
        print(
            f"python    {py['trials']:.0f} trials in {py['wall']:.2f}s = "
            f"{py['trials'] / py['wall']:,.0f} trials/s (cpu {py['cpu']:.2f}s, "
            f"peak {py['peak_mb']:.0f} MB), rule graders and DuckDB writes included"
        )


if __name__ == "__main__":
    main()
