"""`--workers N`: real worker processes, the parent's writer, global limits, deaths, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

import evalkit
from tests.fakeserver import FakeModelServer
from tests.harness import start_cli

SUITE = """\
name: nums
defaults:
  graders:
    - type: icontains
      value: even
cases:
{cases}"""

PLAN = """\
name: nums
suites: [suites/nums.yaml]
epochs: {epochs}
concurrency: {concurrency}
targets:
  - id: py
    provider: python
    function: system.py:answer
"""

# Every call appends "pid start end" to calls.log, so a test can see which process ran
# it and how many calls were in flight at once, across processes.
SYSTEM = """\
import asyncio, os, signal, time
from pathlib import Path

HERE = Path(__file__).parent


async def answer(case):
    began = time.time()
    if case.id == "die-once" and not (HERE / "died").exists():
        (HERE / "died").write_text("x")
        os.kill(os.getpid(), signal.SIGKILL)
    if case.id == "die-always":
        os.kill(os.getpid(), signal.SIGKILL)
    await asyncio.sleep({sleep})
    with open(HERE / "calls.log", "a") as log:
        log.write(f"{{os.getpid()}} {{began}} {{time.time()}}\\n")
    n = int(case.vars["n"])
    return f"{{n}} is " + ("even" if n % 2 == 0 else "odd")
