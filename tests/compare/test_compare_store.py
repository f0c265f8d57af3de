"""Comparing stored runs from per-case sums the database computes gives exactly the
comparison built from every trial row."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from evalkit.analysis.compare import compare
from evalkit.analysis.verdict import compare_runs
from evalkit.records import Case, Grade, GraderConfig, Status, TargetOutput, TrialResult
from evalkit.store.comparison_rows import trial_rows
from evalkit.store.db import Store
from evalkit.store.runs import RunInfo, RunTarget

RUNS = ["20261201T000000-base00", "20261202T000000-cand00"]
STATUSES = [Status.PASS, Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED]


def _case(i: int, run: int) -> Case:
    return Case(
        suite=f"s{i % 2}",
        id=f"c{i}",
        vars={"q": str(i)},
        graders=[GraderConfig(name="icontains"), GraderConfig(name="length")],
        cluster=f"doc{i // 4}" if i % 3 else None,
        # case 5's content changed between the runs: listed apart, never paired
        content_hash=f"sha256:{i}" + ("-edited" if i == 5 and run else ""),
    )


def _grades(rng: random.Random, status: Status) -> list[Grade]:
    if status in (Status.ERROR, Status.SKIPPED):
        return [Grade("icontains", "icontains", status, None, None)]
    passed = status == Status.PASS
    # two graders reporting one metric ("both"): one value (their mean), one flag
    return [
        Grade("icontains", "icontains", status, float(passed), passed),
        Grade("length", "length", Status.PASS, rng.choice([0.25, 0.5, 1.0]), True),
        Grade("length", "both", Status.PASS, 0.5, True),
        Grade("icontains", "both", Status.FAIL if rng.random() < 0.3 else Status.PASS, 0.75,
              None),
    ]  # fmt: skip


def _store(path: Path, *, varied: bool = False) -> None:
    """Two runs of 24 cases x targets a, b x 3 epochs; `varied`: the candidate drops
    cases 0-1 and adds 24-25, runs target c instead of b and 2 epochs, target a has a
    named prompt, case 6 is only skipped there and suite s1 lost its `length` grader."""
    rng = random.Random(4)
    with Store.open(path) as store:
        for run, run_id in enumerate(RUNS):
            shift = 2 * run if varied else 0
            cases = [_case(i, run) for i in range(shift, 24 + shift)]
            started = datetime(2026, 12, 1 + run, tzinfo=UTC)
            info = RunInfo(
                run_id=run_id, plan="p", plan_path="evals/p.yaml", started_at=started,
                git_sha=None, git_branch=None, git_dirty=False, config_hash="sha256:p",
                suite_hashes={}, evalkit_version="test", labels={}, created_by="test",
                hostname="test", command="test", settings={}, trials_planned=0,
            )  # fmt: skip
            targets = ["a", "c" if varied and run else "b"]
            store.start_run(
                info, [RunTarget(t, None, "python", {}, f"sha256:{t}") for t in targets], cases
            )
            writer = store.writer(run_id)
            for case in cases:
                for target in targets:
                    prompt = "short" if varied and target == "a" else None
                    for epoch in range(2 if varied and run else 3):
                        status = rng.choice(STATUSES)
                        if varied and run and case.id == "c6":
                            status = Status.SKIPPED
                        passed = status == Status.PASS
                        grades = _grades(rng, status)
                        if varied and run and case.suite == "s1":
                            grades = [g for g in grades if g.metric != "length"]
                        writer.put(
                            TrialResult(
                                run_id=run_id,
                                trial_id=f"{case.suite}/{case.id}@{target}"
                                + (f"[{prompt}]" if prompt else "")
                                + f"#{epoch}",
                                case=case,
                                target_id=target,
                                prompt_id=prompt,
                                epoch=epoch,
                                output=TargetOutput(text="x", latency_ms=1.0),
                                grades=grades,
                                status=status,
                                score=None if status == Status.ERROR else 0.75 * passed,
                                started_at=started.timestamp(),
                                finished_at=started.timestamp(),
                            )
                        )
            writer.close()
            store.finish_run(run_id, "completed", {})


def test_per_case_sums_from_the_database_give_the_same_comparison(tmp_path: Path) -> None:
    path = tmp_path / "results.duckdb"
    _store(path)
    with Store.open(path, read_only=True) as store:
        from_sums = compare_runs(store.con, RUNS[0], RUNS[1])
        from_trials = compare(
            RUNS[0], trial_rows(store.con, RUNS[0]), RUNS[1], trial_rows(store.con, RUNS[1])
        )
    assert from_sums.groups and from_sums.changed_content == ["s1/c5"]
    assert {m.metric for g in from_sums.groups for m in g.metrics} >= {"pass", "score", "both"}
    # every number alike (repr, so that NaN equals NaN)
    assert repr(from_sums) == repr(from_trials)


def test_cases_and_variants_in_one_run_only_compare_alike_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "results.duckdb"
    _store(path, varied=True)
    with Store.open(path, read_only=True) as store:
        from_sums = compare_runs(store.con, RUNS[0], RUNS[1])
        from_trials = compare(
            RUNS[0], trial_rows(store.con, RUNS[0]), RUNS[1], trial_rows(store.con, RUNS[1])
        )
    assert from_sums.added == ["s0/c24", "s1/c25"]
    assert from_sums.removed == ["s0/c0", "s1/c1"]
    assert from_sums.changed_content == ["s1/c5"]
    assert from_sums.unpaired_variants == ["s0 x b", "s0 x c", "s1 x b", "s1 x c"]
    assert [g.name for g in from_sums.groups] == ["s0 x a[short]", "s1 x a[short]"]
    paired = {c.case_id for c in from_sums.cases}
    # c6 ran only skipped trials in the candidate: nothing to pair it on (so may another
    # case whose few epochs all drew "skipped")
    assert paired <= {f"c{i}" for i in range(2, 24)} - {"c5", "c6"}
    assert len(paired) >= 18
    s0, s1 = from_sums.groups
    assert s0.metric("length") is not None and s1.metric("length") is None
    assert (s0.base_epochs, s0.candidate_epochs) == (3, 2)
    assert repr(from_sums) == repr(from_trials)
    assert from_sums.regressions == [c for c in from_sums.cases if c.change == "regressed"]
