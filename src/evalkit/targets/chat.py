"""What the SDK-backed chat targets (anthropic, openai) share: options, rendering,
fingerprints, API keys and timing."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt

from evalkit.records import Case, TargetRequest
from evalkit.targets.base import TargetContext, TargetUnavailable
from evalkit.targets.prompt import PromptRenderer
from evalkit.targets.wire import steps_json
from evalkit.workspace.models import PromptSpec, TargetSpec
from evalkit.workspace.secrets import remember_env

# The engine enforces the per-attempt timeout; the SDK's own timeout sits just above it
# so that a hung connection is still closed if the engine's cancellation is missed.
SDK_TIMEOUT_MARGIN = 5.0

Number = StrictFloat | StrictInt


class ChatOptions(BaseModel):
    """Options every chat model target accepts."""

    model_config = ConfigDict(extra="forbid")

    model: str
    system: str | None = None  # a Jinja2 template, used when a prompt gives no system
    temperature: Number | None = None
    top_p: Number | None = None
    stop: list[str] | None = None
    base_url: str | None = None


def read_api_key(env_name: str) -> str:
    """The API key in env var `env_name`; TargetUnavailable when it is unset or empty."""
    key = remember_env(env_name)  # redacted by value wherever it shows up
    if not key:
        raise TargetUnavailable(f"{env_name} is not set")
    return key


def sdk_timeout(spec: TargetSpec, ctx: TargetContext) -> float:
    """The SDK client's timeout in seconds: the attempt timeout plus a margin."""
    attempt = float(spec.timeout) if spec.timeout is not None else ctx.timeout
    return attempt + SDK_TIMEOUT_MARGIN


class ChatTarget:
    """Rendering and fingerprinting for one (target, prompt variant) of a chat model."""

    provider: ClassVar[str]

    def __init__(
        self, spec: TargetSpec, options: ChatOptions, prompt: PromptSpec | None, ctx: TargetContext
    ) -> None:
        self.id = spec.id
        self.prompt_id = prompt.id if prompt else None
        self.model = options.model
        self._renderer = PromptRenderer(spec.id, prompt, ctx, default_system=options.system)
        self._pricing = ctx.pricing
        self._base_url = ""  # set by the subclass once its SDK client exists

    def render(self, case: Case, epoch: int) -> TargetRequest:
        """Render the case with this variant's compiled templates."""
        return self._renderer.render(case, epoch)

    def fingerprint(self, request: TargetRequest) -> dict[str, Any] | None:
        """Everything that decides the model's answer, and nothing secret."""
        return {
            "provider": self.provider,
            "base_url": self._base_url,
            "model": self.model,
            "system": request.system,
            "messages": [[m.role, m.content] for m in request.messages or []],
            **self.sampling(),
            "epoch": request.epoch,
            # judge requests only; left out when unset so older cache keys stay valid
            **({"response_schema": request.response_schema} if request.response_schema else {}),
            **({"top_logprobs": request.top_logprobs} if request.top_logprobs else {}),
            # conversations and tool loops only, likewise
            **({"steps": steps_json(request.steps)} if request.steps is not None else {}),
            **(
                {"tools": [[t.name, t.description, t.parameters] for t in request.tools]}
                if request.tools
                else {}
            ),
        }

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters sent with every request (unset ones left out)."""
        raise NotImplementedError
