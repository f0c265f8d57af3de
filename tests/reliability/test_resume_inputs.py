"""Resume and trend see edits to the files a target reads, not only to its config.

A python target's module (and the workspace modules it imports), a prompt template
file, a command's script and a replay file all decide the outputs; editing one between
a crash and `resume` must be refused by name, and must move the target's config hash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Workspace
from tests.reliability.test_resume import crashed_run

CLI = Callable[..., tuple[int, str]]

HELPER_SYSTEM = """\
from {package}.words import reply

def answer(case):
    return reply(case.vars["question"])
"""

COMMAND_TARGET = "  - id: local\n    provider: command\n    command: python3 tools/answer.py\n"
COMMAND_SCRIPT = "import sys\nprint('answer v1: ' + sys.stdin.read())\n"

REPLAY_TARGET = "  - id: local\n    provider: replay\n    path: recorded/answers.jsonl\n"
REPLAY = "".join(
    f'{{"case_id": "{c}", "output": "{o}"}}\n'
    for c, o in [("refund", "30 days"), ("greeting", "hello"), ("shipping", "3 days")]
)

PROMPT_TARGET = (
    "  - id: local\n    provider: python\n    function: system.py:answer\n"
    "    prompts: [{id: p, file: ../prompts/q.txt}]\n"
)


def setup(ws: Workspace, kind: str, package: str = "helpers_a") -> tuple[str, Path, str]:
    """Write the workspace for `kind`; returns (plan targets, the file to edit, its name)."""
    root = ws.root
    if kind == "python function":
        system = root / "system.py"
        return "", system, "system.py"
    if kind == "imported module":
        # module form (`package.module:func`): the workspace root goes on sys.path
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
        (root / package / "words.py").write_text("def reply(q):\n    return 'answer v1'\n")
        (root / f"{package}_system.py").write_text(HELPER_SYSTEM.format(package=package))
        target = f"  - id: local\n    provider: python\n    function: {package}_system:answer\n"
        return target, root / package / "words.py", f"{package}/words.py"
    if kind == "prompt file":
        (root / "prompts").mkdir()
        (root / "prompts" / "q.txt").write_text("Q: {{ question }}")
        return PROMPT_TARGET, root / "prompts" / "q.txt", "prompts/q.txt"
    if kind == "command script":
        (root / "tools").mkdir()
        (root / "tools" / "answer.py").write_text(COMMAND_SCRIPT)
        return COMMAND_TARGET, root / "tools" / "answer.py", "tools/answer.py"
    (root / "recorded").mkdir()
    (root / "recorded" / "answers.jsonl").write_text(REPLAY)
    return REPLAY_TARGET, root / "recorded" / "answers.jsonl", "recorded/answers.jsonl"


KINDS = ["python function", "imported module", "prompt file", "command script", "replay file"]


@pytest.mark.parametrize("kind", KINDS)
def test_resume_refuses_when_a_file_the_target_reads_changed(
    workspace: Workspace, cli: CLI, kind: str
) -> None:
    targets, edited, name = setup(workspace, kind)
    run_id = crashed_run(workspace, cli, targets or None)
    (before,) = workspace.sql("SELECT config_hash FROM run_targets")[0]
    edited.write_text(edited.read_text().replace("v1", "v2").replace("Q:", "Question:") + "\n")

    code, out = cli("resume")
    assert code == 4, out
    assert f"cannot resume run {run_id}" in out
    assert "resuming run" not in out  # a refused resume never says it is resuming
    assert f"target 'local' file '{name}' changed" in out or (
        kind == "prompt file" and f"target 'local[p]' file '{name}' changed" in out
    )
    assert workspace.sql("SELECT status FROM runs") == [("running",)]
    assert workspace.sql("SELECT count(*) FROM results") == [(2,)]

    # A new run records the new content under a different config hash.
    assert cli("run")[0] in (0, 1)
    hashes = {h for (h,) in workspace.sql("SELECT config_hash FROM run_targets")}
    assert before in hashes and len(hashes) == 2


def test_resume_of_unchanged_files_still_goes_ahead(workspace: Workspace, cli: CLI) -> None:
    targets, _, _ = setup(workspace, "imported module", package="helpers_b")
    run_id = crashed_run(workspace, cli, targets or None)
    code, out = cli("resume")
    assert f"resuming run {run_id} (2 trials already saved)" in out, out
    assert code in (0, 1)


def test_trend_marks_a_change_of_the_target_file(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    system = workspace.root / "system.py"
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    for _ in range(3):
        assert cli("run")[0] in (0, 1)
    system.write_text(system.read_text().replace("30 days", "thirty days"))
    assert cli("run")[0] in (0, 1)
    out_file = tmp_path / "trend.html"
    code, out = cli("trend", "--out", str(out_file))
    assert code in (0, 1), out
    page = out_file.read_text()
    assert "config changed before:" in page
