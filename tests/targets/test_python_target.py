"""The python target: sync, async, dict results, exceptions, imports."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import TargetError, WorkspaceError
from evalkit.records import ErrorKind
from evalkit.targets.base import Target, TargetCallError
from tests.targets.helpers import build_one, case, workspace


def write(tmp_path: Path, name: str, source: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def python_target(tmp_path: Path, function: str, **options: object) -> Target:
    return build_one("python", workspace(tmp_path), function=function, **options)


async def answer(target: Target, **vars: Any):  # type: ignore[no-untyped-def]
    return await target.generate(target.render(case(**vars), 0))


@pytest.mark.parametrize("threads", [True, False])
async def test_sync_function_from_file(tmp_path: Path, threads: bool) -> None:
    write(tmp_path, "agents/echo.py", "def answer(case):\n    return case.vars['q'].upper()\n")
    output = await answer(python_target(tmp_path, "agents/echo.py:answer", threads=threads), q="hi")
    assert output.text == "HI"
    assert output.error is None


async def test_async_function_gets_request_when_it_asks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "agent.py",
        """
        import asyncio

        async def answer(case, request):
            await asyncio.sleep(0)
            return f"{case.id}: {request.prompt}"
        """,
    )
    output = await answer(python_target(tmp_path, "agent.py:answer"), question="why?")
    assert output.text == "c1: why?"


async def test_dict_result_splits_output_and_metadata(tmp_path: Path) -> None:
    write(
        tmp_path,
        "rag.py",
        """
        def answer(case):
            return {"output": {"label": "yes"}, "context": ["doc 1"], "tool_calls": []}
        """,
    )
    output = await answer(python_target(tmp_path, "rag.py:answer"), q="x")
    assert output.data == {"label": "yes"}
    assert output.text == '{"label": "yes"}'
    assert output.metadata == {"context": ["doc 1"], "tool_calls": []}


async def test_exception_names_type_message_and_user_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "broken.py",
        """
        def answer(case):
            raise ValueError("no answer for " + case.id)
        """,
    )
    with pytest.raises(TargetCallError) as caught:
        await answer(python_target(tmp_path, "broken.py:answer"), q="x")
    assert caught.value.kind is ErrorKind.EXCEPTION
    assert caught.value.message == "ValueError: no answer for c1 (at broken.py:3)"


async def test_dict_without_output_is_explained(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", "def answer(case):\n    return {'answer': 1}\n")
    with pytest.raises(TargetCallError, match="without an 'output' key"):
        await answer(python_target(tmp_path, "bad.py:answer"), q="x")


async def test_importable_module_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # undo the workspace root we add
    name = f"ws_agent_{uuid.uuid4().hex[:8]}"
    write(tmp_path, f"{name}.py", "def answer(case):\n    return 'from module'\n")
    output = await answer(python_target(tmp_path, f"{name}:answer"), q="x")
    assert output.text == "from module"


async def test_a_function_file_imports_its_neighbours_like_a_script(tmp_path: Path) -> None:
    # `python agents/bot.py` can `import prompts` from agents/: so can the target
    helper = f"prompts_{uuid.uuid4().hex[:8]}"  # a name no other test has imported
    write(tmp_path, f"agents/{helper}.py", "GREETING = 'hello'\n")
    write(
        tmp_path,
        "agents/bot.py",
        f"import {helper}\n\ndef answer(case):\n"
        f"    return {helper}.GREETING + ' ' + case.vars['q']\n",
    )
    output = await answer(python_target(tmp_path, "agents/bot.py:answer"), q="there")
    assert (output.text, output.error) == ("hello there", None)


def test_import_error_is_a_target_error(tmp_path: Path) -> None:
    write(tmp_path, "needs.py", "import not_a_real_module_xyz\n")
    with pytest.raises(TargetError, match="ModuleNotFoundError: No module named"):
        python_target(tmp_path, "needs.py:answer")


def test_missing_function_lists_what_exists(tmp_path: Path) -> None:
    write(tmp_path, "agent.py", "def respond(case):\n    return ''\n")
    with pytest.raises(TargetError, match="has no function 'answer'") as caught:
        python_target(tmp_path, "agent.py:answer")
    assert caught.value.hint == "callables it defines: respond"


@pytest.mark.parametrize("reference", ["agent.py", "agent.py:", ":answer"])
def test_malformed_reference(tmp_path: Path, reference: str) -> None:
    with pytest.raises(TargetError, match="should look like"):
        python_target(tmp_path, reference)


def test_file_outside_workspace_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "outside.py", "def answer(case):\n    return ''\n")
    (tmp_path / "ws").mkdir()
    with pytest.raises(WorkspaceError):
        python_target(tmp_path / "ws", "../outside.py:answer")


def test_not_cached(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def answer(case):\n    return ''\n")
    target = python_target(tmp_path, "a.py:answer")
    assert target.fingerprint(target.render(case(q="x"), 0)) is None
