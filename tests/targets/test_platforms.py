"""Claude on Amazon Bedrock and Google Vertex AI through the anthropic SDK's own clients,
Azure OpenAI through the openai SDK's, and the OpenAI-compatible recipes: each against
the fake server at the path and with the authentication the real service expects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evalkit.records import Case
from evalkit.targets import build_targets
from evalkit.targets.base import TargetContext, TargetUnavailable
from evalkit.workspace.models import TargetSpec
from tests.fakeserver import FakeModelServer


def _answer(spec: dict[str, object], tmp_path: Path) -> str:
    ctx = TargetContext(root=tmp_path, plan_dir=tmp_path, pricing={}, timeout=10.0)
    (target,) = build_targets(TargetSpec.model_validate(spec), ctx)
    case = Case(suite="s", id="c", vars={"question": "What is the refund window?"})

    async def go() -> str:
        request = target.render(case, 0)
        try:
            output = await target.generate(request)
        finally:
            await target.aclose()
        return output.text or ""

    return asyncio.run(go())


@pytest.fixture
def server(fake_server: FakeModelServer) -> FakeModelServer:
    fake_server.script({"match": "refund", "reply": "Within 30 days."})
    return fake_server


PROMPT = [{"id": "p", "template": "{{ question }}"}]


def test_claude_on_bedrock_is_signed_and_sent_to_invoke(
    server: FakeModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    spec = {
        "id": "claude-bedrock",
        "provider": "anthropic",
        "platform": "bedrock",
        "region": "us-east-1",
        "model": "anthropic.claude-3-haiku-20240307-v1:0",
        "base_url": server.url,
        "prompts": PROMPT,
    }
    assert _answer(spec, tmp_path) == "Within 30 days."
    (call,) = server.requests()
    assert call["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
    # the platforms carry the API version in the body (the first-party API in a header)
    assert "anthropic_version" in call["body"] and "model" not in call["body"]
    assert call["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


def test_claude_on_vertex_uses_the_project_path_and_the_token(
    server: FakeModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERTEX_TOKEN", "ya29.test-token")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    spec = {
        "id": "claude-vertex",
        "provider": "anthropic",
        "platform": "vertex",
        "region": "europe-west1",
        "project_id": "my-project",
        "access_token_env": "VERTEX_TOKEN",
        "model": "claude-sonnet-4@20250514",
        "base_url": f"{server.url}/",
        "prompts": PROMPT,
    }
    assert _answer(spec, tmp_path) == "Within 30 days."
    (call,) = server.requests()
    assert call["path"] == (
        "/projects/my-project/locations/europe-west1/publishers/anthropic/models/"
        "claude-sonnet-4@20250514:rawPredict"
    )
    assert call["headers"]["authorization"] == "Bearer ya29.test-token"
    assert "anthropic_version" in call["body"] and "model" not in call["body"]


def test_azure_openai_calls_the_deployment_with_its_api_key(
    server: FakeModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    spec = {
        "id": "gpt-azure",
        "provider": "openai",
        "platform": "azure",
        "model": "my-gpt-deployment",
        "base_url": server.url,
        "api_version": "2024-10-21",
        "prompts": PROMPT,
    }
    assert _answer(spec, tmp_path) == "Within 30 days."
    (call,) = server.requests()
    assert call["path"] == "/openai/deployments/my-gpt-deployment/chat/completions"
    assert call["headers"]["api-key"] == "azure-key"


def test_azure_without_an_endpoint_is_skipped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    spec = {"id": "a", "provider": "openai", "platform": "azure", "model": "d"}
    ctx = TargetContext(root=tmp_path, plan_dir=tmp_path, pricing={}, timeout=10.0)
    with pytest.raises(TargetUnavailable, match="AZURE_OPENAI_ENDPOINT"):
        build_targets(TargetSpec.model_validate(spec), ctx)


@pytest.mark.parametrize(
    ("recipe", "extra"),
    [
        ("ollama", {"api_key_env": None}),
        ("vllm", {"api_key_env": None}),
        ("litellm", {"api_key_env": "LITELLM_API_KEY"}),
        ("gemini", {"api_key_env": "GEMINI_API_KEY"}),
    ],
)
def test_openai_compatible_recipes_speak_chat_completions(
    recipe: str,
    extra: dict[str, object],
    server: FakeModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITELLM_API_KEY", "sk-litellm")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    spec = {
        "id": recipe,
        "provider": "openai",
        "model": f"{recipe}-model",
        "base_url": server.openai_url,
        "prompts": PROMPT,
        **extra,
    }
    assert _answer(spec, tmp_path) == "Within 30 days."
    (call,) = server.requests()
    assert call["path"] == "/v1/chat/completions" and call["model"] == f"{recipe}-model"
