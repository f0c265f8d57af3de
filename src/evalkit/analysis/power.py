"""Pure: how large a drop a suite can detect, and how many cases a smaller one needs.

From one run the spread of the difference between two runs is unknown; it is taken as
that of two runs whose case outcomes are correlated `correlation` (0: independent, the
cautious default). Given a second run, the observed paired differences are used instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalkit.analysis.stats import cases_needed, detectable_effect, sample_sd

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True, slots=True)
class PowerRow:
    """One suite x target x prompt: its cases, the spread of a difference, what it detects."""

    suite: str
    target_id: str
    prompt_id: str | None
    cases: int
    difference_sd: float  # sd of a per-case difference between two runs
    detectable_drop: float  # smallest drop detected with `power` at `alpha`
    cases_needed: float | None  # for the requested drop, when one was asked for


def difference_sd_from_run(case_means: list[float], correlation: float = 0.0) -> float:
    """The sd of a per-case difference between two runs like this one."""
    if not -1.0 < correlation < 1.0:
        raise ValueError(f"correlation must be between -1 and 1 (exclusive), got {correlation}")
    sd = sample_sd(case_means)
    if sd == 0.0:
        # every case alike (say all pass): a drop would still add spread, so take a
        # smoothed rate's Bernoulli sd rather than claim any drop is detectable
        smoothed = (math.fsum(case_means) + 1.0) / (len(case_means) + 2.0)
        sd = math.sqrt(smoothed * (1.0 - smoothed))
    return sd * math.sqrt(2.0 * (1.0 - correlation))


def power_row(
    variant: tuple[str, str, str | None],
    cases: int,
    difference_sd: float,
    drop: float | None = None,
    alpha: float = ALPHA,
    power: float = POWER,
) -> PowerRow:
    """Detectable drop for this many cases, and the cases a given `drop` would need."""
    usable = not math.isnan(difference_sd)
    return PowerRow(
        suite=variant[0],
        target_id=variant[1],
        prompt_id=variant[2],
        cases=cases,
        difference_sd=difference_sd,
        detectable_drop=detectable_effect(cases, difference_sd, alpha, power)
        if usable
        else math.nan,
        cases_needed=(
            None
            if drop is None
            else (
                math.ceil(cases_needed(drop, difference_sd, alpha, power))
                if usable and difference_sd > 0
                else (1 if usable else None)
            )
        ),
    )


def run_power(
    means: dict[tuple[str, str, str | None], list[float]],
    drop: float | None = None,
    correlation: float = 0.0,
    alpha: float = ALPHA,
    power: float = POWER,
) -> list[PowerRow]:
    """One PowerRow per suite x target x prompt of a single run."""
    return [
        power_row(
            variant, len(values), difference_sd_from_run(values, correlation), drop, alpha, power
        )
        for variant, values in means.items()
    ]
