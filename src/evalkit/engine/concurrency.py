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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


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
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `limit` slots for the duration of a call."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

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
