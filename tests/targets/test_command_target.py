"""The command target: stdin/stdout, env, exit codes, and killing the process group."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from evalkit.records import ErrorKind
from evalkit.targets.base import Target, TargetCallError
from tests.targets.helpers import build_one, case, workspace


def command_target(tmp_path: Path, command: str | list[str], **options: object) -> Target:
    return build_one("command", workspace(tmp_path), command=command, **options)


async def run(target: Target, **vars: Any) -> str | None:
    return (await target.generate(target.render(case(**vars), 0))).text


async def test_prompt_on_stdin_output_on_stdout(tmp_path: Path) -> None:
    assert await run(command_target(tmp_path, "tr a-z A-Z"), question="shout") == "SHOUT"


async def test_exactly_one_trailing_newline_is_stripped(tmp_path: Path) -> None:
    assert await run(command_target(tmp_path, "printf 'a\\n\\n'"), q="x") == "a\n"


async def test_case_id_and_vars_in_env_cwd_is_workspace(tmp_path: Path) -> None:
    script = 'printf "%s|%s|%s" "$EVALKIT_CASE_ID" "$EVALKIT_VARS" "$(pwd -P)"'
    expected_cwd = str(tmp_path.resolve())  # noqa: ASYNC240 - a test's setup, not the engine
    text = await run(command_target(tmp_path, script), question="q", n=2)
    assert text is not None
    case_id, vars_json, cwd = text.split("|")
    assert (case_id, json.loads(vars_json)) == ("c1", {"question": "q", "n": 2})
    assert cwd == expected_cwd


async def test_argv_list_runs_without_a_shell(tmp_path: Path) -> None:
    text = await run(command_target(tmp_path, ["echo", "$HOME", "two words"]), q="x")
    assert text == "$HOME two words"


async def test_nonzero_exit_reports_stderr_tail(tmp_path: Path) -> None:
    target = command_target(tmp_path, "echo partial; echo 'model crashed' >&2; exit 3")
    with pytest.raises(TargetCallError) as caught:
        await run(target, q="x")
    assert caught.value.kind is ErrorKind.EXCEPTION
    assert caught.value.message == "command exited with status 3: model crashed"


async def test_missing_program_is_an_exception(tmp_path: Path) -> None:
    target = command_target(tmp_path, ["/nonexistent/evalkit-answerer"])
    with pytest.raises(TargetCallError, match="cannot start command") as caught:
        await run(target, q="x")
    assert caught.value.kind is ErrorKind.EXCEPTION


def _alive(pid: int) -> bool:
    # A zombie has exited; only a running or sleeping process counts as alive.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_cancellation_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The shell starts a grandchild and waits; cancelling must take both down.
    target = command_target(tmp_path, "sleep 30 & echo $! > child.pid; wait")
    task = asyncio.create_task(run(target, q="x"))
    pid_file = tmp_path / "child.pid"
    deadline = time.monotonic() + 5
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        await asyncio.sleep(0.01)
    child = int(pid_file.read_text())
    try:
        assert _alive(child)
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(task, 0.05)
        assert time.monotonic() - started < 2
        for _ in range(150):  # up to 3 s for init to reap the orphan
            if not _alive(child):
                break
            await asyncio.sleep(0.02)
        assert not _alive(child)
    finally:
        if _alive(child):  # never leave a stray sleeper behind on failure
            os.kill(child, signal.SIGKILL)


def test_not_cached(tmp_path: Path) -> None:
    target = command_target(tmp_path, "cat")
    assert target.fingerprint(target.render(case(q="x"), 0)) is None
