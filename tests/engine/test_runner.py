"""The engine: concurrency, timeouts, retries, cache, stopping — against small real targets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from evalkit.engine.plan import trial_id
from evalkit.engine.runner import Engine
from evalkit.graders.base import grader, unregister
from evalkit.records import (
    Case,
    ErrorKind,
    GraderConfig,
    Status,
    TargetOutput,
    TargetRequest,
    Trial,
    TrialResult,
)
from evalkit.targets.base import TargetCallError
from evalkit.targets.limits import TargetLimits, request_hash
from evalkit.targets.retry import RetryPolicy


@pytest.fixture(autouse=True)
def _says_ok() -> Any:
    @grader("says-ok")
    def says_ok(output: TargetOutput, case: Case, params: Any) -> bool:
        return (output.text or "").startswith("ok")

    yield
    unregister("says-ok")


@dataclass
class ScriptedTarget:
    """A target whose behaviour per call is scripted: a list of exceptions or delays."""

    id: str = "t"
    prompt_id: str | None = None
    provider: ClassVar[str] = "scripted"
    failures: list[TargetCallError] = field(default_factory=list)
    delay: float = 0.0
    cacheable: bool = False
    calls: int = 0
    in_flight: int = 0
    peak: int = 0

    def render(self, case: Case, epoch: int) -> TargetRequest:
        return TargetRequest(case=case, epoch=epoch, prompt=str(case.vars.get("q", "")))

    def fingerprint(self, request: TargetRequest) -> dict[str, Any] | None:
        if not self.cacheable:
            return None
        return {"provider": "scripted", "prompt": request.prompt, "epoch": request.epoch}

    async def generate(self, request: TargetRequest) -> TargetOutput:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failures:
                raise self.failures.pop(0)
            return TargetOutput(text=f"ok {request.prompt}", cost_usd=0.01)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None


class Collect:
    def __init__(self) -> None:
        self.results: list[TrialResult] = []
        self.keys: list[str | None] = []

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None:
        self.results.append(result)
        self.keys.append(cache_key)


def make_trials(n: int, target: str = "t", epochs: int = 1) -> list[Trial]:
    cases = [
        Case(suite="s", id=f"c{i}", vars={"q": f"q{i}"}, graders=[GraderConfig(name="says-ok")])
        for i in range(n)
    ]
    return [
        Trial(trial_id(c, target, None, e), c, target, None, e)
        for e in range(epochs)
        for c in cases
    ]


def engine_for(target: ScriptedTarget, sink: Collect, **limits: Any) -> Engine:
    settings = {"concurrency": 4, "timeout": 5.0, "retry": RetryPolicy(retries=3, base=0.01)}
    settings.update(limits)
    return Engine(
        run_id="r1",
        targets={(target.id, target.prompt_id): target},
        limits={target.id: TargetLimits(**settings)},
        sink=sink,
    )


async def test_every_trial_is_run_graded_and_handed_on() -> None:
    target, sink = ScriptedTarget(), Collect()
    totals = await engine_for(target, sink).run(make_trials(10, epochs=2))
    assert totals.finished == 20 and totals.by_status == {"pass": 20}
    assert len({r.trial_id for r in sink.results}) == 20
    assert all(r.grades[0].status == Status.PASS and r.score == 1.0 for r in sink.results)


async def test_concurrency_limit_holds() -> None:
    target, sink = ScriptedTarget(delay=0.02), Collect()
    await engine_for(target, sink, concurrency=3).run(make_trials(12))
    assert target.peak == 3


async def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    target = ScriptedTarget(
        failures=[TargetCallError(ErrorKind.RATE_LIMIT, "429", retry_after=0.3)]
    )
    sink = Collect()
    began = time.perf_counter()
    await engine_for(target, sink, concurrency=1).run(make_trials(1))
    assert time.perf_counter() - began >= 0.3
    assert sink.results[0].status == Status.PASS
    assert sink.results[0].output.attempts == 2


@pytest.mark.parametrize("kind", [ErrorKind.CLIENT, ErrorKind.AUTH])
async def test_client_and_auth_errors_are_never_retried(kind: ErrorKind) -> None:
    target = ScriptedTarget(failures=[TargetCallError(kind, "no", status_code=400)])
    sink = Collect()
    await engine_for(target, sink).run(make_trials(1))
    result = sink.results[0]
    assert target.calls == 1
    assert result.status == Status.ERROR and result.output.error is not None
    assert result.output.error.kind == kind and result.grades == []


async def test_retries_stop_after_the_policy_limit() -> None:
    failures = [TargetCallError(ErrorKind.SERVER, "500") for _ in range(10)]
    target, sink = ScriptedTarget(failures=failures), Collect()
    await engine_for(target, sink, retry=RetryPolicy(retries=2, base=0.001)).run(make_trials(1))
    assert target.calls == 3
    assert sink.results[0].output.error is not None
    assert sink.results[0].output.error.kind == ErrorKind.SERVER


async def test_a_hanging_call_hits_the_wall_clock_timeout() -> None:
    target, sink = ScriptedTarget(delay=30), Collect()
    began = time.perf_counter()
    await engine_for(target, sink, timeout=0.2).run(make_trials(1))
    assert time.perf_counter() - began < 2
    error = sink.results[0].output.error
    assert error is not None and error.kind == ErrorKind.TIMEOUT


async def test_cache_hits_skip_the_target_and_cost_nothing() -> None:
    target, sink = ScriptedTarget(cacheable=True), Collect()
    trials = make_trials(3)
    key = request_hash({"provider": "scripted", "prompt": "q1", "epoch": 0})
    hit = TargetOutput(text="ok from cache", cost_usd=0.5)

    def lookup(keys: Any) -> dict[str, TargetOutput]:
        return {k: hit for k in keys if k == key}

    engine = engine_for(target, sink)
    engine.cache_lookup = lookup
    totals = await engine.run(trials)
    assert target.calls == 2 and totals.cache_hits == 1
    cached = next(r for r in sink.results if r.case.id == "c1")
    assert cached.output.cached and cached.output.cost_usd == 0.0
    assert cached.output.text == "ok from cache" and cached.request_hash == key
    assert all(k is not None for k in sink.keys)  # the writer stores misses in the cache


async def test_stop_lets_in_flight_trials_finish_and_starts_no_more() -> None:
    target, sink = ScriptedTarget(delay=0.05), Collect()
    engine = engine_for(target, sink, concurrency=2)

    async def stop_soon() -> None:
        await asyncio.sleep(0.07)
        engine.stop()

    totals, _ = await asyncio.gather(engine.run(make_trials(20)), stop_soon())
    assert totals.interrupted
    assert 2 <= totals.finished < 20
    assert target.calls == totals.finished  # nothing started was dropped


async def test_a_template_error_is_a_config_error_not_a_crash() -> None:
    class Broken(ScriptedTarget):
        def render(self, case: Case, epoch: int) -> TargetRequest:
            raise TargetCallError(ErrorKind.CONFIG, "'question' is undefined")

    target, sink = Broken(), Collect()
    await engine_for(target, sink).run(make_trials(2))
    assert target.calls == 0
    assert {r.output.error.kind for r in sink.results if r.output.error} == {ErrorKind.CONFIG}
