"""Prices: snapshot matching, plan overrides, and no invented numbers."""

from __future__ import annotations

import pytest

from evalkit.records import Usage
from evalkit.targets.pricing import cost, price_for


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("claude-sonnet-4-5", (3.0, 15.0)),
        ("claude-sonnet-4-5-20250929", (3.0, 15.0)),
        ("claude-haiku-4-5-20251001", (1.0, 5.0)),
        ("claude-3-5-haiku-latest", (0.8, 4.0)),
        ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),
        ("gpt-4o-2024-08-06", (2.50, 10.0)),
        ("gpt-3.5-turbo-0125", (0.50, 1.50)),
    ],
)
def test_known_models_and_their_snapshots(model: str, price: tuple[float, float]) -> None:
    assert price_for(model) == price


@pytest.mark.parametrize("model", ["claude-opus-4-6", "gpt-4o-audio-preview", "llama3:8b", ""])
def test_unknown_models_have_no_price(model: str) -> None:
    assert price_for(model) is None
    assert cost(model, Usage(input_tokens=10, output_tokens=10)) is None


def test_cost_counts_input_output_and_cache_tokens() -> None:
    usage = Usage(
        input_tokens=1000, output_tokens=200, cache_read_tokens=500, cache_write_tokens=100
    )
    # 1000*3 + 200*15 + 500*3*0.1 + 100*3*1.25 = 6525 USD per million
    assert cost("claude-sonnet-4-5", usage) == pytest.approx(0.006525)


def test_plan_overrides_win_and_price_unknown_models() -> None:
    overrides = {"claude-sonnet-4-5": (1.0, 2.0), "llama3": (0.0, 0.0)}
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost("claude-sonnet-4-5-20250929", usage, overrides) == pytest.approx(3.0)
    assert cost("llama3", usage, overrides) == 0.0


def test_no_usage_no_cost() -> None:
    assert cost("gpt-4o", None) is None
