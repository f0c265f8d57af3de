"""Point 4 of issue 6: rate limits, client errors and hangs, through the fake server."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import pytest

from evalkit.engine.concurrency import AdaptiveLimiter
from evalkit.engine.plan import trial_id
from evalkit.engine.runner import Engine
from evalkit.records import ErrorKind, Status, Trial, TrialResult
from evalkit.targets.limits import TargetLimits
from evalkit.targets.retry import RetryPolicy
from tests.fakeserver import FakeModelServer
from tests.targets.helpers import build_one, case, workspace


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


class Sink:
    def __init__(self) -> None:
        self.results: list[TrialResult] = []

    def put(
        self, result: TrialResult, cache_key: str | None = None, provider: str | None = None
    ) -> None:
        self.results.append(result)


async def run_engine(
    tmp_path: Path,
    server: FakeModelServer,
    trials: int,
    *,
    concurrency: int = 4,
    attempt_timeout: float = 10.0,
    retries: int = 4,
) -> tuple[Engine, list[TrialResult]]:
    target = build_one(
        "openai", workspace(tmp_path), model="gpt-4o-mini", base_url=server.openai_url
    )
    cases = [case(f"c{i}", question=f"question {i}") for i in range(trials)]
    sink = Sink()
    engine = Engine(
        run_id="r",
        targets={(target.id, None): target},
        limits={
            target.id: TargetLimits(
                concurrency, attempt_timeout, RetryPolicy(retries=retries, base=0.01)
            )
        },
        sink=sink,
    )
    try:
        await engine.run(
            [Trial(trial_id(c, target.id, None, 0), c, target.id, None, 0) for c in cases]
        )
    finally:
        await target.aclose()
    return engine, sink.results


async def test_retry_after_is_honoured(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.fail_next(429, retry_after=1)
    _, (result,) = await run_engine(tmp_path, fake_server, 1)
    first, second = fake_server.requests()
    assert result.output.error is None
    assert result.output.attempts == 2
    # the retry came no sooner than the server asked (a lower bound, not a speed claim)
    assert second["at"] - first["at"] >= 1.0


async def test_a_storm_of_429s_halves_the_in_flight_limit_then_it_grows_back(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.set_latency(20)
    fake_server.fail_next(429, count=24, retry_after=0)
    engine, results = await run_engine(tmp_path, fake_server, 200, concurrency=8, retries=20)
    limiter = engine.limiters["t"]
    assert limiter.decreases >= 3 and limiter.lowest <= 2  # 8 -> 4 -> 2 (-> 1)
    assert limiter.limit > limiter.lowest  # 176 calls that followed let it grow back
    assert len(results) == 200 and all(r.output.error is None for r in results)
    assert fake_server.request_count() == 200 + 24  # every 429 retried once, nothing more


async def test_in_flight_calls_never_exceed_the_lowered_limit() -> None:
    limiter = AdaptiveLimiter(8)
    limiter.rate_limited()
    limiter.rate_limited()
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(call() for _ in range(50)))
    assert limiter.limit <= 2 + 50  # grew back by at most one per `limit` successes
    assert peak <= 2 + 1  # the limit was 2 and rose to 3 at most while these ran


async def test_the_limiter_does_not_grow_memory_under_a_long_storm() -> None:
    limiter = AdaptiveLimiter(16)
    tracemalloc.start()
    try:
        for _ in range(1000):  # warm up
            async with limiter.slot():
                limiter.rate_limited()
            await limiter.succeeded()
        before, _ = tracemalloc.get_traced_memory()
        for i in range(50_000):
            async with limiter.slot():
                if i % 3 == 0:
                    limiter.rate_limited()
            await limiter.succeeded()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 16_384


@pytest.mark.parametrize(("status", "kind"), [(400, ErrorKind.CLIENT), (401, ErrorKind.AUTH)])
async def test_400_and_401_are_never_retried(
    tmp_path: Path, fake_server: FakeModelServer, status: int, kind: ErrorKind
) -> None:
    fake_server.fail_next(status, count=5)
    _, (result,) = await run_engine(tmp_path, fake_server, 1, retries=4)
    assert result.status is Status.ERROR
    assert result.output.error is not None and result.output.error.kind is kind
    assert result.output.attempts == 1 and fake_server.request_count() == 1


async def test_a_hanging_connection_is_recorded_as_timeout(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.fail_next("hang", count=1)
    _, results = await run_engine(tmp_path, fake_server, 3, attempt_timeout=1.0, retries=0)
    by_id = {r.case.id: r for r in results}
    hung = [r for r in results if r.output.error is not None]
    assert len(by_id) == 3 and len(hung) == 1
    assert hung[0].output.error is not None and hung[0].output.error.kind is ErrorKind.TIMEOUT
    assert "no answer within 1s" in hung[0].output.error.message
