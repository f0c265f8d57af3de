"""Strict verdict parsing and judge selection, as pure functions."""

from __future__ import annotations

import pytest

from evalkit.errors import ConfigError
from evalkit.graders.judge.setup import DEFAULT_JUDGE, judge_spec
from evalkit.graders.judge.verdict import UnreadableVerdict, parse_verdict
from evalkit.records import TargetOutput

SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "pass": {"type": "boolean"}},
    "required": ["reasoning", "pass"],
    "additionalProperties": False,
}


def test_a_tool_call_or_a_lone_json_object_is_a_verdict() -> None:
    assert parse_verdict(TargetOutput(data={"reasoning": "r", "pass": True}), SCHEMA)["pass"]
    fenced = '```json\n{"reasoning": "r", "pass": false}\n```'
    assert parse_verdict(TargetOutput(text=fenced), SCHEMA) == {"reasoning": "r", "pass": False}


@pytest.mark.parametrize(
    "reply",
    [
        'Sure! {"reasoning": "r", "pass": true}',  # prose around it: no hunting for braces
        '{"reasoning": "r", "pass": true} {"pass": false}',
        '[{"reasoning": "r", "pass": true}]',
        '{"reasoning": "r", "pass": "true"}',  # a string is not a boolean
        '{"reasoning": "r", "pass": true, "score": 1}',  # not in the schema
        "",
        "PASS",
    ],
)
def test_anything_else_is_unreadable_and_keeps_the_raw_reply(reply: str) -> None:
    with pytest.raises(UnreadableVerdict) as caught:
        parse_verdict(TargetOutput(text=reply), SCHEMA)
    assert caught.value.raw == reply


def test_judge_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    default = judge_spec(None, "plan.yaml")
    provider, model = DEFAULT_JUDGE.split(":")
    assert (default.provider, default.model_extra) == (
        provider,
        {"model": model, "temperature": 0, "max_tokens": 1024},
    )
    monkeypatch.setenv("EVALKIT_JUDGE", "openai:gpt-judge")
    assert judge_spec(None, "plan.yaml").model_extra == {"model": "gpt-judge", "temperature": 0}
    # the plan's own judge wins over the env var; a bare name is a Claude model
    assert judge_spec("claude-x", "plan.yaml").provider == "anthropic"
    keyed = judge_spec({"provider": "openai", "model": "m", "temperature": 0.7}, "plan.yaml")
    assert keyed.model_extra == {"model": "m", "temperature": 0.7}
    with pytest.raises(ConfigError, match=r"plan\.yaml: judge 'openai:' is not provider:model"):
        judge_spec("openai:", "plan.yaml")
