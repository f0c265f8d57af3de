"""JSON for machines: the run, its summary, every trial, the comparison and the gate.

NaN and infinity (an interval over one case, say) become null: JSON has neither.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from evalkit.analysis.compare import Comparison
from evalkit.reports.data import ReportData

# 2: `output` (and `error`, and each reason) is the first 2,000 characters, with
# `output_chars` and `error_chars` the whole lengths; `evalkit export` has every text whole.
SCHEMA_VERSION = 2
_TRIALS_SLOT = "\x00evalkit-trials\x00"


def render(data: ReportData, out: Path) -> Path:
    """Write `data` as JSON to `out` and return the path, the trials as they are read."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_dict(data, trials=False), indent=2, allow_nan=False)
    head, _, tail = text.partition(json.dumps(_TRIALS_SLOT))
    with out.open("w", encoding="utf-8") as sink:
        sink.write(head + "[")
        for n, trial in enumerate(data.trials):
            sink.write(("," if n else "") + "\n    " + json.dumps(_plain(trial), allow_nan=False))
        sink.write("\n  ]" + tail + "\n")
    return out


def to_dict(data: ReportData, *, trials: bool = True) -> dict[str, Any]:
    """`data` as plain JSON-ready values (`trials=False`: a placeholder for the trials)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run": _plain(data.run),
        "summary": _plain(data.summary),
        "power": _plain([dataclasses.asdict(p) for p in data.power]),
        "trials": _plain(list(data.trials)) if trials else _TRIALS_SLOT,
        "comparison": None if data.comparison is None else _comparison(data.comparison),
        "gate": None if data.gate is None else _plain(dataclasses.asdict(data.gate)),
        "notes": data.notes,
    }


def _comparison(c: Comparison) -> dict[str, Any]:
    value: dict[str, Any] = _plain(c)
    for case, change in zip(value["cases"], c.cases, strict=True):
        case.update(
            change=change.change,
            delta=_plain(change.delta),
            name=change.name,
            base_passed=change.base_passed,  # every epoch passed (kept for readers of v1)
            candidate_passed=change.candidate_passed,
        )
    for group, compared in zip(value["groups"], c.groups, strict=True):
        for metric, m in zip(group["metrics"], compared.metrics, strict=True):
            # McNemar's p where it is the test (null elsewhere), and what the CI is over
            metric.update(mcnemar_p=_plain(m.mcnemar_p), label=m.label(c.confidence))
    value["regressions"] = [x.name for x in c.regressions]
    value["fixes"] = [x.name for x in c.fixes]
    value["flaky_note"] = c.flaky_note
    return value


def _plain(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses as dicts of their fields, any sequence (the
    comparison's lazily built cases too) as a list, NaN and infinities as null."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
