"""The `python` grader: workspace files (confined to the workspace) and installed modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.errors import GraderError
from evalkit.graders.modules import set_workspace_root
from evalkit.records import Status
from tests.graders.grading import grade

CHECKS = """
from evalkit.graders.base import Score, Skip

def mentions(output, case, args):
    word = args["word"]
    found = word in (output.text or "")
    return Score(1.0 if found else 0.0, reason=f"{word} found: {found}")

async def later(output, case, args):
    return len(output.text or "") > args.get("min", 0)

def skip(output, case, args):
    return Skip("not applicable")

def expects(output, case, args):
    return output.text == case.expected
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "checks.py").write_text(CHECKS)
    set_workspace_root(tmp_path)
    yield tmp_path
    set_workspace_root(None)


async def test_workspace_function_gets_output_case_and_args(workspace: Path) -> None:
    result = await grade("python", "use the VPN", value="graders/checks.py:mentions", word="VPN")
    assert (result.status, result.reason) == (Status.PASS, "VPN found: True")
    assert (await grade("python", "hi", value="graders/checks.py:expects", expected="hi")).passed


async def test_async_function_and_skip(workspace: Path) -> None:
    assert (await grade("python", "long enough", value="graders/checks.py:later", min=3)).passed
    skipped = await grade("python", "x", value="graders/checks.py:skip")
    assert (skipped.status, skipped.reason) == (Status.SKIPPED, "not applicable")


async def test_an_edited_file_is_used_on_the_next_bind(workspace: Path) -> None:
    path = workspace / "graders" / "checks.py"
    assert (await grade("python", "x", value="graders/checks.py:skip")).status is Status.SKIPPED
    path.write_text(CHECKS.replace('Skip("not applicable")', "True"))
    assert (await grade("python", "x", value="graders/checks.py:skip")).status is Status.PASS


async def test_paths_outside_the_workspace_are_refused(workspace: Path) -> None:
    (workspace.parent / "outside.py").write_text("def f(o, c, a):\n    return True\n")
    with pytest.raises(GraderError, match="leads outside the workspace"):
        await grade("python", "x", value="../outside.py:f")
    with pytest.raises(GraderError, match=r"no file 'graders/none\.py'"):
        await grade("python", "x", value="graders/none.py:f")
    with pytest.raises(GraderError, match="has no function 'nope'"):
        await grade("python", "x", value="graders/checks.py:nope")


async def test_a_file_that_fails_to_import_names_its_line(workspace: Path) -> None:
    (workspace / "graders" / "broken.py").write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(GraderError, match=r"graders/broken.py:2: .*RuntimeError: boom"):
        await grade("python", "x", value="graders/broken.py:f")


async def test_installed_module_function() -> None:
    ref = "tests.graders.importable_checks:shorter_than"
    assert (await grade("python", "short", value=ref, chars=10)).passed
    assert not (await grade("python", "far too long an answer", value=ref, chars=10)).passed
    missing_arg = await grade("python", "x", value=ref)
    assert missing_arg.status is Status.ERROR
    assert missing_arg.reason == "grader raised KeyError: 'chars'"
    with pytest.raises(GraderError, match="cannot import module 'no_such_module_xyz'"):
        await grade("python", "x", value="no_such_module_xyz:f")
    with pytest.raises(GraderError, match=r"should be 'graders/checks\.py:function'"):
        await grade("python", "x", value="just-a-name")
