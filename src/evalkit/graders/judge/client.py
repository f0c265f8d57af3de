"""The judge: a target that model-graded graders ask, through the engine's call path.

One `JudgeClient` per run, built by the session and made current (a contextvar) while
the engine runs, so a grader needs no plumbing: `current_judge()`. Every call goes
through `Engine.call_target` (the same limiter, wall-clock timeout and retries as the
trials) and the response cache: a rerun with the same judge and the same prompts makes
no judge calls. Identical requests in flight at once (a G-Eval's shared evaluation
steps) are made once. Spend is counted per grade in a `Ledger`, apart from the target's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from evalkit.records import NO_JUDGE, Case, Message, TargetOutput, TargetRequest
from evalkit.targets.base import Target
from evalkit.targets.limits import TargetLimits, request_hash

CallFn = Callable[[Target, TargetRequest, TargetLimits], Awaitable[TargetOutput]]
LookupFn = Callable[[Iterable[str]], dict[str, TargetOutput]]
SaveFn = Callable[[str, str, TargetOutput], None]

_CURRENT: contextvars.ContextVar[JudgeClient | None] = contextvars.ContextVar(
    "evalkit_judge", default=None
)


def current_judge() -> JudgeClient | None:
    """The judge of the run being graded (None outside a run)."""
    return _CURRENT.get()


def set_judge(judge: JudgeClient | None) -> contextvars.Token[JudgeClient | None]:
    """Make `judge` current for this context (tasks created afterwards inherit it)."""
    return _CURRENT.set(judge)


def reset_judge(token: contextvars.Token[JudgeClient | None]) -> None:
    """Undo a `set_judge`."""
    _CURRENT.reset(token)


class JudgeFailed(Exception):
    """The judge could not be reached (after the engine's retries)."""


@dataclass(slots=True)
class Ledger:
    """What one grade's judge calls cost; stored in the grade's judge columns."""

    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0

    def add(self, output: TargetOutput) -> None:
        """Count one answer; a cached one costs nothing and spent no tokens now."""
        self.calls += 1
        if output.cached:
            self.cached_calls += 1
            return
        if output.usage is not None:
            self.input_tokens += output.usage.input_tokens
            self.output_tokens += output.usage.output_tokens
        if output.cost_usd is None:
            self.cost_usd = None  # unknown price: say so rather than under-count
        elif self.cost_usd is not None:
            self.cost_usd += output.cost_usd

    def as_metadata(self, model: str) -> dict[str, Any]:
        """The `judge` entry of a grade's metadata (the store moves it to columns)."""
        return {
            "model": model,
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass(slots=True)
class RunTotals:
    """The judge's spend over a run, for the run summary."""

    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0  # calls whose model has no known price: the cost is unknown
    pairs: int = 0  # pairwise comparisons judged in both orders ...
    position_biased: int = 0  # ... of which the two orders disagreed


@dataclass
class JudgeClient:
    """Asks the run's judge; or, when it can't run, says why (`unavailable`)."""

    name: str  # "provider:model", shown and stored with every grade
    target: Target | None
    limits: TargetLimits | None
    call: CallFn | None
    lookup: LookupFn | None = None  # None: don't read the cache (--no-cache)
    save: SaveFn | None = None
    unavailable: str | None = None  # why there is no judge (e.g. no API key)
    notify: Callable[[str], None] = lambda _message: None
    totals: RunTotals = field(default_factory=RunTotals)
    _notified: bool = False
    _inflight: dict[str, asyncio.Future[TargetOutput]] = field(default_factory=dict)

    def skip_reason(self) -> str | None:
        """Why model-graded grades are skipped, telling the run once; None when judging."""
        if self.unavailable is None:
            return None
        if not self._notified:
            self._notified = True
            self.notify(f"model-graded graders are skipped: {self.unavailable}")
        return f"{NO_JUDGE}{self.unavailable}"

    async def ask(
        self,
        system: str,
        prompt: str,
        schema: dict[str, Any] | None,
        ledger: Ledger,
        *,
        sample: int = 0,
        top_logprobs: int | None = None,
        cache_salt: str = "",
    ) -> TargetOutput:
        """One judge answer (from the cache when it has it); JudgeFailed if none came."""
        assert self.target is not None and self.limits is not None and self.call is not None
        request = TargetRequest(
            case=_JUDGE_CASE,
            epoch=0,
            messages=[Message("user", prompt)],
            system=system,
            response_schema=schema,
            top_logprobs=top_logprobs,
        )
        fingerprint = self.target.fingerprint(request)
        key = None
        if fingerprint is not None:
            key = request_hash({"judge": fingerprint, "sample": sample, "salt": cache_salt})
        output = await self._answer(request, key)
        if output.error is not None:
            raise JudgeFailed(f"judge {self.name} failed: {output.error.message}")
        ledger.add(output)
        self._count(output)
        return output

    async def _answer(self, request: TargetRequest, key: str | None) -> TargetOutput:
        assert self.target is not None and self.limits is not None and self.call is not None
        if key is None:
            return await self.call(self.target, request, self.limits)
        if self.lookup is not None:
            hit = self.lookup([key]).get(key)
            if hit is not None:
                return hit
        pending = self._inflight.get(key)
        if pending is not None:  # the same request is on its way: share its answer
            shared = await asyncio.shield(pending)
            return TargetOutput(
                text=shared.text,
                data=shared.data,
                usage=shared.usage,
                metadata=shared.metadata,
                cost_usd=0.0,
                cached=True,
                attempts=0,
                error=shared.error,
            )
        future: asyncio.Future[TargetOutput] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            output = await self.call(self.target, request, self.limits)
            future.set_result(output)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when unshared
            raise
        finally:
            del self._inflight[key]
        if output.error is None and self.save is not None:
            self.save(key, self.target.provider, output)
        return output

    def _count(self, output: TargetOutput) -> None:
        totals = self.totals
        totals.calls += 1
        if output.cached:
            totals.cached_calls += 1
            return
        if output.usage is not None:
            totals.input_tokens += output.usage.input_tokens
            totals.output_tokens += output.usage.output_tokens
        if output.cost_usd is None and output.error is None:
            totals.unpriced_calls += 1
        totals.cost_usd += output.cost_usd or 0.0

    def summary(self) -> dict[str, Any]:
        """The run summary's `judge` entry."""
        t = self.totals
        rate = t.position_biased / t.pairs if t.pairs else None
        return {
            "model": self.name,
            "unavailable": self.unavailable,
            "calls": t.calls,
            "cached_calls": t.cached_calls,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            # unknown when any call's price was: a partial sum would read as the whole
            "cost_usd": None if t.unpriced_calls else t.cost_usd,
            "pairs": t.pairs,
            "position_bias_rate": rate,
        }

    async def aclose(self) -> None:
        """Release the judge target's connections."""
        if self.target is not None:
            await self.target.aclose()


# Judge requests are not about one case; targets only read `case` to render prompts,
# which the judge does itself.
_JUDGE_CASE = Case(suite="", id="judge")