"""


def workspace(base: Path, ids: list[str], *, epochs: int = 1, concurrency: int = 3,
              sleep: float = 0.02) -> Path:  # fmt: skip
    root = base / "ws"
    (root / "suites").mkdir(parents=True)
    (root / "evals").mkdir()
    cases = "".join(f"  - id: {cid}\n    vars: {{n: {i}}}\n" for i, cid in enumerate(ids))
    (root / "suites" / "nums.yaml").write_text(SUITE.format(cases=cases))
    (root / "evals" / "nums.yaml").write_text(PLAN.format(epochs=epochs, concurrency=concurrency))
    (root / "system.py").write_text(SYSTEM.format(sleep=sleep))
    return root


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=str)
    finally:
        con.close()


def calls(root: Path) -> list[tuple[int, float, float]]:
    lines = (root / "calls.log").read_text().split("\n")
    return [(int(p), float(a), float(b)) for p, a, b in (ln.split() for ln in lines if ln)]


def peak_overlap(intervals: list[tuple[int, float, float]]) -> int:
    events = sorted([(a, 1) for _, a, _ in intervals] + [(b, -1) for _, _, b in intervals])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


RESULTS = "SELECT trial_id, status, passed, score, output, error_kind, attempts FROM results"
GRADES = "SELECT trial_id, idx, metric, status, score, reason FROM grades"


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_two_workers_record_what_one_process_does_within_the_global_limit(
    tmp_path: Path, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALKIT_WORKER_START", start)
    root = workspace(tmp_path, [f"c{i:02d}" for i in range(30)], epochs=2, concurrency=3)
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    [single] = evalkit.run(workspace=root, db=one, workers=1)
    (root / "calls.log").unlink()
    [pooled] = evalkit.run(workspace=root, db=two, workers=2)
    assert pooled.totals.finished == single.totals.finished == 60
    assert rows(one, RESULTS) == rows(two, RESULTS)
    assert rows(one, GRADES) == rows(two, GRADES)
    made = calls(root)
    assert len({pid for pid, _, _ in made} - {os.getpid()}) == 2  # two worker processes ran
    assert peak_overlap(made) <= 3  # the plan's concurrency, not 3 per worker


def test_a_dead_worker_loses_only_its_trials(tmp_path: Path) -> None:
    ids = [f"c{i:02d}" for i in range(20)] + ["die-once", "die-always"]
    root = workspace(tmp_path, ids, concurrency=4)
    db = tmp_path / "r.duckdb"
    [outcome] = evalkit.run(workspace=root, db=db, workers=2)
    assert outcome.status == "completed"
    got = dict(rows(db, "SELECT case_id, status || ':' || coalesce(error, '') FROM results"))
    assert len(got) == len(ids)  # every trial recorded once
    assert got["die-once"].startswith(("pass", "fail"))  # handed out again, then ran
    assert got["die-always"].startswith("error:") and "died" in got["die-always"]
    assert all(not v.startswith("error") for k, v in got.items() if k != "die-always")


def _worker_pids(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"evalkit" in cmd:  # forked (`evalkit run`) or spawned workers
            found.add(int(entry.name))
    return found


@pytest.mark.slow
def test_kill_9_of_the_parent_then_resume_runs_every_trial_once(tmp_path: Path) -> None:
    root = workspace(tmp_path, [f"c{i:03d}" for i in range(400)], concurrency=2, sleep=0.02)
    db = tmp_path / "r.duckdb"
    proc = start_cli(root, "run", "--workers", "2", "--db", str(db), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline:
        workers |= _worker_pids(proc.pid)
        log = root / "calls.log"
        if log.exists() and len(log.read_text().splitlines()) >= 60:
            time.sleep(1.2)  # past the writer's flush interval: some results are committed
            break
        time.sleep(0.05)
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in workers:  # reaped by init once gone; a zombie has no cmdline left
        assert (
            not Path(f"/proc/{pid}/cmdline").exists()
            or not Path(f"/proc/{pid}/cmdline").read_bytes()
        )
    saved = rows(db, "SELECT count(*) FROM results")[0][0]
    assert isinstance(saved, int) and 0 < saved < 400
    resume = start_cli(root, "resume", "--db", str(db))
    out, _ = resume.communicate(timeout=120)
    assert resume.returncode in (0, 1), out
    assert rows(db, "SELECT count(*), count(DISTINCT trial_id) FROM results") == [(400, 400)]


@pytest.mark.slow
def test_ctrl_c_drains_the_workers_and_resume_runs_the_rest_once(tmp_path: Path) -> None:
    """The trials queued in workers but not started go back unrun; resume runs them."""
    root = workspace(tmp_path, [f"c{i:03d}" for i in range(400)], concurrency=4, sleep=0.02)
    db = tmp_path / "r.duckdb"
    proc = start_cli(root, "run", "--workers", "2", "--db", str(db))
    deadline = time.monotonic() + 60
    log = root / "calls.log"
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= 40:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    saved = rows(db, "SELECT count(*) FROM results")[0][0]
    assert isinstance(saved, int) and 40 <= saved < 400
    assert len(calls(root)) == saved  # nothing ran that was not recorded
    resume = start_cli(root, "resume", "--db", str(db))
    out, _ = resume.communicate(timeout=120)
    assert resume.returncode in (0, 1), out
    assert rows(db, "SELECT count(*), count(DISTINCT trial_id) FROM results") == [(400, 400)]
    assert len(calls(root)) == 400  # each trial called exactly once, across both runs


def test_the_default_is_a_worker_per_core_for_a_large_run_and_one_process_else(
    tmp_path: Path,
) -> None:
    from evalkit.engine.executors import AUTO_MIN_TRIALS, cores

    half = AUTO_MIN_TRIALS // 2
    root = workspace(tmp_path, [f"c{i:03d}" for i in range(half)], concurrency=8, sleep=0.0)
    [small] = evalkit.run(workspace=root, db=tmp_path / "small.duckdb")  # half the threshold
    assert small.totals.finished == half
    assert {pid for pid, _, _ in calls(root)} == {os.getpid()}
    (root / "calls.log").unlink()
    [large] = evalkit.run(workspace=root, db=tmp_path / "large.duckdb", epochs=2)
    assert large.totals.finished == 2 * half
    pids = {pid for pid, _, _ in calls(root)}
    if cores() > 1:
        assert os.getpid() not in pids and len(pids) == cores()
    else:
        assert pids == {os.getpid()}


def test_a_spending_limit_keeps_the_run_in_one_process(tmp_path: Path) -> None:
    root = workspace(tmp_path, [f"c{i:02d}" for i in range(10)], concurrency=4)
    plan = root / "evals" / "nums.yaml"
    plan.write_text(plan.read_text() + "max_cost: 5\n")
    [outcome] = evalkit.run(workspace=root, db=tmp_path / "r.duckdb", workers=2)
    assert any("--max-cost" in n and "one process" in n for n in outcome.notices)
    assert {pid for pid, _, _ in calls(root)} == {os.getpid()}


def test_a_plan_too_large_to_list_streams_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalkit.engine import executors

    # workers take the plan as one list; past the cap, one process streams it instead
    monkeypatch.setattr(executors, "LISTED_MAX_TRIALS", 15)
    root = workspace(tmp_path, [f"c{i:02d}" for i in range(8)], concurrency=4, sleep=0.0)
    [outcome] = evalkit.run(workspace=root, db=tmp_path / "r.duckdb", workers=2, epochs=2)
    assert outcome.totals.finished == 16
    assert any("16 trials are more than worker processes take" in n for n in outcome.notices)
    assert {pid for pid, _, _ in calls(root)} == {os.getpid()}


def test_shares_of_a_limit_add_up_to_it_and_spread_the_remainders() -> None:
    from evalkit.engine.handout import split

    assert split(32, 2) == [16, 16]
    assert split(3, 2) == [2, 1]
    assert split(3, 2, offset=1) == [1, 2]  # another target's extra slot: the other worker
    assert split(1, 3, offset=2) == [0, 0, 1]
    assert all(
        sum(split(c, w, o)) == c for c in range(1, 40) for w in range(1, 6) for o in range(6)
    )


def test_workers_are_given_the_cached_responses_instead_of_calling(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    root = workspace(tmp_path, [f"c{i:02d}" for i in range(30)], concurrency=4)
    (root / "evals" / "nums.yaml").write_text(
        "name: nums\nsuites: [suites/nums.yaml]\nconcurrency: 4\ntargets:\n"
        "  - id: claude\n    provider: anthropic\n    model: claude-haiku-4-5\n"
        f"    base_url: {fake_server.anthropic_url}\n"
        "    prompts: [{id: plain, template: 'is {{ n }} even?'}]\n"
    )
    db = tmp_path / "r.duckdb"
    [first] = evalkit.run(workspace=root, db=db, workers=2)
    assert fake_server.request_count() == 30 and first.totals.cache_hits == 0
    [second] = evalkit.run(workspace=root, db=db, workers=2)
    assert fake_server.request_count() == 30  # not one call more
    assert second.totals.cache_hits == 30
    texts = "SELECT r.run_id = ? AS first, case_id, output FROM results r ORDER BY case_id"
    got = rows(db, texts.replace("?", f"'{first.run_id}'"))
    assert [(c, o) for f, c, o in got if f] == [(c, o) for f, c, o in got if not f]


# A 429 in one worker while the other's calls are out: they wait for the marker the
# rate-limited call leaves, then for longer than the parent takes to pass the 429 on.
SYSTEM_429 = """\
import asyncio, os, time
from pathlib import Path

