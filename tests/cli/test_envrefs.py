"""`${NAME}` works in every string setting a user would put one in, not only headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import Workspace, anthropic_target, openai_target

Cli = Callable[..., tuple[int, str]]


def test_base_url_and_api_key_env_are_interpolated(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODEL_URL", workspace.server.anthropic_url)
    monkeypatch.setenv("KEY_VAR", "ANTHROPIC_API_KEY")
    target = (
        anthropic_target(workspace.server).replace(
            workspace.server.anthropic_url, "${FAKE_MODEL_URL}"
        )
        + "    api_key_env: ${KEY_VAR}\n"
    )
    workspace.plan(target)
    code, out = cli("run", "-k", "refund")
    assert code == 0, out
    assert workspace.server.request_count() == 1
    (config,) = workspace.sql("SELECT config FROM run_targets")[0]
    assert "${FAKE_MODEL_URL}" in str(config)  # the plan's form is what is recorded


def test_an_unset_variable_is_an_error_naming_it(workspace: Workspace, cli: Cli) -> None:
    target = openai_target(workspace.server).replace(
        workspace.server.openai_url, "${NO_SUCH_URL_VAR}"
    )
    workspace.plan(target)
    code, out = cli("run")
    assert code == 4, out
    assert "target 'gpt': base_url uses ${NO_SUCH_URL_VAR}, but NO_SUCH_URL_VAR is not set" in out


def test_an_unset_variable_in_requires_env_skips_the_target(workspace: Workspace, cli: Cli) -> None:
    target = (
        openai_target(workspace.server).replace(workspace.server.openai_url, "${NO_SUCH_URL_VAR}")
        + "    requires_env: [NO_SUCH_URL_VAR]\n"
    )
    workspace.plan(target)
    code, out = cli("run")
    assert code == 5, out
    assert "skipping target 'gpt': NO_SUCH_URL_VAR is not set" in out


def test_a_judge_setting_is_interpolated(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_URL", workspace.server.anthropic_url)
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\ncases:\n  - id: c\n    vars: {question: 'Say hello'}\n"
        "    graders: [{type: llm-rubric, value: Greets.}]\n"
    )
    workspace.server.script(
        {"match": "", "reply": '{"reasoning": "greets", "pass": true, "score": 1}'}
    )
    workspace.plan(
        "  - id: local\n    provider: python\n    function: system.py:answer\n",
        extra="judge: {provider: anthropic, model: judge-model, base_url: '${JUDGE_URL}'}\n",
    )
    code, out = cli("run")
    assert code == 0 and "JUDGE_URL" not in out, out
    assert workspace.server.request_count() >= 1
