"""Real records for store tests, built directly from evalkit.records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evalkit.records import (
    Case,
    ErrorKind,
    Grade,
    GraderConfig,
    Status,
    TargetFailure,
    TargetOutput,
    TrialResult,
    Usage,
)
from evalkit.store.db import Store
from evalkit.store.runs import RunInfo, RunTarget


def case(suite: str = "refunds", case_id: str = "c1", **fields: object) -> Case:
    """A case with a content hash derived from its id (stable across calls)."""
    made = Case(
        suite=suite,
        id=case_id,
        vars={"question": f"what about {case_id}?"},
        expected="yes",
        tags=["smoke"],
        graders=[GraderConfig(name="contains", value="yes")],
        content_hash=f"sha256:{suite}-{case_id}",
        location=f"suites/{suite}.yaml:1:1",
    )
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def grade(metric: str, status: Status, reason: str = "") -> Grade:
    """One grade; score follows the status."""
    score = {Status.PASS: 1.0, Status.FAIL: 0.0}.get(status)
    passed = {Status.PASS: True, Status.FAIL: False}.get(status)
    return Grade(metric, metric, status, score, passed, reason)


def result(
    run_id: str,
    the_case: Case,
    *,
    target: str = "model-a",
    prompt: str | None = None,
    epoch: int = 0,
    status: Status = Status.PASS,
    text: str | None = "yes",
    latency_ms: float = 100.0,
    cost_usd: float | None = 0.001,
    tokens: tuple[int, int] = (10, 5),
    error: TargetFailure | None = None,
    cached: bool = False,
    grades: list[Grade] | None = None,
    score: float | None = None,
) -> TrialResult:
    """A finished trial with sensible defaults for whatever a test does not care about."""
    if grades is None:
        grades = [] if status in (Status.ERROR, Status.SKIPPED) else [grade("contains", status)]
    if score is None:
        score = {Status.PASS: 1.0, Status.FAIL: 0.0}.get(status)
    output = TargetOutput(
        text=None if error else text,
        usage=Usage(*tokens),
        latency_ms=latency_ms,
        cost_usd=cost_usd,
        metadata={"model": "m-1", "note": "naïve ✓"},
        error=error,
        cached=cached,
    )
    name = f"{target}[{prompt}]" if prompt else target
    return TrialResult(
        run_id=run_id,
        trial_id=f"{the_case.suite}/{the_case.id}@{name}#{epoch}",
        case=the_case,
        target_id=target,
        prompt_id=prompt,
        epoch=epoch,
        output=output,
        grades=grades,
        status=status,
        score=score,
        started_at=1_790_000_000.0,
        finished_at=1_790_000_001.5,
    )


def timeout() -> TargetFailure:
    """A target failure as the engine records a timeout."""
    return TargetFailure(ErrorKind.TIMEOUT, "no answer within 30s (attempt 3)")


def run_info(run_id: str, *, plan: str = "demo", started: datetime | None = None) -> RunInfo:
    """Run provenance as session.py records it."""
    return RunInfo(
        run_id=run_id,
        plan=plan,
        plan_path="evals/demo.yaml",
        started_at=started or datetime(2026, 11, 27, 5, 15, 2, tzinfo=UTC),
        git_sha="abc123",
        git_branch="main",
        git_dirty=False,
        config_hash="sha256:plan",
        suite_hashes={"refunds": "sha256:suite"},
        evalkit_version="0.1.0",
        labels={"branch": "main"},
        created_by="tester",
        hostname="ci-1",
        command="evalkit run",
        settings={"epochs": 1},
        trials_planned=0,
    )


def start(
    store: Store, run_id: str, cases: list[Case], *, plan: str = "demo",
    started: datetime | None = None,
) -> None:  # fmt: skip
    """Record a run with one target so results can be written against it."""
    targets = [RunTarget("model-a", None, "python", {"model": "m-1"}, "sha256:t", None)]
    store.start_run(run_info(run_id, plan=plan, started=started), targets, cases)


def open_store(tmp_path: Path) -> Store:
    """A fresh writable store under the test's temporary folder."""
    return Store.open(tmp_path / "evalkit.duckdb")