from evalkit.records import ErrorKind
from evalkit.targets.base import TargetCallError

HERE = Path(__file__).parent
MARK = HERE / "limited"


async def answer(case):
    began = time.time()
    if case.id == "hot" and not MARK.exists():
        with open(HERE / "calls.log", "a") as log:
            log.write(f"{os.getpid()} {began} {began} hot\\n")
        MARK.write_text(str(time.time()))
        raise TargetCallError(ErrorKind.RATE_LIMIT, "slow down", status_code=429, retry_after=0.0)
    while not MARK.exists():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    with open(HERE / "calls.log", "a") as log:
        log.write(f"{os.getpid()} {began} {time.time()} ok\\n")
    return "even"
"""


@pytest.mark.slow
def test_a_429_in_one_worker_halves_the_share_of_the_other(tmp_path: Path) -> None:
    root = workspace(tmp_path, ["hot"] + [f"c{i:02d}" for i in range(59)], concurrency=8)
    (root / "system.py").write_text(SYSTEM_429)
    [outcome] = evalkit.run(workspace=root, db=tmp_path / "r.duckdb", workers=2)
    assert outcome.totals.finished == 60
    lines = [ln.split() for ln in (root / "calls.log").read_text().splitlines()]
    [(hot_pid, limited_at)] = [(int(p), float(a)) for p, a, _, kind in lines if kind == "hot"]
    other = sorted(
        (float(a), float(b)) for p, a, b, kind in lines if kind == "ok" and int(p) != hot_pid
    )
    assert len(other) >= 8  # two rounds of its four lanes at least
    # Its first round was out when the 429 came; the calls it started after that round
    # ended ran at most 3 at a time (its 4 halved to 2, plus one per 2 successes), not 4.
    later = [(a, b) for a, b in other if a > limited_at + 0.15]
    first_round = [(a, b) for a, b in later if a < later[0][0] + 0.2]
    assert 1 <= len(first_round) <= 3, first_round
