"""Pure: two runs' cases side by side, as columns: everything a comparison reads.

One row per suite x case x target x prompt found in either run, in case order, with
each run's sums over the case's counted epochs (trials, passes, score sum and squares,
and per grade metric its value sum and pass flags). `from_columns` sums the trials and
grades a stored run's scan gives (`store.comparison_rows.trial_columns`); `from_trials`
makes the same columns from trial rows (tests and simulations) and sums them the same
way, so both give one comparison. Columns rather than an object per case: comparing two
runs of 100,000 trials is a few vectorized passes (bincounts) over 200,000 trials, not
200,000 Python objects.
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
from evalkit.store.comparison_rows import TrialColumns, variant_order

Variant = tuple[str, str, str | None]  # suite, target, prompt
CaseKey = tuple[str, str, str, str | None]  # suite, case, target, prompt
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
# trials x metrics up to which cells are counted in a dense array (32 MB of int64 places)
# rather than by sorting
_DENSE_CELLS = 4_000_000
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


def from_columns(found: TrialColumns) -> CaseTable:
    """Both runs' trials (in case order) summed per case and run: the CaseTable."""
    t, g = found.trials, found.grades
    case_id = np.asarray(t["case_id"], dtype=object)
    variant = np.asarray(t["variant"], dtype=np.int64)
    # one row per case x target x prompt: the trials come in case order, so a case's
    # trials are consecutive and a row starts where the variant or the case id changes
    suites = {name: n for n, name in enumerate(sorted({v[0] for v in found.variants}))}
    suite_of = np.array([suites[v[0]] for v in found.variants], dtype=np.int64)
    suite = suite_of[variant] if variant.size else variant
    new_case = np.ones(variant.size, dtype=np.bool_)  # another suite/case starts here
    new_case[1:] = (suite[1:] != suite[:-1]) | (case_id[1:] != case_id[:-1])
    starts = new_case.copy()
    starts[1:] |= variant[1:] != variant[:-1]
    head = np.flatnonzero(starts)  # each row's first trial
    row = np.cumsum(starts) - 1
    candidate = np.asarray(t["candidate"], dtype=np.bool_)
    counted = np.asarray(t["counted"], dtype=np.bool_)
    rows = int(head.size)
    metrics = len(found.metrics)
    per_metric = _per_trial_metric(g, np.asarray(t["trial"], dtype=np.uint64), metrics)
    sides = [
        _side_sums(t, row, rows, per_metric, metrics, (candidate == side) & counted)
        for side in (False, True)
    ]
    base_cluster, base_content, in_base = _case_fields(t, row, rows, ~candidate)
    cand_cluster, cand_content, in_cand = _case_fields(t, row, rows, candidate)
    cluster = np.where(cand_cluster != 0, cand_cluster, base_cluster)  # the candidate's first
    _, codes = np.unique(cluster, return_inverse=True)
    added, removed, changed = _differing(found, t, candidate, new_case)
    return CaseTable(
        variants=list(found.variants),
        variant=variant[head],
        case_id=case_id[head],
        cluster=np.where(cluster == 0, NO_CLUSTER, codes.ravel().astype(np.int64)),
        same_content=in_base & in_cand & (base_content == cand_content),
        metrics=list(found.metrics),
        base=sides[0],
        candidate=sides[1],
        added=added,
        removed=removed,
        changed_content=changed,
    )


