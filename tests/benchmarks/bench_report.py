"""Report benchmark: render a 10,000-trial run and time it in headless Chromium.

    python tests/benchmarks/bench_report.py [--trials 10000] [--repeat 3]

Prints the render time (store -> HTML file), the file size, and in the browser (median
of --repeat fresh tabs): time from navigation until the first page of trials is drawn
(the page is usable), until the load event, and how long a search and a status filter
take to redraw. Goal: usable within 2 s at 10,000 trials on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from evalkit.records import (  # noqa: E402  (after the path setup)
    Case,
    Grade,
    GraderConfig,
    Status,
    TargetOutput,
    TrialResult,
    Usage,
)
from evalkit.store.db import Store  # noqa: E402
from evalkit.store.runs import RunInfo, RunTarget  # noqa: E402

WORDS = [
    "refund", "policy", "customer", "order", "shipping", "days", "account", "password",
    "reset", "ticket", "laptop", "network", "printer", "access", "manager", "approval",
    "within", "business", "hours", "please", "contact",
]  # fmt: skip


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build_store(path: Path, trials: int = 10_000, seed: int = 7) -> Path:
    """A results database holding one run of `trials` realistic trials (2 targets)."""
    rng = random.Random(seed)
    targets = ["model-a", "model-b"]
    n_cases = max(trials // len(targets), 1)
    cases = [
        Case(
            suite=f"suite-{i % 5}",
            id=f"case-{i:05d}",
            vars={"question": _sentence(rng, 14)},
            expected=_sentence(rng, 8),
            tags=[rng.choice(["policy", "smoke", "billing", "it"])],
            graders=[GraderConfig(name="icontains"), GraderConfig(name="length")],
            content_hash=f"sha256:bench-{i}",
        )
        for i in range(n_cases)
    ]
    run_id = "20261127T000000-bench0"
    started = datetime(2026, 11, 27, tzinfo=UTC)
    info = RunInfo(
        run_id=run_id, plan="bench", plan_path="evals/bench.yaml", started_at=started,
        git_sha="0" * 40, git_branch="main", git_dirty=False, config_hash="sha256:plan",
        suite_hashes={}, evalkit_version="bench", labels={}, created_by="bench",
        hostname="bench", command="bench", settings={}, trials_planned=trials,
    )  # fmt: skip
    with Store.open(path) as store:
        store.start_run(
            info,
            [RunTarget(t, None, "python", {}, f"sha256:{t}") for t in targets],
            cases,
        )
        writer = store.writer(run_id, flush_rows=2000)
        made = 0
        for case in cases:
            for target in targets:
                if made == trials:
                    break
                made += 1
                passed = rng.random() < 0.8
                status = Status.PASS if passed else Status.FAIL
                reason = "found" if passed else f"'{case.expected}' not found in output"
                writer.put(
                    TrialResult(
                        run_id=run_id,
                        trial_id=f"{case.suite}/{case.id}@{target}#0",
                        case=case,
                        target_id=target,
                        prompt_id=None,
                        epoch=0,
                        output=TargetOutput(
                            text=_sentence(rng, rng.randint(30, 120)),
                            usage=Usage(200, 90),
                            latency_ms=rng.uniform(200, 2000),
                            cost_usd=0.0004,
                        ),
                        grades=[
                            Grade("icontains", "icontains", status, float(passed), passed, reason),
                            Grade("length", "length", Status.PASS, 1.0, True, "120 words"),
                        ],
                        status=status,
                        score=0.5 + 0.5 * passed,
                        started_at=(started + timedelta(seconds=made)).timestamp(),
                        finished_at=(started + timedelta(seconds=made + 1)).timestamp(),
                    )
                )
        writer.close()
        store.finish_run(run_id, "completed", {})
    return path


def _browser_timings(page_path: Path, repeat: int) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    from tests.reports.conftest import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    if executable is None:
        raise SystemExit("no chromium binary: apt-get install chromium")
    samples: dict[str, list[float]] = {"usable": [], "load": [], "search": [], "filter": []}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            tab = browser.new_page()
            start = time.perf_counter()
            tab.goto(page_path.as_uri(), wait_until="commit")
            tab.wait_for_selector("body[data-ready=true]", timeout=60_000)
            samples["usable"].append(time.perf_counter() - start)
            tab.wait_for_load_state("load")
            samples["load"].append(time.perf_counter() - start)
            start = time.perf_counter()
            tab.fill("#q", "refund policy")
            expect(tab.locator("#count")).to_contain_text("of")
            samples["search"].append(time.perf_counter() - start - 0.15)  # minus the debounce
            tab.fill("#q", "")
            expect(tab.locator("#count")).not_to_contain_text("of")
            start = time.perf_counter()
            tab.select_option("#f-status", "fail")
            expect(tab.locator("#count")).to_contain_text("of")
            samples["filter"].append(time.perf_counter() - start)
            tab.close()
        browser.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    """Build, render and time; print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from evalkit.reports.html.run_page import render_run_report

    with tempfile.TemporaryDirectory() as folder:
        db = build_store(Path(folder) / "bench.duckdb", args.trials)
        out = Path(folder) / "report.html"
        with Store.open(db, read_only=True) as store:
            start = time.perf_counter()
            render_run_report(store.con, "20261127T000000-bench0", out, None)
            render = time.perf_counter() - start
        size = out.stat().st_size
        timings = _browser_timings(out, args.repeat)
    print(f"trials: {args.trials:,}")
    print(f"render (store -> HTML): {render:.2f} s, file {size / 1e6:.1f} MB")
    print(f"browser, median of {args.repeat}:")
    print(f"  usable (first page of trials drawn): {timings['usable']:.2f} s  (goal < 2 s)")
    print(f"  load event:                          {timings['load']:.2f} s")
    print(f"  search redraw:                       {timings['search'] * 1000:.0f} ms")
    print(f"  status filter redraw:                {timings['filter'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
