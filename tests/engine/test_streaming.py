"""A plan is a stream: its size is arithmetic, its trials are made as they run, so a
huge cases x targets x epochs product never sits in memory."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from evalkit.engine.plan import TrialPlan
from evalkit.graders.base import grader, unregister
from evalkit.records import Case, GraderConfig, TargetOutput
from tests.engine.test_runner import Collect, ScriptedTarget, engine_for


@pytest.fixture(autouse=True)
def _says_ok() -> Any:
    @grader("says-ok")
    def says_ok(output: TargetOutput, case: Case, params: Any) -> bool:
        return (output.text or "").startswith("ok")

    yield
    unregister("says-ok")


def cases(n: int) -> list[Case]:
    return [
        Case(suite="s", id=f"c{i}", vars={"q": f"q{i}"}, graders=[GraderConfig(name="says-ok")])
        for i in range(n)
    ]


def test_a_billion_trial_plan_costs_the_memory_of_its_cases() -> None:
    chosen = cases(1000)
    tracemalloc.start()
    try:
        plan = TrialPlan(chosen, [("a", None), ("b", "p")], epochs=500_000)
        assert len(plan) == 1_000_000_000
        first = [t.trial_id for _, t in zip(range(3), plan, strict=False)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first == ["s/c0@a#0", "s/c0@b[p]#0", "s/c1@a#0"]
    assert peak < 1_000_000  # bytes: a list of a billion trials would need ~100 GB


def test_resume_leaves_saved_trials_out_of_the_stream() -> None:
    plan = TrialPlan(cases(3), [("a", None)], epochs=2)
    rest = plan.remaining({"s/c0@a#0", "s/c2@a#1"})
    assert len(rest) == 4
    assert [t.trial_id for t in rest] == ["s/c1@a#0", "s/c2@a#0", "s/c0@a#1", "s/c1@a#1"]


async def test_the_engine_pulls_a_streamed_plan_lazily_and_can_stop() -> None:
    target, sink = ScriptedTarget(delay=0.001), Collect()
    engine = engine_for(target, sink, concurrency=2)
    plan = TrialPlan(cases(50), [("t", None)], epochs=1000)  # 50,000 trials

    put = sink.put

    def put_then_stop(*args: Any, **kwargs: Any) -> None:
        put(*args, **kwargs)
        if len(sink.results) == 40:
            engine.stop()

    sink.put = put_then_stop  # type: ignore[method-assign]

    tracemalloc.start()
    try:
        totals = await engine.run(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 40 <= totals.finished < 60
    assert totals.interrupted
    assert peak < 5_000_000  # a chunk of trials, not 50,000 of them
