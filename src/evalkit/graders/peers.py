"""Other targets' outputs on the same case, for graders that compare them.

`pairwise` with `against: claude[concise]` judges a trial's output against the output
the `claude` target's `concise` prompt gave for the same case and epoch. The engine
publishes the outputs of the variants some grader compares against; a grader awaits
its peer here. Peers that never arrive (the target was filtered out, skipped, or the
run was stopped) are resolved as None when the engine has run every trial, so a
waiting grade ends as `skipped` instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import re
from contextvars import ContextVar
from dataclasses import dataclass

from evalkit.records import Case, TargetOutput

PeerKey = tuple[str, str, str, str | None, int]  # suite, case id, target, prompt, epoch
_REF = re.compile(r"^(?P<target>[^\[\]]+)(?:\[(?P<prompt>[^\[\]]+)\])?$")


@dataclass(frozen=True, slots=True)
class TrialIdentity:
    """Which trial is being graded (set by the engine while its graders run)."""

    target_id: str
    prompt_id: str | None
    epoch: int


def parse_peer(ref: str) -> tuple[str, str | None]:
    """'claude[concise]' -> ('claude', 'concise'); 'baseline' -> ('baseline', None)."""
    found = _REF.match(ref.strip())
    if found is None:
        raise ValueError(f"'{ref}' is not a target reference; write TARGET or TARGET[PROMPT]")
    return found["target"], found["prompt"]


class PeerOutputs:
    """Outputs published by trial, awaited by graders of other trials of the same case."""

    def __init__(self, wanted: set[tuple[str, str | None]]) -> None:
        self.wanted = wanted  # the (target, prompt) variants some grader compares against
        self._futures: dict[
            tuple[str, str, str, str | None, int], asyncio.Future[TargetOutput | None]
        ] = {}
        self._closed = False

    def publish(self, case: Case, trial: TrialIdentity, output: TargetOutput) -> None:
        """Make a trial's output available to the graders waiting for it."""
        if (trial.target_id, trial.prompt_id) not in self.wanted:
            return  # nobody compares against this variant: keep no copy of its outputs
        future = self._future((case.suite, case.id, trial.target_id, trial.prompt_id, trial.epoch))
        if not future.done():
            future.set_result(output)

    async def wait(
        self, case: Case, target_id: str, prompt_id: str | None, epoch: int
    ) -> TargetOutput | None:
        """The peer's output for this case and epoch; None when it will never come."""
        future = self._future((case.suite, case.id, target_id, prompt_id, epoch))
        if self._closed and not future.done():
            future.set_result(None)
        return await future

    def close(self) -> None:
        """Every trial has run: peers still missing will not come."""
        self._closed = True
        for future in self._futures.values():
            if not future.done():
                future.set_result(None)

    def _future(self, key: PeerKey) -> asyncio.Future[TargetOutput | None]:
        future = self._futures.get(key)
        if future is None:
            future = self._futures[key] = asyncio.get_running_loop().create_future()
        return future


current_peers: ContextVar[PeerOutputs | None] = ContextVar("current_peers", default=None)
current_trial: ContextVar[TrialIdentity | None] = ContextVar("current_trial", default=None)
