"""Workspace grader discovery: graders/*.py imported, re-imported after edits, errors located."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.errors import GraderError
from evalkit.graders import load_all
from evalkit.graders.base import registry
from evalkit.graders.discovery import load_builtin, load_workspace_graders
from evalkit.records import Status
from tests.graders.grading import grade

SHOUTY = """
from evalkit.graders.base import Score, grader


@grader("shouty")
def shouty(output, case, params):
    text = output.text or ""
    return Score(1.0 if text.isupper() else 0.0, reason="all caps" if text.isupper() else "calm")
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "evals").mkdir()
    (tmp_path / "graders").mkdir()
    yield tmp_path
    # Loading an empty graders/ forgets every workspace grader the test registered.
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    load_workspace_graders(empty)
    load_all(None)


def write(root: Path, name: str, text: str) -> Path:
    path = root / "graders" / name
    path.write_text(text)
    return path


async def test_workspace_grader_is_registered_with_its_source(workspace: Path) -> None:
    write(workspace, "shouty.py", SHOUTY)
    assert load_workspace_graders(workspace) == ["shouty"]
    assert registry()["shouty"].source == "workspace:graders/shouty.py"
    assert registry()["shouty"].description == ""  # the function has no docstring
    assert (await grade("shouty", "HELLO")).status is Status.PASS
    assert (await grade("shouty", "hello")).reason == "calm"


async def test_loading_again_is_idempotent(workspace: Path) -> None:
    write(workspace, "shouty.py", SHOUTY)
    load_all(workspace)
    first = registry()["shouty"]
    load_all(workspace)
    assert registry()["shouty"] is first  # unchanged files are not run again
    assert registry()["contains"].source == "builtin"


async def test_an_edited_file_is_picked_up_and_renamed_graders_go(workspace: Path) -> None:
    path = write(workspace, "shouty.py", SHOUTY)
    load_all(workspace)
    path.write_text(SHOUTY.replace('"shouty"', '"loud"').replace("isupper()", "islower()"))
    load_all(workspace)
    assert "shouty" not in registry()
    assert registry()["loud"].source == "workspace:graders/shouty.py"
    assert (await grade("loud", "hello")).status is Status.PASS


async def test_a_deleted_file_takes_its_graders_with_it(workspace: Path) -> None:
    path = write(workspace, "shouty.py", SHOUTY)
    load_workspace_graders(workspace)
    path.unlink()
    assert load_workspace_graders(workspace) == []
    assert "shouty" not in registry()


async def test_grader_files_may_import_each_other(workspace: Path) -> None:
    write(workspace, "words.py", "BANNED = ['guarantee']\n")
    write(
        workspace,
        "promises.py",
        "from evalkit.graders.base import grader\n"
        "from evalkit_workspace_graders.words import BANNED\n\n"
        "@grader('no-promises')\n"
        "def no_promises(output, case, params):\n"
        "    return not any(word in (output.text or '') for word in BANNED)\n",
    )
    assert load_workspace_graders(workspace) == ["no-promises"]
    assert not (await grade("no-promises", "we guarantee it")).passed


def test_a_broken_file_names_its_line_and_exception(workspace: Path) -> None:
    write(workspace, "broken.py", "import os\n\n\nvalue = os.environ['EVALKIT_NO_SUCH_VAR_X']\n")
    with pytest.raises(GraderError) as caught:
        load_workspace_graders(workspace)
    message = str(caught.value)
    assert message.startswith("graders/broken.py:4: importing the grader file failed: KeyError")
    assert "EVALKIT_NO_SUCH_VAR_X" in message
    assert "hint:" in message


def test_a_syntax_error_names_its_line(workspace: Path) -> None:
    write(workspace, "typo.py", "x = 1\ndef broken(:\n    pass\n")
    with pytest.raises(GraderError, match=r"^graders/typo.py:2: .*SyntaxError"):
        load_workspace_graders(workspace)


def test_a_failed_import_leaves_no_half_registered_graders(workspace: Path) -> None:
    write(
        workspace,
        "half.py",
        "from evalkit.graders.base import grader\n\n"
        "@grader('half-done')\n"
        "def half(output, case, params):\n"
        "    return True\n\n"
        "raise RuntimeError('later failure')\n",
    )
    with pytest.raises(GraderError, match=r"graders/half.py:7: .*RuntimeError: later failure"):
        load_workspace_graders(workspace)
    assert "half-done" not in registry()


def test_a_workspace_grader_may_not_replace_a_builtin(workspace: Path) -> None:
    builtin = registry()["contains"]
    write(
        workspace,
        "mine.py",
        "from evalkit.graders.base import grader\n\n"
        "@grader('contains')\n"
        "def contains(output, case, params):\n"
        "    return True\n",
    )
    with pytest.raises(GraderError, match=r"graders/mine\.py registers grader 'contains'.*builtin"):
        load_workspace_graders(workspace)
    assert registry()["contains"] is builtin


def test_load_builtin_is_safe_to_repeat() -> None:
    before = dict(registry())
    load_builtin()
    assert registry() == before
