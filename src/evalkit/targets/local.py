"""What the uncached, local targets (python, command, replay) share."""

from __future__ import annotations

from typing import Any

from evalkit.records import Case, TargetRequest
from evalkit.targets.base import TargetContext
from evalkit.targets.prompt import PromptRenderer
from evalkit.workspace.models import PromptSpec, TargetSpec


class LocalTarget:
    """A target answered on this machine: rendered like any other, never cached.

    Its answer may change with code or files the request does not describe (the
    function, the program, a re-recorded file), so a cached answer could be stale.
    """

    def __init__(self, spec: TargetSpec, prompt: PromptSpec | None, ctx: TargetContext) -> None:
        self.id = spec.id
        self.prompt_id = prompt.id if prompt else None
        self._renderer = PromptRenderer(spec.id, prompt, ctx, require_prompt=False)

    def render(self, case: Case, epoch: int) -> TargetRequest:
        """Render the case with this variant's compiled templates (a prompt is optional)."""
        return self._renderer.render(case, epoch)

    def fingerprint(self, request: TargetRequest) -> dict[str, Any] | None:
        """None: never cached (see the class docstring)."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""
