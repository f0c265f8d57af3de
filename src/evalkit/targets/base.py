"""The Target seam: anything that answers a case.

A provider is a class registered under a name (`anthropic`, `openai`, `http`,
`python`, `command`, `replay`). The engine builds one instance per target in a plan,
asks it for a request fingerprint (the response-cache key), and awaits `generate`.
Providers raise `TargetCallError` for a failed call; the engine decides on retries
from its `kind` and records the last failure on the result.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from evalkit.records import Case, ErrorKind, TargetOutput, TargetRequest
from evalkit.workspace.models import PromptSpec, TargetSpec
from evalkit.workspace.secrets import redact_text


class TargetCallError(Exception):
    """A call to a target failed; `kind` tells the engine whether to retry."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        # Bodies and URLs in a failure may hold a key (a 401 that echoes it, ?api_key=).
        message = redact_text(message)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


@runtime_checkable
class Target(Protocol):
    """What the engine needs from a provider instance.

    One instance answers for one (target, prompt variant): a plan target with
    prompts A and B becomes two instances sharing `id`, with `prompt_id` "A" / "B".
    """

    id: str
    prompt_id: str | None
    provider: ClassVar[str]

    def render(self, case: Case, epoch: int) -> TargetRequest:
        """Build the request for one case (render prompt templates from its vars).

        Raises TargetCallError(ErrorKind.CONFIG, ...) when a template can't render.
        """
        ...

    def fingerprint(self, request: TargetRequest) -> dict[str, Any] | None:
        """JSON-able description of the whole request (provider, base_url, model,
        rendered messages, parameters, epoch) for the response cache; None when the
        target must not be cached (python, command, replay)."""
        ...

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """Answer one request, or raise TargetCallError."""
        ...

    async def aclose(self) -> None:
        """Release clients and connections."""
        ...


class TargetContext:
    """What a provider may need beyond its own spec."""

    def __init__(
        self,
        root: Path,
        plan_dir: Path,
        pricing: dict[str, tuple[float, float]] | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.root = root  # workspace root: every file a target reads must be inside
        self.plan_dir = plan_dir  # relative paths in a plan resolve from here
        self.pricing = pricing or {}  # model -> (USD per Mtok input, output), plan overrides
        self.timeout = timeout  # per-attempt wall clock; SDK timeouts are set above it


class TargetUnavailable(Exception):
    """A target can't run in this environment (e.g. its API key is not set).

    Raised by a provider's constructor; the engine skips the target with a one-line
    notice and the rest of the plan runs.
    """


class Provider(Protocol):
    """A provider class: validated options in, one Target per prompt variant out."""

    Options: ClassVar[type[BaseModel]]  # the provider's own keys in a plan target

    def __call__(
        self, spec: TargetSpec, options: BaseModel, prompt: PromptSpec | None, ctx: TargetContext
    ) -> Target: ...


_REGISTRY: dict[str, Any] = {}

P = TypeVar("P")


def register(name: str) -> Callable[[P], P]:
    """Class decorator: make a provider available under `name` in plans.

    The class has an `Options` pydantic model (extra="forbid") for its own keys and
    is constructed as `cls(spec, options, prompt, ctx)`.
    """

    def decorate(cls: P) -> P:
        _REGISTRY[name] = cls
        return cls

    return decorate


# Built-in providers are imported on first use: the anthropic and openai SDKs alone
# take seconds and ~100 MB to import, which a plan of python targets never needs.
_BUILTIN_MODULES = {
    "anthropic": "evalkit.targets.anthropic_provider",
    "command": "evalkit.targets.command_provider",
    "http": "evalkit.targets.http_provider",
    "openai": "evalkit.targets.openai_provider",
    "python": "evalkit.targets.python_provider",
    "replay": "evalkit.targets.replay_provider",
}


class _Providers(Mapping[str, Any]):
    """Provider classes by name, importing a built-in's module when it is first asked for."""

    def __getitem__(self, name: str) -> Any:
        if name not in _REGISTRY and name in _BUILTIN_MODULES:
            importlib.import_module(_BUILTIN_MODULES[name])  # registers itself
        return _REGISTRY[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set(_REGISTRY) | set(_BUILTIN_MODULES)))

    def __len__(self) -> int:
        return len(set(_REGISTRY) | set(_BUILTIN_MODULES))


def providers() -> Mapping[str, Any]:
    """Provider classes by name (built-ins and any registered with `@register`)."""
    return _Providers()
