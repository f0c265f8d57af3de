"""The fake model server: scripted replies, latency, failure injection, request log."""

from __future__ import annotations

import subprocess
import sys
import time

import anthropic
import httpx
import openai
import pytest

from tests.fakeserver import FakeModelServer
from tests.fakeserver.client import REPO_ROOT


def _ask_anthropic(server: FakeModelServer, text: str) -> anthropic.types.Message:
    client = anthropic.Anthropic(api_key="k", base_url=server.anthropic_url, max_retries=0)
    return client.messages.create(
        model="claude-test", max_tokens=16, messages=[{"role": "user", "content": text}]
    )


def test_first_matching_rule_wins_and_default_echoes_prompt(fake_server: FakeModelServer) -> None:
    fake_server.script(
        {"match": "capital", "reply": "Paris"},
        {"match": "", "reply": "catch-all"},
    )
    first = _ask_anthropic(fake_server, "What is the capital of France?")
    second = _ask_anthropic(fake_server, "Anything else")
    assert [first.content[0].text, second.content[0].text] == ["Paris", "catch-all"]  # type: ignore[union-attr]
    fake_server.reset()
    third = _ask_anthropic(fake_server, "hello there")
    assert third.content[0].text == "Reply to: hello there"  # type: ignore[union-attr]


def test_openai_sdk_reads_choices_and_usage(fake_server: FakeModelServer) -> None:
    fake_server.reply("ping", "pong pong")
    client = openai.OpenAI(api_key="k", base_url=fake_server.openai_url, max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "ping me now"}]
    )
    assert completion.choices[0].message.content == "pong pong"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 2)


def test_failures_are_served_in_order_then_normal_service(fake_server: FakeModelServer) -> None:
    fake_server.fail_next(429, count=2, retry_after=3)
    fake_server.fail_next(500)
    with httpx.Client(base_url=fake_server.url) as http:
        statuses = [
            http.post("/v1/messages", json={"model": "m", "messages": []}).status_code
            for _ in range(4)
        ]
        log = fake_server.requests()
    assert statuses == [429, 429, 500, 200]
    assert len(log) == 4 and fake_server.request_count() == 4


def test_rate_limit_body_is_in_anthropic_format(fake_server: FakeModelServer) -> None:
    fake_server.fail_next(429, retry_after=9)
    response = httpx.post(f"{fake_server.url}/v1/messages", json={"messages": []})
    assert response.headers["retry-after"] == "9"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_latency_is_applied(fake_server: FakeModelServer) -> None:
    fake_server.set_latency(150)
    started = time.perf_counter()
    _ask_anthropic(fake_server, "slow please")
    assert time.perf_counter() - started >= 0.15


def test_hang_outlasts_a_client_timeout(fake_server: FakeModelServer) -> None:
    fake_server.fail_next("hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{fake_server.url}/v1/chat/completions", json={"messages": []}, timeout=0.3)


def test_runs_as_its_own_process_and_prints_port_first() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--port", "0", "--latency-ms", "5"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().split()
        assert first[0] == "PORT" and int(first[1]) > 0
        health = httpx.get(f"http://127.0.0.1:{first[1]}/_control/health")
        assert health.json() == {"ok": True}
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
