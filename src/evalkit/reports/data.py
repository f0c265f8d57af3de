"""What the CI reporters (JUnit, Markdown, JSON) render: one run, and optionally its
comparison with a baseline and the gate's verdict. Built from the store by `load`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

from evalkit.analysis import summary
from evalkit.analysis.compare import Comparison
from evalkit.analysis.gate import GateResult
from evalkit.analysis.power import PowerRow, run_power
from evalkit.store import ci_rows
from evalkit.store.memory import apply_memory_limit


class TrialRows:
    """A run's trials for the CI reports, read from the store each time they are iterated
    (a batch at a time, texts cut: `ci_rows.trial_report_rows`), never held all at once."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        self.con, self.run_id = con, run_id

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return ci_rows.trial_report_rows(self.con, self.run_id)


@dataclass(slots=True)
class ReportData:
    """A run's header, summary rows, every trial, and what was concluded about it.

    `trials` may be iterated more than once (each reporter reads it anew).
    """

    run: dict[str, Any]
    summary: list[dict[str, Any]]
    trials: Iterable[dict[str, Any]]
    power: list[PowerRow] = field(default_factory=list)
    comparison: Comparison | None = None
    gate: GateResult | None = None
    notes: list[str] = field(default_factory=list)  # e.g. which baseline was used and why


def load(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    comparison: Comparison | None = None,
    gate: GateResult | None = None,
    notes: list[str] | None = None,
) -> ReportData:
    """Everything the CI reporters need about `run_id`, read from the store."""
    apply_memory_limit(con)  # DuckDB's own 80% of RAM would let a big run's reads grow it
    return ReportData(
        run=ci_rows.run_header(con, run_id),
        summary=summary.summary_rows(con, run_id),
        trials=TrialRows(con, run_id),
        power=run_power(ci_rows.case_means(con, run_id)),
        comparison=comparison,
        gate=gate,
        notes=list(notes or []),
    )