def _per_trial_metric(
    g: dict[str, Any], trial_hashes: npt.NDArray[np.uint64], metrics: int
) -> dict[str, Any]:
    """Per (trial, metric) graded: its value (the mean of its graders' scores), whether it
    has one, its flag (passed only if every grader passed) and whether it has one."""
    by_hash = np.argsort(trial_hashes)
    ordered = trial_hashes[by_hash]  # searching a sorted copy: far fewer cache misses
    if bool(np.any(ordered[1:] == ordered[:-1])):
        raise ValueError("two trials share a 64-bit hash of their ids; cannot compare")
    grade_trials = np.asarray(g["trial"], dtype=np.uint64)
    found = np.minimum(np.searchsorted(ordered, grade_trials), max(ordered.size - 1, 0))
    if grade_trials.size and bool(np.any(ordered[found] != grade_trials)):
        raise ValueError("a grade names a trial the runs do not have")
    cells = by_hash[found].astype(np.int64) * metrics + np.asarray(g["metric"], dtype=np.int64)
    pairs, which = _cells(cells, trial_hashes.size * metrics)
    has_value = np.asarray(g["has_value"], dtype=np.float64)
    has_flag = np.asarray(g["has_flag"], dtype=np.bool_)
    failed = has_flag & ~np.asarray(g["flag"], dtype=np.bool_)
    values = np.bincount(which, weights=has_value, minlength=pairs.size)
    total = np.bincount(which, weights=np.asarray(g["value"]) * has_value, minlength=pairs.size)
    flags = np.bincount(which, weights=has_flag, minlength=pairs.size)
    fails = np.bincount(which, weights=failed, minlength=pairs.size)
    mean = np.zeros(pairs.size)
    np.divide(total, values, out=mean, where=values > 0)
    return {
        "trial": pairs // max(metrics, 1),
        "metric": pairs % max(metrics, 1),
        "value": mean,
        "has_value": values > 0,
        "has_flag": flags > 0,
        "passed": (flags > 0) & (fails == 0),
    }


def _cells(cells: npt.NDArray[np.int64], size: int) -> tuple[Any, Any]:
    """(the distinct cells, each cell's place among them): np.unique's answer, counted in a
    dense array when that is small (no sort: 400,000 grades in a few milliseconds)."""
    if size > _DENSE_CELLS:
        pairs, which = np.unique(cells, return_inverse=True)
        return pairs, which.ravel()
    present = np.zeros(size, dtype=np.bool_)
    present[cells] = True
    pairs = np.flatnonzero(present)
    place = np.cumsum(present) - 1
    return pairs, place[cells]


def _side_sums(
    t: dict[str, Any],
    row: npt.NDArray[np.intp],
    rows: int,
    per_metric: dict[str, Any],
    metrics: int,
    mine: Bools,
) -> RunSums:
    """One run's sums per row over its counted trials (`mine`)."""
    at = row[mine]
    score = np.asarray(t["score"], dtype=np.float64)[mine]
    passed = np.asarray(t["passed"], dtype=np.bool_)[mine]

    def count(weights: Any = None) -> Any:
        return np.bincount(at, weights=weights, minlength=rows)

    graded = mine[per_metric["trial"]]
    cell = row[per_metric["trial"][graded]] * metrics + per_metric["metric"][graded]

    def per_cell(weights: Any = None) -> Any:
        return np.bincount(cell, weights=weights, minlength=rows * metrics).reshape(rows, metrics)

    has_value = per_metric["has_value"][graded]
    has_flag = per_metric["has_flag"][graded]
    return RunSums(
        trials=count().astype(np.int64),
        passed=count(passed).astype(np.int64),
        score_sum=count(score),
        score_squares=count(score * score),
        value_sum=per_cell(per_metric["value"][graded] * has_value),
        values=per_cell(has_value).astype(np.int64),
        flags_passed=per_cell(per_metric["passed"][graded]).astype(np.int64),
        flags=per_cell(has_flag).astype(np.int64),
        graded=per_cell() > 0,
    )


def _case_fields(
    t: dict[str, Any], row: npt.NDArray[np.intp], rows: int, mine: Bools
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], Bools]:
    """Per row, over one run's trials (skipped ones too): its cluster hash, content hash,
    and whether the run has the case at all."""
    cluster = np.zeros(rows, dtype=np.uint64)
    content = np.zeros(rows, dtype=np.uint64)
    present = np.zeros(rows, dtype=np.bool_)
    at = row[mine]
    cluster[at] = np.asarray(t["cluster"], dtype=np.uint64)[mine]
    content[at] = np.asarray(t["content"], dtype=np.uint64)[mine]
    present[at] = True
    return cluster, content, present


