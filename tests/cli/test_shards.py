"""Shards and merge: `run --shard K/N` on three "machines", `merge`, and the merged run
measured against a single run of the same plan, trial for trial."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from evalkit.engine.shards import Shard, parse_shard, shard_trials
from evalkit.errors import UsageError
from evalkit.records import Case, Trial
from tests.cli.conftest import PYTHON_TARGET, Workspace

Cli = Callable[..., tuple[int, str]]

CASES = 31  # not a multiple of 3: the split must still be balanced to one case


def _suite(n: int, mark: str = "") -> str:
    lines = ["name: many", "defaults:", "  graders:", "    - type: icontains", "      value: even"]
    lines.append("cases:")
    for i in range(n):
        lines.append(f"  - id: c{i:03d}{mark}")
        lines.append(f'    vars: {{question: "number {i}"}}')
    return "\n".join(lines) + "\n"


SYSTEM = """\
def answer(case):
    n = int(case.vars["question"].split()[-1])
    return f"{n} is " + ("even" if n % 2 == 0 else "odd")
"""


def _rows(db: Path, sql: str, run_id: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute(sql, [run_id]).fetchall(), key=str)
    finally:
        con.close()


RESULTS = (
    "SELECT trial_id, suite, case_id, case_hash, target_id, prompt_id, epoch, status, passed, "
    "score, output, error_kind, cached, attempts FROM results WHERE run_id = ?"
)
GRADES = (
    "SELECT trial_id, idx, grader, metric, status, score, passed, reason, weight "
    "FROM grades WHERE run_id = ?"
)


@pytest.fixture
def many(workspace: Workspace) -> Workspace:
    (workspace.root / "suites" / "support.yaml").unlink()
    (workspace.root / "suites" / "many.yaml").write_text(_suite(CASES))
    (workspace.root / "system.py").write_text(SYSTEM)
    workspace.plan(
        PYTHON_TARGET + PYTHON_TARGET.replace("id: local", "id: local2"),
        extra="epochs: 2\ngate: {min_pass_rate: 0.1, max_regressions: 0}\n",
    )
    return workspace


def test_merged_shards_equal_a_single_run_trial_for_trial(many: Workspace, cli: Cli) -> None:
    history = many.root / "history.duckdb"
    code, out = cli("run", "--db", str(history))
    assert code == 0 and "60 failed" in out, out  # the odd numbers fail; the gate passes
    shards = [many.root / f"shard{k}.duckdb" for k in (1, 2, 3)]
    for k, db in enumerate(shards, start=1):
        code, out = cli("run", "--shard", f"{k}/3", "--db", str(db))
        assert code in (0, 1), out
    cases_per_shard = []
    for k, db in enumerate(shards, start=1):
        con = duckdb.connect(str(db), read_only=True)
        row = con.execute("SELECT settings->>'shard', trials_planned FROM runs").fetchone()
        n_cases = con.execute("SELECT count(DISTINCT case_id) FROM results").fetchone()
        con.close()
        assert row is not None and n_cases is not None
        assert row[0] == f"{k}/3"
        assert row[1] == n_cases[0] * 2 * 2  # every target and epoch of its cases
        cases_per_shard.append(n_cases[0])
    assert sum(cases_per_shard) == CASES and max(cases_per_shard) - min(cases_per_shard) <= 1

    code, out = cli("merge", *map(str, shards), "--into", str(history))
    assert code == 0, out
    con = duckdb.connect(str(history), read_only=True)
    (single, merged) = [
        str(r[0]) for r in con.execute("SELECT run_id FROM runs ORDER BY started_at").fetchall()
    ]
    merged_from = con.execute(
        "SELECT settings->'merged_from', status, trials_planned FROM runs WHERE run_id = ?",
        [merged],
    ).fetchone()
    con.close()
    assert merged_from is not None and merged_from[1:] == ("completed", CASES * 4)
    assert _rows(history, RESULTS, single) == _rows(history, RESULTS, merged)
    assert _rows(history, GRADES, single) == _rows(history, GRADES, merged)
    assert len(_rows(history, RESULTS, merged)) == CASES * 4

    # idempotent: the same shards again change nothing
    code, out = cli("merge", *map(str, shards), "--into", str(history))
    assert code == 0 and "already merged" in out, out
    con = duckdb.connect(str(history), read_only=True)
    counts = con.execute("SELECT count(*), (SELECT count(*) FROM results) FROM runs").fetchone()
    con.close()
    assert counts == (2, CASES * 4 * 2)

    # the merged run is an ordinary run to every reader
    code, out = cli("compare", single, merged, "--gate", "--db", str(history))
    assert code == 0, out
    report = many.root / "merged.html"
    code, out = cli("report", merged, "--out", str(report), "--db", str(history))
    assert code == 0 and report.stat().st_size > 1000, out
    code, out = cli("trend", "--out", str(many.root / "trend.html"), "--db", str(history))
    assert code == 0, out


def test_merge_refuses_shards_of_different_suites_naming_the_difference(
    many: Workspace, cli: Cli
) -> None:
    dbs = [many.root / f"s{k}.duckdb" for k in (1, 2)]
    assert cli("run", "--shard", "1/2", "--db", str(dbs[0]))[0] in (0, 1)
    (many.root / "suites" / "many.yaml").write_text(_suite(CASES, mark="x"))
    assert cli("run", "--shard", "2/2", "--db", str(dbs[1]))[0] in (0, 1)
    code, out = cli("merge", *map(str, dbs), "--into", str(many.root / "m.duckdb"))
    assert code == 4, out
    assert "suite 'many' differs" in out and "s2.duckdb" in out
    code, out = cli("merge", str(dbs[0]), "--into", str(many.root / "m.duckdb"))
    assert code == 4 and "shard 2/2 missing" in out, out
    code, out = cli("merge", *map(str, dbs), "--into", str(dbs[0]))
    assert code == 4 and "is one of the shard databases" in out, out


def _trials(n: int) -> list[Trial]:
    cases = [Case(suite="s", id=f"c{i}") for i in range(n)]
    return [Trial(f"s/c{i}@t#{e}", c, "t", None, e) for e in range(2) for i, c in enumerate(cases)]


def test_the_split_is_stable_balanced_and_covers_every_trial_once() -> None:
    trials = _trials(100)
    shuffled = trials[:]
    random.Random(7).shuffle(shuffled)
    parts = [shard_trials(trials, Shard(k, 7)) for k in range(1, 8)]
    again = [shard_trials(shuffled, Shard(k, 7)) for k in range(1, 8)]
    for part, other in zip(parts, again, strict=True):
        assert {t.trial_id for t in part} == {t.trial_id for t in other}  # order-free
        assert [t.trial_id for t in part] == [t.trial_id for t in trials if t in part]
    ids = [t.trial_id for part in parts for t in part]
    assert sorted(ids) == sorted(t.trial_id for t in trials)  # each trial exactly once
    sizes = [len({t.case.id for t in part}) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert shard_trials(trials, None) == trials and shard_trials(trials, Shard(1, 1)) == trials


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="shard"):
        parse_shard(text)


def test_a_resumed_shard_runs_only_its_own_slice(many: Workspace, cli: Cli) -> None:
    db = many.root / "s1.duckdb"
    assert cli("run", "--shard", "1/3", "--db", str(db))[0] in (0, 1)
    con = duckdb.connect(str(db))
    (run_id, planned) = con.execute("SELECT run_id, trials_planned FROM runs").fetchone() or ("", 0)
    # as if killed half-way: half the trials saved, the run still `running`
    con.execute(
        "DELETE FROM results WHERE trial_id IN (SELECT trial_id FROM results ORDER BY trial_id "
        "LIMIT ?)",
        [planned // 2],
    )
    con.execute("DELETE FROM grades WHERE trial_id NOT IN (SELECT trial_id FROM results)")
    con.execute("UPDATE runs SET status = 'running', finished_at = NULL")
    con.close()
    code, out = cli("resume", str(run_id), "--db", str(db))
    assert code in (0, 1), out
    con = duckdb.connect(str(db), read_only=True)
    counts = con.execute("SELECT count(*), count(DISTINCT trial_id) FROM results").fetchone()
    status = con.execute("SELECT status FROM runs").fetchone()
    con.close()
    assert counts == (planned, planned) and planned < CASES * 4  # its slice, not the plan
    assert status == ("completed",)
