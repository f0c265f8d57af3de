"""build_targets: provider lookup, option validation, env requirements, prompt variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import TargetError
from evalkit.targets import build_targets, providers
from evalkit.targets.base import Target, TargetUnavailable
from evalkit.workspace.models import PromptSpec
from tests.targets.helpers import target_spec, workspace


def test_every_builtin_provider_is_registered() -> None:
    assert {"anthropic", "openai", "http", "python", "command", "replay"} <= set(providers())


def test_unknown_provider_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(
        TargetError, match=r"unknown provider 'antropic' \(did you mean 'anthropic'"
    ):
        build_targets(target_spec("antropic", model="m"), workspace(tmp_path))


def test_boolean_temperature_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    spec = target_spec("anthropic", model="m", temperature=True)
    with pytest.raises(TargetError, match=r"target 't' \(anthropic\): temperature"):
        build_targets(spec, workspace(tmp_path))


def test_unknown_option_is_named_with_the_known_ones(tmp_path: Path) -> None:
    spec = target_spec("command", command="cat", comand="typo")
    with pytest.raises(TargetError, match="unknown option 'comand'") as caught:
        build_targets(spec, workspace(tmp_path))
    assert caught.value.hint is not None and "command" in caught.value.hint


def test_requires_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALKIT_TEST_NEEDED", raising=False)
    spec = target_spec("command", command="cat", requires_env=["EVALKIT_TEST_NEEDED"])
    with pytest.raises(TargetUnavailable, match="EVALKIT_TEST_NEEDED is not set"):
        build_targets(spec, workspace(tmp_path))


def test_one_target_per_prompt_variant(tmp_path: Path) -> None:
    spec = target_spec(
        "command",
        command="cat",
        prompts=[PromptSpec(id="a", template="A {{ q }}"), PromptSpec(id="b", template="B")],
    )
    built = build_targets(spec, workspace(tmp_path))
    assert [(t.id, t.prompt_id) for t in built] == [("t", "a"), ("t", "b")]
    assert all(isinstance(t, Target) for t in built)


def test_no_prompts_one_target_without_prompt_id(tmp_path: Path) -> None:
    (only,) = build_targets(target_spec("command", command="cat"), workspace(tmp_path))
    assert only.prompt_id is None


def test_duplicate_prompt_ids(tmp_path: Path) -> None:
    spec = target_spec("command", command="cat", prompts=[PromptSpec(id="a"), PromptSpec(id="a")])
    with pytest.raises(TargetError, match="prompt id 'a' is used twice"):
        build_targets(spec, workspace(tmp_path))