def _differing(
    found: TrialColumns, t: dict[str, Any], candidate: Bools, new_case: Bools
) -> tuple[list[str], list[str], list[str]]:
    """suite/case names only the candidate has, only the base has, and that both have with
    different content (skipped trials count: a case's content pairs it whatever they did).

    `new_case`: where a trial starts another suite/case (they come in case order)."""
    case = np.cumsum(new_case) - 1
    cases = int(case[-1]) + 1 if case.size else 0
    content = np.asarray(t["content"], dtype=np.uint64)
    seen, held = [], []
    for side in (False, True):
        mine = candidate == side
        present = np.zeros(cases, dtype=np.bool_)
        present[case[mine]] = True
        hashes = np.zeros(cases, dtype=np.uint64)
        hashes[case[mine]] = content[mine]
        seen.append(present)
        held.append(hashes)
    heads = np.flatnonzero(new_case)  # each suite/case's first trial

    def names(which: Bools) -> list[str]:
        return sorted(
            f"{found.variants[int(t['variant'][i])][0]}/{t['case_id'][i]}"
            for i in heads[which].tolist()
        )

    in_base, in_cand = seen
    return (
        names(in_cand & ~in_base),
        names(in_base & ~in_cand),
        names(in_base & in_cand & (held[0] != held[1])),
    )


def from_trials(base: list[TrialRow], candidate: list[TrialRow]) -> CaseTable:
    """The table of two runs' trial rows (tests, simulations): the columns the store reads,
    made from the rows, then summed by `from_columns` like a stored run's."""
    rows = [(False, r) for r in base] + [(True, r) for r in candidate]
    rows.sort(key=lambda pair: (*_case_order(_key(pair[1])), pair[0], pair[1].epoch))
    variants = sorted({(r.suite, r.target_id, r.prompt_id) for _, r in rows}, key=variant_order)
    metrics = sorted({m for _, r in rows for m in r.grades})
    places = {v: i for i, v in enumerate(variants)}
    metric_index = {m: i for i, m in enumerate(metrics)}
    codes: dict[object, int] = {}

    def code(value: object) -> int:  # stands in for the store's 64-bit hashes
        return codes.setdefault(value, len(codes) + 1)

    grade_rows = [
        (n, metric_index[m], value, flag)
        for n, (_, r) in enumerate(rows)
        for m, (value, flag) in r.grades.items()
    ]
    trials = {
        "candidate": np.array([c for c, _ in rows], dtype=np.bool_),
        "counted": np.array([r.status != "skipped" for _, r in rows], dtype=np.bool_),
        "variant": np.array(
            [places[(r.suite, r.target_id, r.prompt_id)] for _, r in rows], dtype=np.int64
        ),
        "case_id": np.array([r.case_id for _, r in rows] or [], dtype=object),
        "content": np.array([code(r.case_hash) for _, r in rows], dtype=np.uint64),
        "cluster": np.array([code(r.cluster) if r.cluster else 0 for _, r in rows], np.uint64),
        "passed": np.array([r.status == "pass" for _, r in rows], dtype=np.bool_),
        "score": np.array([r.score or 0.0 for _, r in rows], dtype=np.float64),
        "trial": np.arange(len(rows), dtype=np.uint64),
    }
    grades = {
        "trial": np.array([g[0] for g in grade_rows], dtype=np.uint64),
        "metric": np.array([g[1] for g in grade_rows], dtype=np.int64),
        "value": np.array([g[2] or 0.0 for g in grade_rows], dtype=np.float64),
        "has_value": np.array([g[2] is not None for g in grade_rows], dtype=np.bool_),
        "flag": np.array([bool(g[3]) for g in grade_rows], dtype=np.bool_),
        "has_flag": np.array([g[3] is not None for g in grade_rows], dtype=np.bool_),
    }
    return from_columns(TrialColumns(variants, metrics, trials, grades))


def _key(row: TrialRow) -> CaseKey:
    return row.suite, row.case_id, row.target_id, row.prompt_id


def _case_order(key: CaseKey) -> tuple[str, str, str, bool, str]:
    """Cases sort by suite, case, target, then prompt (none first), as the store sorts them."""
    return key[0], key[1], key[2], key[3] is not None, key[3] or ""


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
