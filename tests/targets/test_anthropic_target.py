"""The anthropic target through the real SDK against the fake server."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import pytest

from evalkit.records import ErrorKind
from evalkit.targets.base import Target, TargetCallError, TargetUnavailable
from tests.fakeserver import FakeModelServer
from tests.targets.helpers import build_one, case, closed_port, workspace

MODEL = "claude-haiku-4-5-20251001"


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


def claude(tmp_path: Path, base_url: str, **options: object) -> Target:
    return build_one("anthropic", workspace(tmp_path), model=MODEL, base_url=base_url, **options)


async def test_reply_usage_cost_and_metadata(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.reply("two plus two", "Four.")
    target = claude(tmp_path, fake_server.anthropic_url)
    try:
        output = await target.generate(target.render(case(question="What is two plus two"), 0))
    finally:
        await target.aclose()
    assert output.text == "Four."
    assert output.usage is not None
    assert (output.usage.input_tokens, output.usage.output_tokens) == (5, 1)
    assert output.cost_usd == pytest.approx((5 * 1.0 + 1 * 5.0) / 1e6)
    assert output.metadata["model"] == MODEL
    assert output.metadata["stop_reason"] == "end_turn"
    assert output.metadata["response_id"].startswith("msg_")
    assert output.latency_ms > 0


async def test_sends_model_system_and_sampling(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    target = claude(
        tmp_path,
        fake_server.anthropic_url,
        system="You answer {{ case.id }}.",
        max_tokens=64,
        temperature=0,
        top_p=0.5,
        stop=["END"],
    )
    try:
        await target.generate(target.render(case("c9", question="Why?"), 0))
    finally:
        await target.aclose()
    (sent,) = fake_server.requests()
    body = sent["body"]
    assert "test-key" in sent["headers"].get("x-api-key", sent["headers"].get("authorization"))
    assert (body["model"], body["system"], body["max_tokens"]) == (MODEL, "You answer c9.", 64)
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (0, 0.5, ["END"])
    assert body["messages"] == [{"role": "user", "content": "Why?"}]


async def _failure(tmp_path: Path, server: FakeModelServer) -> TargetCallError:
    target = claude(tmp_path, server.anthropic_url)
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    return caught.value


async def test_429_is_rate_limit_with_retry_after_and_no_sdk_retry(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.fail_next(429, retry_after=7)
    error = await _failure(tmp_path, fake_server)
    assert (error.kind, error.status_code, error.retry_after) == (ErrorKind.RATE_LIMIT, 429, 7.0)
    assert error.kind.retryable
    assert "injected HTTP 429" in error.message
    assert fake_server.request_count() == 1  # the engine retries, not the SDK


async def test_retry_after_http_date(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.fail_next(429, retry_after=email.utils.formatdate(time.time() + 60, usegmt=True))
    error = await _failure(tmp_path, fake_server)
    assert error.retry_after is not None and 55 <= error.retry_after <= 60


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, ErrorKind.SERVER),
        (529, ErrorKind.SERVER),
        (400, ErrorKind.CLIENT),
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
    ],
)
async def test_status_kinds(
    tmp_path: Path, fake_server: FakeModelServer, status: int, kind: ErrorKind
) -> None:
    fake_server.fail_next(status)
    error = await _failure(tmp_path, fake_server)
    assert (error.kind, error.status_code) == (kind, status)
    assert fake_server.request_count() == 1


async def test_401_is_not_retryable(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.fail_next(401)
    error = await _failure(tmp_path, fake_server)
    assert not error.kind.retryable


async def test_connection_refused(tmp_path: Path) -> None:
    target = claude(tmp_path, f"http://127.0.0.1:{closed_port()}")
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    assert caught.value.kind is ErrorKind.CONNECTION
    assert "unreachable" in caught.value.message


def test_missing_key_makes_target_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(TargetUnavailable, match=r"^ANTHROPIC_API_KEY is not set$"):
        claude(tmp_path, "http://127.0.0.1:1")


def test_key_env_can_be_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(TargetUnavailable, match=r"^TEAM_CLAUDE_KEY is not set$"):
        claude(tmp_path, "http://127.0.0.1:1", api_key_env="TEAM_CLAUDE_KEY")


async def test_base_url_from_env(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_url)
    target = build_one("anthropic", workspace(tmp_path), model=MODEL)
    try:
        output = await target.generate(target.render(case(question="via env"), 0))
    finally:
        await target.aclose()
    assert output.text == "Reply to: via env"


def test_fingerprint_has_everything_that_decides_the_answer(tmp_path: Path) -> None:
    target = claude(tmp_path, "http://127.0.0.1:1/", temperature=0.2)
    fingerprint = target.fingerprint(target.render(case(question="Q"), 3))
    assert fingerprint == {
        "provider": "anthropic",
        "base_url": "http://127.0.0.1:1/",
        "model": MODEL,
        "system": None,
        "messages": [["user", "Q"]],
        "max_tokens": 1024,
        "temperature": 0.2,
        "epoch": 3,
    }
