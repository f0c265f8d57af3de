"""A results database holding one run of long outputs and long grade reasons, written
through the store's own writer (fast: no target, no grader), for the bounded-report tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from evalkit.records import Case, Grade, GraderConfig, Status, TargetOutput, TrialResult
from evalkit.store.db import Store
from evalkit.store.runs import RunInfo, RunTarget

RUN = "20261206T000000-bound0"


def build(
    path: Path,
    trials: int,
    output_of: Callable[[int], str],
    reason_chars: int,
    open_store: Callable[[Path], Store] = Store.open,
    before_close: Callable[[Store], None] = lambda _store: None,
) -> Path:
    """One run of `trials` failing trials: trial i answers `output_of(i)`, and its one
    grade's reason is `why{i:05d} ` and `reason_chars` x's. `open_store`: how the
    database is opened for writing; `before_close` sees it once the run is written."""
    cases = [
        Case(
            suite="s",
            id=f"c{i:05d}",
            vars={"q": f"question {i}"},
            expected="short",
            graders=[GraderConfig(name="length")],
            content_hash=f"sha256:c{i}",
        )
        for i in range(trials)
    ]
    info = RunInfo(
        run_id=RUN, plan="p", plan_path="evals/p.yaml",
        started_at=datetime(2026, 12, 6, tzinfo=UTC),
        git_sha=None, git_branch=None, git_dirty=False, config_hash="sha256:p", suite_hashes={},
        evalkit_version="test", labels={}, created_by="test", hostname="test", command="test",
        settings={}, trials_planned=trials,
    )  # fmt: skip
    with open_store(path) as store:
        store.start_run(info, [RunTarget("t", None, "python", {}, "sha256:t")], cases)
        writer = store.writer(RUN, flush_rows=500)
        for i, case in enumerate(cases):
            reason = f"why{i:05d} " + "x" * reason_chars
            writer.put(
                TrialResult(
                    run_id=RUN, trial_id=f"s/{case.id}@t#0", case=case, target_id="t",
                    prompt_id=None, epoch=0, output=TargetOutput(text=output_of(i), latency_ms=1.0),
                    grades=[Grade("length", "length", Status.FAIL, 0.0, False, reason)],
                    status=Status.FAIL, score=0.0, started_at=0.0, finished_at=1.0,
                )
            )  # fmt: skip
        writer.close()
        store.finish_run(RUN, "completed", {})
        before_close(store)
    return path
