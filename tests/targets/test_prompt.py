"""Rendering cases into requests: templates, files, messages, defaults, strictness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import TargetError, WorkspaceError
from evalkit.records import Case, ErrorKind, Message
from evalkit.targets.base import TargetCallError
from evalkit.targets.prompt import PromptRenderer
from evalkit.workspace.models import MessageSpec, PromptSpec
from tests.targets.helpers import case, workspace


def test_inline_template_becomes_one_user_message(tmp_path: Path) -> None:
    prompt = PromptSpec(id="p1", template="Answer briefly: {{ question }}")
    request = PromptRenderer("t", prompt, workspace(tmp_path)).render(case(question="2+2?"), 1)
    assert request.messages == [Message("user", "Answer briefly: 2+2?")]
    assert request.prompt == "Answer briefly: 2+2?"
    assert (request.prompt_id, request.epoch, request.system) == ("p1", 1, None)


@pytest.mark.parametrize(
    ("subject", "user_turn"),
    [
        (case(question="2+2?"), [Message("user", "2+2?")]),
        (Case(suite="s", id="c", messages=[Message("user", "hi")]), [Message("user", "hi")]),
    ],
)
def test_a_prompt_with_only_a_system_part_takes_the_user_turn_from_the_case(
    tmp_path: Path, subject: Case, user_turn: list[Message]
) -> None:
    prompt = PromptSpec(id="terse", system="Answer in one word.")
    request = PromptRenderer("t", prompt, workspace(tmp_path)).render(subject, 0)
    assert request.system == "Answer in one word."
    assert request.messages == user_turn
    assert request.prompt == user_turn[-1].content


def test_undefined_var_is_a_config_error_naming_prompt_and_vars(tmp_path: Path) -> None:
    prompt = PromptSpec(id="x", template="Q: {{ question }}")
    renderer = PromptRenderer("t", prompt, workspace(tmp_path))
    with pytest.raises(TargetCallError) as caught:
        renderer.render(case(topic="tax", region="EU"), 0)
    assert caught.value.kind is ErrorKind.CONFIG
    assert caught.value.message == "prompt 'x': 'question' is undefined (case vars: region, topic)"


def test_case_and_context_vars_are_available(tmp_path: Path) -> None:
    prompt = PromptSpec(
        id="rag",
        system="Use only:\n{{ context }}",
        template="[{{ case.id }} / {{ case.tags | join(',') }}] {{ q }}",
    )
    subject = Case(suite="s", id="c7", vars={"q": "Why?"}, context=["A.", "B."], tags=["x", "y"])
    request = PromptRenderer("t", prompt, workspace(tmp_path)).render(subject, 0)
    assert request.system == "Use only:\nA.\n\nB."
    assert request.prompt == "[c7 / x,y] Why?"


def test_template_file_resolves_from_plan_dir_and_is_read_once(tmp_path: Path) -> None:
    ctx = workspace(tmp_path)
    template = tmp_path / "evals" / "prompts" / "ask.j2"
    template.parent.mkdir()
    template.write_text("From file: {{ question }}\n")
    renderer = PromptRenderer("t", PromptSpec(id="f", file="prompts/ask.j2"), ctx)
    template.write_text("changed {{ question }}")
    assert renderer.render(case(question="ok"), 0).prompt == "From file: ok"


def test_template_file_outside_workspace_is_refused(tmp_path: Path) -> None:
    ctx = workspace(tmp_path / "ws")
    (tmp_path / "secret.txt").write_text("{{ question }}")
    with pytest.raises(WorkspaceError, match="leads outside the workspace"):
        PromptRenderer("t", PromptSpec(id="f", file="../../secret.txt"), ctx)


def test_missing_template_file_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"template file 'nope.j2' not found"):
        PromptRenderer("t", PromptSpec(id="f", file="nope.j2"), workspace(tmp_path))


def test_messages_prompt_renders_each_and_moves_system_aside(tmp_path: Path) -> None:
    prompt = PromptSpec(
        id="chat",
        messages=[
            MessageSpec(role="system", content="You are {{ persona }}."),
            MessageSpec(role="user", content="Hi"),
            MessageSpec(role="assistant", content="Hello."),
            MessageSpec(role="user", content="{{ question }}"),
        ],
    )
    request = PromptRenderer("t", prompt, workspace(tmp_path)).render(
        case(persona="terse", question="Why?"), 0
    )
    assert request.system == "You are terse."
    assert [m.role for m in request.messages or []] == ["user", "assistant", "user"]
    assert request.prompt == "Why?"


def test_syntax_error_fails_at_construction_with_line(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"prompt 'bad': template syntax error on line 2"):
        PromptRenderer("t", PromptSpec(id="bad", template="ok\n{{ x "), workspace(tmp_path))


def test_only_one_prompt_form_at_a_time(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="only one of template, file or messages"):
        PromptRenderer("t", PromptSpec(id="p", template="a", file="b.j2"), workspace(tmp_path))


@pytest.mark.parametrize(
    ("vars", "expected"),
    [
        ({"input": "I", "question": "Q", "prompt": "P"}, "I"),
        ({"question": "Q", "prompt": "P", "other": 1}, "Q"),
        ({"prompt": "P", "other": 1}, "P"),
        ({"only": 42}, "42"),
    ],
)
def test_default_prompt_picks_the_conventional_var(
    tmp_path: Path, vars: dict[str, Any], expected: str
) -> None:
    request = PromptRenderer("t", None, workspace(tmp_path)).render(case(**vars), 0)
    assert request.messages == [Message("user", expected)]
    assert request.prompt_id is None


def test_default_prompt_uses_case_messages(tmp_path: Path) -> None:
    subject = Case(
        suite="s",
        id="c",
        messages=[Message("system", "Be kind."), Message("user", "Hi")],
    )
    request = PromptRenderer("t", None, workspace(tmp_path)).render(subject, 0)
    assert request.system == "Be kind."
    assert request.messages == [Message("user", "Hi")]


def test_default_prompt_without_a_usable_var_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TargetCallError, match="give the target a `prompts:` template") as caught:
        PromptRenderer("t", None, workspace(tmp_path)).render(case(a=1, b=2), 0)
    assert caught.value.kind is ErrorKind.CONFIG


def test_sandbox_refuses_unsafe_attribute_access(tmp_path: Path) -> None:
    prompt = PromptSpec(id="p", template="{{ question.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TargetCallError) as caught:
        PromptRenderer("t", prompt, workspace(tmp_path)).render(case(question="x"), 0)
    assert caught.value.kind is ErrorKind.CONFIG
