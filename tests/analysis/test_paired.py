"""The paired difference on arrays, and the lazily built list of paired cases."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.analysis.case_changes import CaseChanges
from evalkit.analysis.case_table import from_trials
from evalkit.analysis.paired import NO_CLUSTER, cluster_codes, paired_arrays, paired_difference
from evalkit.records import TrialRow

RNG = np.random.default_rng(11)
BASE = RNG.integers(0, 2, 300).astype(np.float64)
CAND = np.where(RNG.random(300) < 0.1, 1.0 - BASE, BASE)
NAMES = [f"doc{i // 5}" if i % 7 else None for i in range(300)]


def test_cluster_codes_name_clusters_whatever_their_numbering() -> None:
    codes = cluster_codes(NAMES)
    assert codes[0] == NO_CLUSTER and codes[1] == codes[2] and codes[5] != codes[1]
    # the same clusters numbered otherwise (as database hashes would be) give the same
    # numbers, p-values included: sums come in the order the cases first name them
    renumbered = np.where(codes == NO_CLUSTER, NO_CLUSTER, 10_000 - 7 * codes)
    assert paired_arrays(BASE, CAND, codes) == paired_arrays(BASE, CAND, renumbered)
    assert paired_difference(list(BASE), list(CAND), NAMES) == paired_arrays(BASE, CAND, codes)


def test_clusters_are_the_unit_and_none_means_a_case_of_its_own() -> None:
    clustered = paired_difference(list(BASE), list(CAND), NAMES)
    assert clustered.clusters == len({n for n in NAMES if n}) + NAMES.count(None)
    plain = paired_difference(list(BASE), list(CAND), [None] * len(NAMES))
    assert plain == paired_difference(list(BASE), list(CAND))
    assert plain.clusters == len(NAMES)


def _rows(outcomes: list[int]) -> list[TrialRow]:
    return [
        TrialRow(
            suite="s",
            case_id=f"c{i:02d}",
            case_hash=f"h{i}",
            target_id="t",
            prompt_id=None,
            epoch=0,
            status="pass" if ok else "fail",
            score=float(ok),
        )
        for i, ok in enumerate(outcomes)
    ]


def test_case_changes_read_like_a_list_and_build_only_what_is_asked() -> None:
    base = [1, 1, 0, 0, 1, 0]
    cand = [1, 0, 1, 0, 0, 0]
    table = from_trials(_rows(base), _rows(cand))
    changes = CaseChanges(table, np.arange(len(base)))
    as_list = list(changes)
    assert len(changes) == 6 and changes == as_list and as_list == changes
    assert changes[0].case_id == "c00" and changes[-1].case_id == "c05"
    assert [c.case_id for c in changes[1:3]] == ["c01", "c02"]
    with pytest.raises(IndexError):
        changes[6]
    assert [c.case_id for c in changes.regressed()] == ["c01", "c04"]
    assert [c.case_id for c in changes.fixed()] == ["c02"]
    assert changes.regressed() == [c for c in as_list if c.change == "regressed"]
    assert repr(changes) == repr(as_list)


def test_grade_cells_are_numbered_alike_whether_counted_densely_or_sorted() -> None:
    from evalkit.analysis.case_table import _DENSE_CELLS, _cells

    cells = np.array([7, 3, 3, 90, 7, 0, 90, 90], dtype=np.int64)
    dense = _cells(cells, 100)  # small: a dense array
    pairs, which = _cells(cells, _DENSE_CELLS + 1)  # large: by sorting
    assert pairs.tolist() == dense[0].tolist() == [0, 3, 7, 90]
    assert which.tolist() == dense[1].tolist() == [2, 1, 1, 3, 2, 0, 3, 3]
