"""A canary secret in an API key or header never shows up anywhere we keep or print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import TargetError
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetCallError
from tests.fakeserver import FakeModelServer
from tests.targets.helpers import build_one, case, closed_port, target_spec, workspace

CANARY = "sk-canary-5f1e2d3c4b5a69788796a5b4c3d2e1f0"


async def _everything_visible(target: Target, server: FakeModelServer) -> str:
    """Fingerprint, output, metadata and error messages of a good and failing calls."""
    request = target.render(case(question="hello"), 0)
    seen = [json.dumps(target.fingerprint(request)), repr(target.__dict__.get("id"))]
    output = await target.generate(request)
    seen += [repr(output), json.dumps(output.metadata, default=str)]
    for status in (401, 429, 500, 400):
        server.fail_next(status)
        with pytest.raises(TargetCallError) as caught:
            await target.generate(request)
        seen += [str(caught.value), caught.value.message]
    return "\n".join(seen)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_api_key_canary(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    url = fake_server.anthropic_url if provider == "anthropic" else fake_server.openai_url
    target = build_one(provider, workspace(tmp_path), model="claude-haiku-4-5", base_url=url)
    try:
        seen = await _everything_visible(target, fake_server)
    finally:
        await target.aclose()
    assert CANARY in json.dumps(fake_server.requests()[0]["headers"])  # it was really sent
    assert CANARY not in seen


async def test_header_canary(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", CANARY)
    target = build_one(
        "http",
        workspace(tmp_path),
        url=fake_server.echo_url,
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}"},
        body={"prompt": "{{ question }}"},
        output_path="data.answer",
    )
    try:
        seen = await _everything_visible(target, fake_server)
    finally:
        await target.aclose()
    assert fake_server.requests()[0]["headers"]["authorization"] == f"Bearer {CANARY}"
    assert CANARY not in seen


async def test_connection_error_does_not_carry_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    target = build_one(
        "anthropic", workspace(tmp_path), model="m", base_url=f"http://127.0.0.1:{closed_port()}"
    )
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="x"), 0))
    finally:
        await target.aclose()
    assert CANARY not in str(caught.value)


def test_option_errors_do_not_echo_values(tmp_path: Path) -> None:
    spec = target_spec("http", url="http://x", headers={"Authorization": ["Bearer " + CANARY]})
    with pytest.raises(TargetError) as caught:
        build_targets(spec, workspace(tmp_path))
    assert CANARY not in str(caught.value)
