"""The openai target through the real SDK against the fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.records import ErrorKind
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetCallError, TargetUnavailable
from evalkit.workspace.models import PromptSpec
from tests.fakeserver import FakeModelServer
from tests.targets.helpers import build_one, case, closed_port, target_spec, workspace


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def gpt(tmp_path: Path, base_url: str, **options: object) -> Target:
    return build_one(
        "openai", workspace(tmp_path), model="gpt-4o-mini", base_url=base_url, **options
    )


async def test_reply_usage_cost_and_system_first(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.reply("capital", "Paris is the capital.")
    target = gpt(tmp_path, fake_server.openai_url, system="Be brief.", seed=7, max_tokens=50)
    try:
        output = await target.generate(target.render(case(question="The capital of France?"), 0))
    finally:
        await target.aclose()
    assert output.text == "Paris is the capital."
    assert output.usage is not None
    # prompt tokens: "Be brief." (2) + "The capital of France?" (4); completion: 4 words
    assert (output.usage.input_tokens, output.usage.output_tokens) == (6, 4)
    assert output.cost_usd == pytest.approx((6 * 0.15 + 4 * 0.60) / 1e6)
    assert output.metadata["stop_reason"] == "stop"
    (sent,) = fake_server.requests()
    assert sent["headers"]["authorization"] == "Bearer test-key"
    assert sent["body"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (sent["body"]["seed"], sent["body"]["max_tokens"]) == (7, 50)


async def test_json_response_format_parses_data(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    fake_server.reply("", '{"answer": 4}')
    target = gpt(tmp_path, fake_server.openai_url, response_format="json")
    try:
        output = await target.generate(target.render(case(question="2+2"), 0))
    finally:
        await target.aclose()
    assert output.data == {"answer": 4}
    assert fake_server.requests()[0]["body"]["response_format"] == {"type": "json_object"}


async def test_local_server_needs_no_key(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    target = build_one(
        "openai",
        workspace(tmp_path),
        model="llama3",
        base_url=fake_server.openai_url,
        api_key_env=None,
    )
    try:
        output = await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    assert output.text == "Reply to: hi"
    assert output.cost_usd is None  # an unknown model has no invented price


def test_missing_key_makes_target_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(TargetUnavailable, match=r"^OPENAI_API_KEY is not set$"):
        gpt(tmp_path, "http://127.0.0.1:1/v1")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, ErrorKind.SERVER), (400, ErrorKind.CLIENT), (401, ErrorKind.AUTH)],
)
async def test_status_kinds(
    tmp_path: Path, fake_server: FakeModelServer, status: int, kind: ErrorKind
) -> None:
    fake_server.fail_next(status)
    target = gpt(tmp_path, fake_server.openai_url)
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    assert (caught.value.kind, caught.value.status_code) == (kind, status)
    assert fake_server.request_count() == 1


async def test_429_retry_after(tmp_path: Path, fake_server: FakeModelServer) -> None:
    fake_server.fail_next(429, retry_after=2)
    target = gpt(tmp_path, fake_server.openai_url)
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    assert (caught.value.kind, caught.value.retry_after) == (ErrorKind.RATE_LIMIT, 2.0)


async def test_connection_refused(tmp_path: Path) -> None:
    target = gpt(tmp_path, f"http://127.0.0.1:{closed_port()}/v1")
    try:
        with pytest.raises(TargetCallError) as caught:
            await target.generate(target.render(case(question="hi"), 0))
    finally:
        await target.aclose()
    assert caught.value.kind is ErrorKind.CONNECTION


async def test_prompt_variants_share_options_and_differ_in_fingerprint(
    tmp_path: Path, fake_server: FakeModelServer
) -> None:
    spec = target_spec(
        "openai",
        model="gpt-4o",
        base_url=fake_server.openai_url,
        prompts=[
            PromptSpec(id="terse", template="Briefly: {{ question }}"),
            PromptSpec(id="kind", template="Kindly: {{ question }}"),
        ],
    )
    targets = build_targets(spec, workspace(tmp_path))
    try:
        texts = [(await t.generate(t.render(case(question="why"), 0))).text for t in targets]
        prints = [t.fingerprint(t.render(case(question="why"), 0)) for t in targets]
    finally:
        for t in targets:
            await t.aclose()
    assert [t.prompt_id for t in targets] == ["terse", "kind"]
    assert texts == ["Reply to: Briefly: why", "Reply to: Kindly: why"]
    assert prints[0] != prints[1]
