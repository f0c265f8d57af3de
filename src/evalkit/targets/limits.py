"""How hard to drive one target, and the response-cache key of a request: shared by
the engine (trials) and the judges (grades), which both call targets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from evalkit.targets.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class TargetLimits:
    """How hard to drive one target."""

    concurrency: int
    timeout: float  # seconds per attempt, wall clock
    retry: RetryPolicy


def request_hash(fingerprint: dict[str, Any]) -> str:
    """The response-cache key: sha256 of the request's canonical JSON."""
    canonical = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
