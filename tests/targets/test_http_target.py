"""The generic http target against the fake server's /echo route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import ConfigError, TargetError
from evalkit.records import ErrorKind
from evalkit.targets.base import Target, TargetCallError
from evalkit.targets.http_provider import extract_path
from tests.fakeserver import FakeModelServer
from tests.targets.helpers import build_one, case, closed_port, workspace


def http_target(tmp_path: Path, url: str, **options: object) -> Target:
    return build_one("http", workspace(tmp_path), url=url, **options)


async def _generate(target: Target, **vars: Any) -> tuple[str | None, object]:
    try:
        output = await target.generate(target.render(case(**vars), 0))
    finally:
        await target.aclose()
    return output.text, output.data


async def test_json_body_template_escapes_values(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    tricky = 'He said "hi"\nthen left\\ {"x": 1}'
    target = http_target(
        tmp_path,
        fake_server.echo_url,
        body='{"prompt": {{ question }}, "n": {{ n }}, "tags": {{ case.tags }}}',
        output_path="json",
    )
    text, data = await _generate(target, question=tricky, n=3)
    assert data == {"prompt": tricky, "n": 3, "tags": []}
    assert text is not None and json.loads(text) == data
    assert fake_server.requests()[0]["body"] == {"prompt": tricky, "n": 3, "tags": []}


async def test_output_path_into_nested_answer(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.reply("refund", "Within 30 days.")
    target = http_target(
        tmp_path, fake_server.echo_url, body={"prompt": "{{ question }}"}, output_path="data.answer"
    )
    text, data = await _generate(target, question="refund window?")
    assert (text, data) == ("Within 30 days.", None)


async def test_header_env_interpolation(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", "tok-123")
    target = http_target(
        tmp_path,
        fake_server.echo_url,
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}", "X-Team": "evals"},
        body={"prompt": "{{ question }}"},
    )
    await _generate(target, question="q")
    headers = fake_server.requests()[0]["headers"]
    assert (headers["authorization"], headers["x-team"]) == ("Bearer tok-123", "evals")


def test_missing_header_env_var_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    # an unset variable is a configuration error naming it (requires_env: a skip instead)
    with pytest.raises(ConfigError, match=r"headers.X-Key uses \$\{NOT_SET_TOKEN\}"):
        http_target(tmp_path, "http://127.0.0.1:1", headers={"X-Key": "${NOT_SET_TOKEN}"})


async def test_status_errors_map_like_the_sdks(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.fail_next(429, retry_after=5)
    fake_server.fail_next(401)
    target = http_target(tmp_path, fake_server.echo_url, body={"prompt": "x"})
    errors = []
    try:
        for _ in range(2):
            with pytest.raises(TargetCallError) as caught:
                await target.generate(target.render(case(question="x"), 0))
            errors.append(caught.value)
    finally:
        await target.aclose()
    assert [(e.kind, e.status_code, e.retry_after) for e in errors] == [
        (ErrorKind.RATE_LIMIT, 429, 5.0),
        (ErrorKind.AUTH, 401, None),
    ]


async def test_output_path_that_misses_says_where(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    target = http_target(tmp_path, fake_server.echo_url, body={}, output_path="data.missing.x")
    with pytest.raises(TargetCallError, match=r"'data.missing' not in the response") as caught:
        await _generate(target, question="x")
    assert caught.value.kind is ErrorKind.CLIENT


async def test_quoted_expression_gives_a_hint(tmp_path: Path, fake_server: FakeModelServer) -> None:
    target = http_target(tmp_path, fake_server.echo_url, body='{"q": "{{ question }}"}')
    with pytest.raises(TargetCallError, match="without quotes") as caught:
        await _generate(target, question="x")
    assert caught.value.kind is ErrorKind.CONFIG
    assert fake_server.request_count() == 0


async def test_undefined_body_var_is_config_error(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    target = http_target(tmp_path, fake_server.echo_url, body='{"q": {{ nope }}}')
    with pytest.raises(TargetCallError, match="'nope' is undefined") as caught:
        await _generate(target, question="x")
    assert caught.value.kind is ErrorKind.CONFIG


def test_body_syntax_error_at_construction(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="template syntax error"):
        http_target(tmp_path, "http://127.0.0.1:1", body='{"q": {{ question }')


async def test_connection_refused(tmp_path: Path) -> None:
    target = http_target(tmp_path, f"http://127.0.0.1:{closed_port()}/x", body={})
    with pytest.raises(TargetCallError) as caught:
        await _generate(target, question="x")
    assert caught.value.kind is ErrorKind.CONNECTION


def test_fingerprint_is_body_not_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", "tok-123")
    target = http_target(
        tmp_path,
        "http://127.0.0.1:1/ask",
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}"},
        body={"q": "{{ question }}"},
        output_path="answer",
    )
    assert target.fingerprint(target.render(case(question="Q"), 2)) == {
        "provider": "http",
        "base_url": "http://127.0.0.1:1/ask",
        "method": "POST",
        "body": {"q": "Q"},
        "output_path": "answer",
        "epoch": 2,
    }


async def test_a_body_that_renders_to_non_json_is_not_fingerprinted(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    target = http_target(tmp_path, fake_server.echo_url, body='{"prompt": "{{ question }}"}')
    request = target.render(case(question='say "hi"'), 0)
    assert target.fingerprint(request) is None  # the error is the trial's, at generate
    with pytest.raises(TargetCallError, match="not JSON") as caught:
        await target.generate(request)
    await target.aclose()
    assert caught.value.kind is ErrorKind.CONFIG
    assert fake_server.request_count() == 0


def test_extract_path_walks_dicts_and_lists() -> None:
    document = {"choices": [{"message": {"content": "hi"}}]}
    assert extract_path(document, "choices.0.message.content") == "hi"
    assert extract_path(document, "choices.-1.message") == {"content": "hi"}
    with pytest.raises(KeyError):
        extract_path(document, "choices.1")
