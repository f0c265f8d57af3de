"""Pure: two runs' cases side by side, as columns: everything a comparison reads.

One row per suite x case x target x prompt found in either run, in case order, with
each run's sums over the case's counted epochs (trials, passes, score sum and squares,
and per grade metric its value sum and pass flags). The database computes the sums for
stored runs (`store.comparison_rows.case_columns`, read by `from_columns`); `from_trials`
computes the same from trial rows (tests and simulations), so both give one comparison.
Columns rather than an object per case: comparing two runs of 100,000 trials is a few
vectorized passes over 100,000 rows, not 200,000 Python objects.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evalkit.analysis.paired import NO_CLUSTER
from evalkit.records import TrialRow
from evalkit.store.comparison_rows import CaseColumns

Variant = tuple[str, str, str | None]  # suite, target, prompt
CaseKey = tuple[str, str, str, str | None]  # suite, case, target, prompt
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
PASS_METRIC = "pass"  # the pass rate, as a metric (1 for a passing trial, else 0)
SCORE_METRIC = "score"  # the trial's weighted score


@dataclass(frozen=True, slots=True)
class RunSums:
    """One run's sums per row of a CaseTable (zeros where the run lacks the case).

    Metric arrays have one column per `CaseTable.metrics` entry."""

    trials: Ints  # counted epochs (pass, fail, error); skipped ones are left out
    passed: Ints
    score_sum: Floats  # an error scores 0: an answer the system failed to give
    score_squares: Floats
    value_sum: Floats  # of the metric's value over the epochs that have one
    values: Ints  # epochs with a value of the metric
    flags_passed: Ints  # epochs whose flag of the metric passed
    flags: Ints  # epochs with a flag of the metric
    graded: Bools  # whether any counted epoch has the metric at all


@dataclass(frozen=True, slots=True)
class CaseTable:
    """Both runs' cases in case order (suite, case, target, prompt)."""

    variants: list[Variant]  # sorted; each row's suite x target x prompt is one of them
    variant: Ints  # per row: index into `variants`
    case_id: npt.NDArray[np.object_]  # per row: the case id (str)
    cluster: Ints  # per row: a code naming its cluster (equal codes, one cluster) or NO_CLUSTER
    same_content: Bools  # per row: both runs ran the case, with one content hash
    metrics: list[str]  # grade metrics either run has, sorted
    base: RunSums
    candidate: RunSums
    added: list[str]  # suite/case only in the candidate
    removed: list[str]  # suite/case only in the base
    changed_content: list[str]  # suite/case in both whose content hash differs

    def key(self, row: int) -> CaseKey:
        """(suite, case, target, prompt) of one row."""
        suite, target, prompt = self.variants[int(self.variant[row])]
        return suite, str(self.case_id[row]), target, prompt


def from_columns(found: CaseColumns) -> CaseTable:
    """The table of two stored runs, from the database's per-case sums."""
    cols = found.columns
    clusters = np.asarray(cols["cluster"])
    # hashes to small codes; 0 is "no cluster"
    _, codes = np.unique(clusters, return_inverse=True)
    codes = np.where(clusters == 0, NO_CLUSTER, codes.ravel().astype(np.int64))
    lists: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for suite, case_id, how in found.differing:
        lists[how].append(f"{suite}/{case_id}")
    return CaseTable(
        variants=list(found.variants),
        variant=np.asarray(cols["variant"], dtype=np.int64),
        case_id=np.asarray(cols["case_id"], dtype=object),
        cluster=codes,
        same_content=np.asarray(cols["same"], dtype=np.bool_),
        metrics=list(found.metrics),
        base=_sums(cols, "b", len(found.metrics)),
        candidate=_sums(cols, "c", len(found.metrics)),
        added=sorted(lists["added"]),
        removed=sorted(lists["removed"]),
        changed_content=sorted(lists["changed"]),
    )


def _sums(cols: dict[str, Any], side: str, metrics: int) -> RunSums:
    def metric(prefix: str, dtype: Any) -> Any:
        rows = len(cols[f"{side}_trials"])
        if not metrics:
            return np.zeros((rows, 0), dtype=dtype)
        return np.column_stack(
            [np.asarray(cols[f"{side}_{prefix}{i}"]) for i in range(metrics)]
        ).astype(dtype)

    return RunSums(
        trials=np.asarray(cols[f"{side}_trials"], dtype=np.int64),
        passed=np.asarray(cols[f"{side}_passed"], dtype=np.int64),
        score_sum=np.asarray(cols[f"{side}_total"], dtype=np.float64),
        score_squares=np.asarray(cols[f"{side}_squares"], dtype=np.float64),
        value_sum=metric("v", np.float64),
        values=metric("n", np.int64),
        flags_passed=metric("p", np.int64),
        flags=metric("q", np.int64),
        graded=metric("h", np.bool_),
    )


