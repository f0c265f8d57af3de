"""The files that decide a target's output (targets/inputs.py): the ways a target reaches
a workspace file that a resumed run must not see edited unnoticed."""

from __future__ import annotations

import os
from pathlib import Path

from evalkit.targets.inputs import target_input_hashes
from evalkit.workspace.models import TargetSpec


def files_of(root: Path, **target: object) -> set[str]:
    spec = TargetSpec.model_validate({"id": "t", **target})
    return set(target_input_hashes(spec, root, root / "evals"))


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_modules_imported_by_a_literal_name_are_followed(tmp_path: Path) -> None:
    write(tmp_path, {
        "system.py": "import importlib\n"
                     "impl = importlib.import_module('plugins.impl')\n"
                     "other = __import__('plugins.other')\n",
        "plugins/__init__.py": "",
        "plugins/impl.py": "def reply(q):\n    return 'v1'\n",
        "plugins/other.py": "",
    })  # fmt: skip
    found = files_of(tmp_path, provider="python", function="system.py:answer")
    assert {"plugins/impl.py", "plugins/other.py", "plugins/__init__.py"} <= found


def test_a_command_s_scripts_are_found_after_cd_and_through_shell_scripts(
    tmp_path: Path,
) -> None:
    write(tmp_path, {
        "tools/answer.py": "import helper\n",
        "tools/helper.py": "",
        "tools/run.sh": "#!/bin/sh\n# runs the real thing\npython3 tools/impl.py \"$@\"\n",
        "tools/impl.py": "",
        "tools/answer": "#!/usr/bin/env python3\nimport lib\n",
        "tools/lib.py": "",
    })  # fmt: skip
    os.chmod(tmp_path / "tools" / "answer", 0o755)
    found = files_of(tmp_path, provider="command", command="cd tools && python3 answer.py")
    assert found == {"tools/answer.py", "tools/helper.py"}
    found = files_of(tmp_path, provider="command", command="sh tools/run.sh")
    assert found == {"tools/run.sh", "tools/impl.py"}
    found = files_of(tmp_path, provider="command", command="./tools/answer")
    assert found == {"tools/answer", "tools/lib.py"}


def test_a_wide_import_graph_is_followed_whole(tmp_path: Path) -> None:
    modules = {f"mods/m{i}.py": f"VALUE = {i}\n" for i in range(600)}
    fan_out = "".join(f"from mods import m{i}\n" for i in range(600))
    write(tmp_path, {"mods/__init__.py": "", "mods/all_.py": fan_out, **modules})
    found = files_of(tmp_path, provider="python", function="mods.all_:answer")
    assert {f"mods/m{i}.py" for i in range(600)} <= found
