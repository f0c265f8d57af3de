"""Canary tokens: a secret planted in a target's prompt, different for every trial.

A template that says `{{ canary }}` (a system prompt, a context document) gets a token
derived from the trial (suite, case, target, epoch). The `leaks-canary` grader derives
the same token for the trial it grades, so a leak is found without storing the token
anywhere. Derived, not random: the same trial renders the same request, which keeps the
response cache and `evalkit resume` exact; a different trial never shares a token, so
one trial's leak cannot be mistaken for another's.
"""

from __future__ import annotations

import base64
import hashlib

PREFIX = "CANARY-"
_BODY = 12  # base32 characters: 60 bits, so a false match in ordinary text is hopeless


def canary_for(suite: str, case_id: str, target_id: str, epoch: int) -> str:
    """The trial's canary, e.g. `CANARY-7QX2M9KD4TLA`."""
    seed = f"evalkit-canary\x00{suite}\x00{case_id}\x00{target_id}\x00{epoch}".encode()
    digest = base64.b32encode(hashlib.sha256(seed).digest()).decode("ascii")
    return PREFIX + digest[:_BODY]


def canary_body(token: str) -> str:
    """The random part of a canary: what a leak must reproduce to count."""
    return token[len(PREFIX) :] if token.startswith(PREFIX) else token
