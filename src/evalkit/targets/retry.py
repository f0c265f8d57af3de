"""When to try a failed target call again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from evalkit.records import TargetFailure

MAX_RETRY_AFTER = 120.0  # a server asking for longer than this is treated as down


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring Retry-After.

    Full jitter (a uniform draw up to the exponential cap) spreads the retries of many
    concurrent trials so they don't hit a rate-limited server in lock step.
    """

    retries: int = 4  # attempts after the first
    base: float = 0.5  # seconds
    cap: float = 30.0  # seconds

    def should_retry(self, failure: TargetFailure, attempt: int) -> bool:
        """Retry transient failures (429, 5xx, connection) while attempts remain."""
        return failure.kind.retryable and attempt <= self.retries

    def delay(self, failure: TargetFailure, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1`."""
        backoff = rng.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if failure.retry_after is not None:
            # The server knows when it will take us back: never come sooner.
            return max(min(failure.retry_after, MAX_RETRY_AFTER), backoff)
        return backoff