def from_trials(base: list[TrialRow], candidate: list[TrialRow]) -> CaseTable:
    """The table of two runs' trial rows: the sums `from_columns` reads, made in Python.

    Skipped trials are left out of the sums, but their case's content hash still counts
    for pairing; two graders reporting one metric in a trial are one value (their mean)
    and one flag (passed only if both pass), as the database does it."""
    sides = [_Accumulated(rows) for rows in (base, candidate)]
    keys = sorted(sides[0].cases.keys() | sides[1].cases.keys(), key=_case_order)
    metrics = sorted({m for side in sides for case in side.cases.values() for m in case[4]})
    variants = sorted({(s, t, p) for s, _, t, p in keys}, key=lambda v: (v[0], v[1], v[2] or ""))
    variant_index = {v: i for i, v in enumerate(variants)}
    cluster_index: dict[str, int] = {}
    clusters = []
    for key in keys:
        found = [side.cases[key][5] for side in reversed(sides) if key in side.cases]
        named = next((c for c in found if c), None)  # the candidate's cluster, else the base's
        clusters.append(
            NO_CLUSTER if named is None else cluster_index.setdefault(named, len(cluster_index))
        )
    b_hashes, c_hashes = sides[0].hashes, sides[1].hashes
    both = b_hashes.keys() & c_hashes.keys()
    changed = {k for k in both if b_hashes[k] != c_hashes[k]}
    return CaseTable(
        variants=variants,
        variant=np.array([variant_index[(s, t, p)] for s, _, t, p in keys], dtype=np.int64),
        case_id=np.array([k[1] for k in keys] or [], dtype=object),
        cluster=np.array(clusters, dtype=np.int64),
        same_content=np.array(
            [
                all(key in side.cases for side in sides) and (key[0], key[1]) not in changed
                for key in keys
            ],
            dtype=np.bool_,
        ),
        metrics=metrics,
        base=sides[0].sums(keys, metrics),
        candidate=sides[1].sums(keys, metrics),
        added=sorted(f"{s}/{c}" for s, c in c_hashes.keys() - b_hashes.keys()),
        removed=sorted(f"{s}/{c}" for s, c in b_hashes.keys() - c_hashes.keys()),
        changed_content=sorted(f"{s}/{c}" for s, c in changed),
    )


class _Accumulated:
    """One run's trial rows summed per case: [trials, passed, score sum, squares,
    {metric: [value sum, values, flags passed, flags]}, cluster]."""

    def __init__(self, rows: list[TrialRow]) -> None:
        self.cases: dict[CaseKey, list[Any]] = {}
        self.hashes: dict[tuple[str, str], str] = {}
        for row in rows:
            self.hashes[(row.suite, row.case_id)] = row.case_hash
            if row.status == "skipped":  # a skipped trial says nothing about the system
                continue
            key = (row.suite, row.case_id, row.target_id, row.prompt_id)
            case = self.cases.get(key)
            if case is None:
                case = self.cases[key] = [0, 0, 0.0, 0.0, {}, None]
            case[0] += 1
            case[1] += row.status == "pass"
            if row.score is not None:
                case[2] += row.score
                case[3] += row.score * row.score
            if case[5] is None and row.cluster:
                case[5] = row.cluster
            for metric, (value, flag) in row.grades.items():
                sums = case[4].setdefault(metric, [0.0, 0, 0, 0])
                if value is not None:
                    sums[0] += value
                    sums[1] += 1
                if flag is not None:
                    sums[2] += bool(flag)
                    sums[3] += 1

    def sums(self, keys: list[CaseKey], metrics: list[str]) -> RunSums:
        empty: list[Any] = [0, 0, 0.0, 0.0, {}, None]
        found = [self.cases.get(key, empty) for key in keys]
        shape = (len(keys), len(metrics))
        value_sum = np.zeros(shape, dtype=np.float64)
        counts = np.zeros((3, *shape), dtype=np.int64)
        graded = np.zeros(shape, dtype=np.bool_)
        for row, case in enumerate(found):
            for col, metric in enumerate(metrics):
                sums = case[4].get(metric)
                if sums is not None:
                    value_sum[row, col] = sums[0]
                    counts[:, row, col] = sums[1:]
                    graded[row, col] = True
        return RunSums(
            trials=np.array([c[0] for c in found], dtype=np.int64),
            passed=np.array([c[1] for c in found], dtype=np.int64),
            score_sum=np.array([c[2] for c in found], dtype=np.float64),
            score_squares=np.array([c[3] for c in found], dtype=np.float64),
            value_sum=value_sum,
            values=counts[0],
            flags_passed=counts[1],
            flags=counts[2],
            graded=graded,
        )


def _case_order(key: CaseKey) -> tuple[str, str, str, str]:
    return key[0], key[1], key[2], key[3] or ""


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that builds no cycles.

    Building many small objects (trial rows, listed cases) triggers a full collection
    every few thousand allocations, each rescanning everything alive: pausing it keeps
    large comparisons fast. Reference counting still frees everything as usual.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
