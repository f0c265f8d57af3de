"""Choosing and building a run's judge: the plan's `judge:`, else $EVALKIT_JUDGE, else Claude.

A judge is an ordinary target (any provider) run at temperature 0 unless told otherwise.
A judge that can't run here (no API key) is not an error: model-graded grades are
skipped with one notice and the rest of the run counts.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from evalkit.errors import ConfigError, TargetError
from evalkit.graders.base import registry
from evalkit.graders.judge.client import CallFn, JudgeClient, reset_judge, set_judge
from evalkit.records import Case, GraderConfig, TargetOutput
from evalkit.targets import build_targets
from evalkit.targets.base import TargetContext, TargetUnavailable
from evalkit.targets.limits import TargetLimits
from evalkit.targets.retry import RetryPolicy
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.models import TargetSpec

JUDGE_ENV = "EVALKIT_JUDGE"
DEFAULT_JUDGE = "anthropic:claude-sonnet-4-6"
JUDGE_ID = "_judge"  # its own limiter in the engine, whatever the targets are called
_DEFAULT_MAX_TOKENS = {"anthropic": 1024}

T = TypeVar("T")


def judge_spec(configured: str | dict[str, Any] | None, where: str) -> TargetSpec:
    """The judge's target spec from the plan's `judge:` (or the env var, or the default)."""
    value: str | dict[str, Any] = configured or os.environ.get(JUDGE_ENV) or DEFAULT_JUDGE
    origin = where if configured else (JUDGE_ENV if os.environ.get(JUDGE_ENV) else "default")
    if isinstance(value, str):
        provider, sep, model = value.partition(":")
        if not sep:
            provider, model = "anthropic", value  # a bare model name is a Claude model
        if not provider or not model:
            raise ConfigError(
                f"{origin}: judge '{value}' is not provider:model",
                hint="e.g. anthropic:claude-sonnet-4-6 or openai:gpt-4.1-mini",
            )
        value = {"provider": provider, "model": model}
    keys = {"id": JUDGE_ID, **value}
    keys.setdefault("temperature", 0)  # a judge should give the same verdict twice
    provider = str(keys.get("provider", ""))
    if provider in _DEFAULT_MAX_TOKENS:
        keys.setdefault("max_tokens", _DEFAULT_MAX_TOKENS[provider])
    try:
        return TargetSpec.model_validate(keys)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{origin}: judge: {problems}") from None


def build_judge(
    configured: str | dict[str, Any] | None,
    *,
    where: str,
    ctx: TargetContext,
    default_limits: TargetLimits,
    notify: Callable[[str], None],
) -> JudgeClient:
    """The run's judge client; an unavailable one (with the reason) when it can't run."""
    spec = judge_spec(configured, where)
    name = f"{spec.provider}:{(spec.model_extra or {}).get('model', '?')}"
    try:
        (target, *_others) = build_targets(spec, ctx)
    except TargetUnavailable as exc:
        reason = (
            f"judge {name} is unavailable: {exc} (set it, or choose another judge with "
            f"`judge:` in the plan or {JUDGE_ENV}=provider:model)"
        )
        return JudgeClient(name, None, None, None, unavailable=reason, notify=notify)
    except TargetError as exc:
        # the message names the judge's internal target id; the user wrote `judge:`
        message = exc.message.replace(f"target '{JUDGE_ID}' ", "").replace(
            f"target '{JUDGE_ID}': ", ""
        )
        raise ConfigError(f"{where}: judge: {message}", hint=exc.hint) from None
    limits = TargetLimits(
        concurrency=max(1, spec.concurrency or default_limits.concurrency),
        timeout=float(spec.timeout or default_limits.timeout),
        retry=RetryPolicy(retries=spec.retries)
        if spec.retries is not None
        else default_limits.retry,
    )
    return JudgeClient(name, target, limits, None, notify=notify)


def judge_for_run(
    plan: LoadedPlan, cases: Iterable[Case], notify: Callable[[str], None]
) -> JudgeClient | None:
    """The judge of a run whose cases use model-graded graders (None when none do, so a
    plan of rule graders never imports a model SDK); connect it with `attach`."""
    judges = registered_judges()
    if not any(g.name in judges for case in cases for g in _case_graders(case)):
        return None
    return plan_judge(plan, notify)


def _case_graders(case: Case) -> list[GraderConfig]:
    """A case's graders, those of its turns included."""
    return [*case.graders, *(g for turn in case.turns or [] for g in turn.graders)]


def plan_judge(plan: LoadedPlan, notify: Callable[[str], None]) -> JudgeClient:
    """The judge `plan` configures (its `judge:`, $EVALKIT_JUDGE or the default), built
    with the plan's pricing and limits; ConfigError when the configuration is wrong."""
    pricing = {name: (p.input, p.output) for name, p in plan.spec.pricing.items()}
    ctx = TargetContext(
        root=plan.root, plan_dir=plan.path.parent, pricing=pricing, timeout=plan.spec.timeout
    )
    defaults = TargetLimits(
        concurrency=plan.spec.concurrency,
        timeout=float(plan.spec.timeout),
        retry=RetryPolicy(retries=plan.spec.retries),
    )
    where = _relative(plan.path, plan.root)
    return build_judge(
        plan.spec.judge, where=where, ctx=ctx, default_limits=defaults, notify=notify
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def registered_judges() -> set[str]:
    """Names of graders that need the judge: the built-ins, and any grader whose
    module lives in this package."""
    return {
        name
        for name, definition in registry().items()
        if getattr(definition.fn, "__module__", "").startswith("evalkit.graders.judge")
    }


def attach(
    judge: JudgeClient | None,
    call: CallFn,
    lookup: Callable[[Iterable[str]], dict[str, TargetOutput]] | None,
    save: Callable[[str, str, TargetOutput], None] | None,
) -> None:
    """Route the judge's calls through the engine (`call`) and the response cache."""
    if judge is not None:
        judge.call, judge.lookup, judge.save = call, lookup, save


async def judging(judge: JudgeClient | None, work: Awaitable[T]) -> T:
    """Await `work` with `judge` current for every task it starts; close the judge after."""
    token = set_judge(judge)
    try:
        return await work
    finally:
        reset_judge(token)
        if judge is not None:
            await judge.aclose()
