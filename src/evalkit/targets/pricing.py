"""What a model call cost: a per-model price table, overridable by a plan's `pricing:`.

Prices are USD per million tokens (input, output), list prices as published by
Anthropic and OpenAI on the date in PRICES_AS_OF (a plan's `pricing:` overrides
them). A model matches a key when it is the key itself or the key
plus a snapshot suffix ("claude-sonnet-4-5-20250929", "gpt-4o-2024-08-06", "-latest").
A bare prefix is not enough: "claude-opus-4" must not price "claude-opus-4-6", a model
released later at another price. An unknown model costs None: a wrong number in a report
is worse than a blank one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from evalkit.records import Usage

# What may follow a model family name in a dated or aliased snapshot id.
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|latest)")

# Anthropic bills prompt-cache reads and writes as multiples of the input price.
CACHE_READ_FACTOR = 0.1
CACHE_WRITE_FACTOR = 1.25

PRICES_AS_OF = "2026-02-17"  # when the list prices below were last checked

PRICES: dict[str, tuple[float, float]] = {
    # Anthropic
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-opus-4-0": (15.0, 75.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-sonnet-4-0": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-opus": (15.0, 75.0),
    "claude-3-haiku": (0.25, 1.25),
    # OpenAI
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5": (1.25, 10.0),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4": (30.0, 60.0),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o4-mini": (1.10, 4.40),
    "o3-pro": (20.0, 80.0),
    "o3-mini": (1.10, 4.40),
    "o3": (2.0, 8.0),
    "o1-mini": (1.10, 4.40),
    "o1": (15.0, 60.0),
}


def price_for(
    model: str, overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """(input, output) USD per Mtok for `model`: plan overrides first, then the table."""
    for table in (overrides or {}, PRICES):
        match = _matching_key(model, table)
        if match is not None:
            return table[match]
    return None


def cost(
    model: str, usage: Usage | None, overrides: Mapping[str, tuple[float, float]] | None = None
) -> float | None:
    """USD for one call, or None when the model's price or the usage is unknown."""
    if usage is None:
        return None
    price = price_for(model, overrides)
    if price is None:
        return None
    input_price, output_price = price
    total = (
        usage.input_tokens * input_price
        + usage.output_tokens * output_price
        + usage.cache_read_tokens * input_price * CACHE_READ_FACTOR
        + usage.cache_write_tokens * input_price * CACHE_WRITE_FACTOR
    )
    return total / 1_000_000


def _matching_key(model: str, table: Mapping[str, tuple[float, float]]) -> str | None:
    if model in table:
        return model
    for key in table:
        if model.startswith(key) and _SNAPSHOT_SUFFIX.fullmatch(model, len(key)):
            return key
    return None
