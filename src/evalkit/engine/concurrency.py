"""Adaptive concurrency: fewer calls in flight while a target says it is rate-limited.

AIMD, as TCP does it: a 429 halves the target's in-flight limit (multiplicative
decrease), and every `limit` successful calls in a row raise it by one (additive
increase) until the configured ceiling. Retry-After alone only delays the call that
got the 429; without this, the other workers keep hitting the server at full rate
and the storm lasts as long as the run. The state is a few integers per target, so
it costs nothing however long the run is.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class AdaptiveLimiter:
    """An async semaphore whose size follows AIMD between 1 and `ceiling`."""

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling
        self.in_flight = 0
        self.lowest = ceiling  # the smallest limit reached, reported in the run summary
        self.decreases = 0
        self._successes = 0
        self._waiting = 0  # calls waiting for a slot
        self._changed = asyncio.Condition()

    def slot(self) -> _Slot:
        """Hold one of the `limit` slots for the duration of a call (`async with`)."""
        return _Slot(self)

    def rate_limited(self) -> None:
        """A call was refused with 429: halve the limit (never below 1)."""
        self.limit = max(1, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self.decreases += 1
        self._successes = 0

    async def succeeded(self) -> None:
        """A call succeeded: after `limit` successes in a row, allow one more in flight."""
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            async with self._changed:
                self._changed.notify_all()


class _Slot:
    """One slot of an AdaptiveLimiter, held inside `async with`. While a slot is free
    and nobody waits, taking and giving it back touch no lock: on one event loop
    nothing runs between the check and the count (this is on every call's path)."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: AdaptiveLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        limiter = self._limiter
        if limiter._waiting == 0 and limiter.in_flight < limiter.limit:
            limiter.in_flight += 1
            return
        limiter._waiting += 1
        try:
            async with limiter._changed:
                await limiter._changed.wait_for(lambda: limiter.in_flight < limiter.limit)
                limiter.in_flight += 1
        finally:
            limiter._waiting -= 1

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        limiter = self._limiter
        limiter.in_flight -= 1
        if limiter._waiting:
            async with limiter._changed:
                limiter._changed.notify_all()
