"""A 200 answer that is not a usable message is the provider's fault: retried like a 5xx,
recorded as `protocol` when the retries run out, never an `exception` of ours."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import Workspace, anthropic_target, openai_target

Cli = Callable[..., tuple[int, str]]


@pytest.mark.parametrize("body", ["malformed", "empty", "null"])
@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_broken_200_is_retried_then_answers(
    workspace: Workspace, cli: Cli, api: str, body: str
) -> None:
    target = anthropic_target if api == "anthropic" else openai_target
    workspace.plan(target(workspace.server), extra="concurrency: 1\nretries: 2\n")
    workspace.server.fail_next(body, count=1)
    code, out = cli("run", "-k", "refund")
    assert code == 0, out  # the retry got the real answer
    assert workspace.server.request_count() == 2
    assert workspace.sql("SELECT status, attempts FROM results") == [("pass", 2)]


@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_broken_200_every_time_is_a_protocol_error(
    workspace: Workspace, cli: Cli, api: str
) -> None:
    target = anthropic_target if api == "anthropic" else openai_target
    workspace.plan(target(workspace.server), extra="concurrency: 1\nretries: 1\n")
    workspace.server.fail_next("malformed", count=10)
    code, out = cli("run", "-k", "refund")
    assert code == 1, out
    ((kind, attempts, error),) = workspace.sql("SELECT error_kind, attempts, error FROM results")
    assert (kind, attempts) == ("protocol", 2)
    assert "not a valid" in error


def test_a_broken_200_from_an_http_endpoint_is_retried_as_a_protocol_fault(
    workspace: Workspace, cli: Cli
) -> None:
    target = (
        "  - id: hook\n    provider: http\n"
        f"    url: {workspace.server.echo_url}\n"
        "    body: {prompt: '{{ question }}'}\n    output_path: data.answer\n"
    )
    workspace.plan(target, extra="concurrency: 1\nretries: 1\n")
    workspace.server.fail_next("malformed", count=10)
    code, out = cli("run", "-k", "refund")
    assert code == 1, out
    ((kind, attempts),) = workspace.sql("SELECT error_kind, attempts FROM results")
    assert (kind, attempts) == ("protocol", 2)


def test_an_http_body_that_renders_to_non_json_is_a_trial_error(
    workspace: Workspace, cli: Cli
) -> None:
    target = (
        "  - id: hook\n    provider: http\n"
        f"    url: {workspace.server.echo_url}\n"
        """    body: '{"prompt": "{{ question }}"}'\n"""
    )
    workspace.plan(target, extra="concurrency: 1\n")
    code, out = cli("run", "-k", "refund")
    assert code == 1, out
    assert "internal error" not in out
    ((status, kind, error),) = workspace.sql("SELECT status, error_kind, error FROM results")
    assert (status, kind) == ("error", "config")
    assert "the rendered body is not JSON" in error
    assert workspace.server.request_count() == 0
