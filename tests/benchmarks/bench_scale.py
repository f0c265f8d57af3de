"""Scale-out benchmark: the bare SDK loop, --workers 1, --workers 2 and --executor ray.

    python tests/benchmarks/bench_scale.py [--cases 5000] [--latency-ms 50] [--concurrency 32]
        [--repeat 3] [--cpu-cases 2000] [--cpu-ms 2] [--python-cases 20000] [--no-ray]

Prints, in one run, against the local fake server (Anthropic wire format, the real SDK):

1. an `anthropic` target at --cases trials: the bare loop of the same SDK calls
   (asyncio.gather under a semaphore, nothing else), evalkit in-process (--workers 1),
   with 2 worker processes, and on a local Ray instance; alternating, --repeat rounds,
   medians and every round's ratio to the bare loop;
2. a CPU-bound `python` target (--cpu-ms of hashing per call) at 1 and 2 workers and
   on Ray, in trials per second;
3. a zero-latency `python` target with three rule graders (trials/s, DuckDB writes
   included) at 1 and 2 workers, and the parent's peak memory with a quarter of
   --python-cases cases at 1 and at 4 epochs (flat in trials is the goal; the suite's
   own size is held fixed).

Every measurement runs in a fresh process (its own peak memory; worker processes are
not counted in it) and a fresh workspace; evalkit's import and Ray's start are timed
apart and left out of the wall time. Beside wall times it prints CPU per trial (parent
plus workers) and the fake server's CPU (it shares the cores): on a machine busy with
other work, wall times say little and CPU per trial is the figure to compare. Goals on
2 cores: 2 workers <= 0.7x the bare loop, --workers 1 <= 1.1x, >= 2,000 python
trials/s. The ideal bound ceil(N/C) x latency is printed too: when the bare loop is
already near it, no number of workers can reach 0.7x at that concurrency.
"""

from __future__ import annotations

import argparse
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(HERE)]

from bench_engine import make_workspace, measure_bare  # noqa: E402

CPU_SYSTEM = """
import hashlib, time

def answer(case):
    # about {ms} ms of pure-Python CPU, the cost of a small local model or parser
    end = time.process_time() + {ms} / 1000
    digest = case.vars["question"].encode()
    while time.process_time() < end:
        digest = hashlib.sha256(digest).digest()
    return "reply to " + case.vars["question"]
"""


def measure(ws: Path, mode: str, provider: str) -> dict[str, float]:
    """Run the workspace's plan in `mode` (w1, w2, ray); wall and CPU of this process."""
    import importlib

    began = time.perf_counter()
    import evalkit

    # the provider's SDK too: the bare loop imports it untimed as well
    importlib.import_module(f"evalkit.targets.{provider}_provider")
    importlib_s = time.perf_counter() - began
    ray_init = 0.0
    if mode == "ray":
        import ray

        began = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        ray_init = time.perf_counter() - began
    workers = {"w1": 1, "w2": 2}.get(mode)
    executor = "ray" if mode == "ray" else None
    began, cpu0 = time.perf_counter(), time.process_time()
    [outcome] = evalkit.run(
        workspace=ws, db=ws / "bench.duckdb", cache=False, workers=workers, executor=executor
    )
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "cpu": cpu,
        "children_cpu": children.ru_utime + children.ru_stime,
        "imports": importlib_s,
        "ray_init": ray_init,
        "trials": outcome.totals.finished,
        "errors": outcome.totals.by_status.get("error", 0),
    }


def phase(args: argparse.Namespace) -> None:
    """Child process: one measurement, printed as JSON with its peak memory."""
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-key")
    kind, mode = args.phase.split(":")
    if kind == "bare":
        result = measure_bare("anthropic", args.url, args.cases, args.concurrency)
    else:
        target = "anthropic" if kind == "anthropic" else "python"
        ws = make_workspace(Path(args.tmp), args.cases, target, args.url, args.concurrency)
        if kind == "cpu":
            (ws / "system.py").write_text(CPU_SYSTEM.format(ms=args.cpu_ms))
        if args.epochs > 1:
            plan = ws / "evals" / "bench.yaml"
            plan.write_text(plan.read_text() + f"epochs: {args.epochs}\n")
        result = measure(ws, mode, target)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(
    name: str,
    cases: int,
    args: argparse.Namespace,
    url: str,
    epochs: int = 1,
    server_pid: int | None = None,
) -> dict[str, float]:
    """One measurement in a fresh process and a fresh workspace folder; with
    `server_pid`, the fake server's CPU during it too (it shares the cores)."""
    tmp = tempfile.mkdtemp(dir=args.tmp)
    concurrency = args.concurrency if name.split(":")[0] in ("bare", "anthropic") else 64
    cmd = [sys.executable, __file__, "--phase", name, "--url", url, "--tmp", tmp]
    cmd += ["--cases", str(cases), "--concurrency", str(concurrency)]
    cmd += ["--cpu-ms", str(args.cpu_ms), "--epochs", str(epochs)]
    server0 = process_cpu(server_pid) if server_pid else 0.0
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["server_cpu"] = process_cpu(server_pid) - server0 if server_pid else 0.0
    result["ms_per_trial"] = 1000 * (result["cpu"] + result.get("children_cpu", 0.0)) / cases
    return result


