"""The `command` provider: a program reads the prompt on stdin and answers on stdout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from evalkit.records import ErrorKind, TargetOutput, TargetRequest
from evalkit.targets.base import TargetCallError, TargetContext, register
from evalkit.targets.local import LocalTarget
from evalkit.workspace.models import PromptSpec, TargetSpec

STDERR_TAIL_CHARS = 500


class CommandOptions(BaseModel):
    """A plan target's keys for `provider: command`."""

    model_config = ConfigDict(extra="forbid")

    command: str | list[str] = Field(min_length=1)  # a string runs through the shell
    env: dict[str, str] = Field(default_factory=dict)  # added to the inherited environment


def strip_one_newline(text: str) -> str:
    """`text` without one trailing newline (echo adds one; more are the program's own)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= STDERR_TAIL_CHARS else "…" + text[-STDERR_TAIL_CHARS:]


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The command runs in its own session, so its pgid is its pid: killing the group
    # takes down shells' children and grandchildren too, not just the shell.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@register("command")
class CommandTarget(LocalTarget):
    """Any program as the system under test."""

    provider: ClassVar[str] = "command"
    Options: ClassVar[type[CommandOptions]] = CommandOptions

    def __init__(
        self,
        spec: TargetSpec,
        options: CommandOptions,
        prompt: PromptSpec | None,
        ctx: TargetContext,
    ) -> None:
        super().__init__(spec, prompt, ctx)
        self._command = options.command
        self._extra_env = options.env
        self._cwd: Path = ctx.root

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """Run the program once; cancellation (the engine's timeout) kills its process group."""
        env = {
            **os.environ,
            **self._extra_env,
            "EVALKIT_CASE_ID": request.case.id,
            "EVALKIT_SUITE": request.case.suite,
            "EVALKIT_EPOCH": str(request.epoch),
            "EVALKIT_VARS": json.dumps(request.case.vars, ensure_ascii=False, default=str),
        }
        if request.steps is not None:  # a conversation: the history so far, as JSON
            env["EVALKIT_MESSAGES"] = json.dumps(
                [{"role": m.role, "content": m.content} for m in request.messages or []],
                ensure_ascii=False,
            )
        stdin = (request.prompt or "").encode()
        started = time.perf_counter()
        process = await self._spawn(env)
        try:
            stdout, stderr = await process.communicate(stdin)
        except BaseException:
            _kill_group(process)
            # Reap it so no zombie is left; the kill makes this wait short.
            await asyncio.shield(process.wait())
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        err_text = stderr.decode("utf-8", errors="replace")
        if process.returncode != 0:
            code = process.returncode
            if code is not None and code < 0:
                how = f"was killed by signal {-code}"
            else:
                how = f"exited with status {code}"
            detail = _tail(err_text) or "(no stderr)"
            raise TargetCallError(ErrorKind.EXCEPTION, f"command {how}: {detail}")
        metadata: dict[str, Any] = {"exit_code": 0}
        if err_text.strip():
            metadata["stderr"] = _tail(err_text)
        return TargetOutput(
            text=strip_one_newline(stdout.decode("utf-8", errors="replace")),
            latency_ms=latency_ms,
            metadata=metadata,
        )

    async def _spawn(self, env: dict[str, str]) -> asyncio.subprocess.Process:
        pipes: dict[str, Any] = {
            "stdin": asyncio.subprocess.PIPE,
            "stdout": asyncio.subprocess.PIPE,
            "stderr": asyncio.subprocess.PIPE,
            "cwd": self._cwd,
            "env": env,
            "start_new_session": True,
        }
        try:
            if isinstance(self._command, str):
                return await asyncio.create_subprocess_shell(self._command, **pipes)
            return await asyncio.create_subprocess_exec(*self._command, **pipes)
        except OSError as exc:
            raise TargetCallError(
                ErrorKind.EXCEPTION, f"cannot start command {self._command!r}: {exc}"
            ) from exc
