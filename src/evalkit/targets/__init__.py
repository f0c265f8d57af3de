"""Targets: the systems that answer cases. See `base` for the seam.

Built-in providers are imported when a plan first uses them (see `base.providers`);
`build_targets` turns one plan target into one ready Target per prompt variant.
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from pydantic import BaseModel, ValidationError

from evalkit.errors import ConfigError, TargetError
from evalkit.targets.base import (
    Target,
    TargetCallError,
    TargetContext,
    TargetUnavailable,
    providers,
    register,
)
from evalkit.targets.envrefs import interpolate
from evalkit.targets.toolbox import build_toolbox
from evalkit.workspace.models import PromptSpec, TargetSpec

__all__ = [
    "Target",
    "TargetCallError",
    "TargetContext",
    "TargetUnavailable",
    "build_targets",
    "providers",
    "register",
]


def build_targets(spec: TargetSpec, ctx: TargetContext) -> list[Target]:
    """One Target per prompt variant of `spec` (one with prompt_id None when it has none).

    Raises TargetError for an unknown provider or bad options, and TargetUnavailable
    when an env var it needs (`requires_env`, an API key) is not set.
    """
    registered = providers()
    cls = registered.get(spec.provider)
    if cls is None:
        close = difflib.get_close_matches(spec.provider, list(registered), n=1)
        suggestion = f" (did you mean '{close[0]}'?)" if close else ""
        raise TargetError(
            f"target '{spec.id}': unknown provider '{spec.provider}'{suggestion}",
            hint=f"known providers: {', '.join(sorted(registered))}",
        )
    missing = [name for name in spec.requires_env if not os.environ.get(name)]
    if missing:
        raise TargetUnavailable(f"{', '.join(missing)} is not set")
    options = _validate_options(spec, cls.Options, interpolate(spec.model_extra or {}, spec.id))
    prompt_ids = [p.id for p in spec.prompts]
    duplicates = sorted({p for p in prompt_ids if prompt_ids.count(p) > 1})
    if duplicates:
        raise TargetError(f"target '{spec.id}': prompt id '{duplicates[0]}' is used twice")
    variants: list[PromptSpec | None] = list(spec.prompts) or [None]
    built: list[Target] = [cls(spec, options, prompt, ctx) for prompt in variants]
    if spec.tools:
        if spec.provider not in TOOL_PROVIDERS:
            raise ConfigError(
                f"target '{spec.id}' ({spec.provider}): `tools:` runs the tool loop for "
                f"{' and '.join(TOOL_PROVIDERS)} targets only",
                hint="a python agent runs its own tools and returns its `trajectory`",
            )
        toolbox = build_toolbox(spec, ctx)
        for target in built:
            target.toolbox = toolbox  # type: ignore[attr-defined]  # read by the engine
    return built


# Providers whose model asks for tools through the SDK; evalkit runs their tool loop.
TOOL_PROVIDERS = ("anthropic", "openai")


def _validate_options(
    spec: TargetSpec, model: type[BaseModel], extras: dict[str, Any]
) -> BaseModel:
    try:
        return model.model_validate(extras)
    except ValidationError as exc:
        known = ", ".join(sorted(model.model_fields))
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "options"
            if error["type"] == "extra_forbidden":
                problems.append(f"unknown option '{field}'")
            else:
                # Values are left out on purpose: an option may hold a pasted secret.
                problems.append(f"{field}: {error['msg']}")
        raise TargetError(
            f"target '{spec.id}' ({spec.provider}): {'; '.join(problems)}",
            hint=f"options of provider '{spec.provider}': {known}",
        ) from None