def med(runs: list[dict[str, float]], key: str) -> float:
    """The median of one figure over repeated measurements."""
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu-cases", type=int, default=2000)
    parser.add_argument("--cpu-ms", type=float, default=2.0)
    parser.add_argument("--python-cases", type=int, default=20000)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--phase")
    parser.add_argument("--url")
    parser.add_argument("--tmp")
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return

    from tests.fakeserver import FakeModelServer

    modes = ["w1", "w2"] + ([] if args.no_ray else ["ray"])
    ideal = math.ceil(args.cases / args.concurrency) * args.latency_ms / 1000
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; "
        f"anthropic: {args.cases} trials, latency {args.latency_ms:g} ms, concurrency "
        f"{args.concurrency} (ideal ceil(N/C) x latency = {ideal:.2f}s); medians of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp, FakeModelServer(latency_ms=args.latency_ms) as srv:
        args.tmp = tmp
        pid = srv.pid
        rounds: list[dict[str, dict[str, float]]] = []
        for _ in range(args.repeat):  # alternating: every mode once per round
            got = {"bare": run_phase("bare:-", args.cases, args, srv.url, server_pid=pid)}
            for mode in modes:
                name = f"anthropic:{mode}"
                got[mode] = run_phase(name, args.cases, args, srv.url, server_pid=pid)
            rounds.append(got)
        bares = [r["bare"] for r in rounds]
        bare = med(bares, "wall")
        print(
            f"  bare SDK loop     {bare:6.2f}s  (cpu {med(bares, 'cpu'):.2f}s = "
            f"{med(bares, 'ms_per_trial'):.2f} ms/trial; fake server cpu "
            f"{med(bares, 'server_cpu'):.2f}s; {bare / ideal:.2f}x the ideal)"
        )
        for mode in modes:
            runs = [r[mode] for r in rounds]
            ratios = ", ".join(f"{r[mode]['wall'] / r['bare']['wall']:.2f}x" for r in rounds)
            extra = f", ray.init {med(runs, 'ray_init'):.1f}s untimed" if mode == "ray" else ""
            print(
                f"  evalkit {mode:9} {med(runs, 'wall'):6.2f}s  {med(runs, 'wall') / bare:.2f}x "
                f"bare (per round: {ratios}); cpu parent {med(runs, 'cpu'):.2f}s + workers "
                f"{med(runs, 'children_cpu'):.2f}s = {med(runs, 'ms_per_trial'):.2f} ms/trial "
                f"(bare {med(bares, 'ms_per_trial'):.2f}); fake server cpu "
                f"{med(runs, 'server_cpu'):.2f}s; parent peak {med(runs, 'peak_mb'):.0f} MB, "
                f"errors {med(runs, 'errors'):.0f}{extra}"
            )
        print(
            f"  (the ideal bound is {ideal / bare:.2f}x this bare loop: no run at concurrency "
            f"{args.concurrency} can go below it, whatever the number of workers)"
        )
        print(f"python target, {args.cpu_ms:g} ms CPU per call, {args.cpu_cases} trials:")
        for mode in modes:
            r = run_phase(f"cpu:{mode}", args.cpu_cases, args, srv.url)
            print(
                f"  {mode:4} {r['trials'] / r['wall']:8,.0f} trials/s  ({r['wall']:.2f}s, "
                f"{r['ms_per_trial']:.2f} ms cpu/trial, parent peak {r['peak_mb']:.0f} MB)"
            )
        print(
            f"python target, zero latency, 3 rule graders, DuckDB writes included; "
            f"{args.python_cases // 4} cases x 1 and x 4 epochs (parent memory flat in trials?):"
        )
        for mode in ("w1", "w2"):
            for epochs in (1, 4):
                r = run_phase(f"python:{mode}", args.python_cases // 4, args, srv.url, epochs)
                print(
                    f"  {mode:4} {r['trials']:6.0f} trials {r['trials'] / r['wall']:8,.0f} "
                    f"trials/s ({r['wall']:.2f}s, parent cpu {r['cpu']:.2f}s, workers cpu "
                    f"{r['children_cpu']:.2f}s, parent peak {r['peak_mb']:.0f} MB)"
                )


if __name__ == "__main__":
    main()
