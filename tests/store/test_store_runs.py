"""Recording runs: ids, git provenance, targets and content-addressed cases."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from evalkit.errors import StoreError
from evalkit.records import Message
from evalkit.store.runs import RunTarget, git_info, new_run_id
from tests.store import factories as f


def test_run_ids_look_like_a_timestamp_and_sort_by_time() -> None:
    start = datetime(2026, 11, 27, 5, 15, 2, tzinfo=UTC)
    run_id = new_run_id(start)
    assert re.fullmatch(r"20261127T051502-[0-9a-f]{6}", run_id)
    later = [new_run_id(start + timedelta(seconds=s)) for s in (1, 60, 3600)]
    assert sorted([*later, run_id]) == [run_id, *later]
    # local times are converted to UTC so ids from different machines sort together
    paris = datetime(2026, 11, 27, 7, 15, 2, tzinfo=timezone(timedelta(hours=1)))
    assert new_run_id(paris).startswith("20261127T061502-")


def test_run_ids_started_in_the_same_second_differ() -> None:
    now = datetime(2026, 11, 27, 5, 15, 2, tzinfo=UTC)
    # 24 random bits: 40 ids collide with probability 40*39/2 / 2**24, about 1 in 21,000
    # (300 ids, as this test once drew, collided about 1 run in 370)
    assert len({new_run_id(now) for _ in range(40)}) == 40


def test_start_run_records_the_run_its_targets_and_cases(tmp_path: Path) -> None:
    chat = f.case(case_id="chat", messages=[Message("user", "hi")], cluster="greetings")
    with f.open_store(tmp_path) as store:
        targets = [
            RunTarget("model-a", "terse", "anthropic", {"model": "m"}, "sha256:a", None),
            RunTarget("model-b", None, "openai", {"model": "n"}, "sha256:b", "no OPENAI_API_KEY"),
        ]
        store.start_run(f.run_info("r1"), targets, [f.case(), chat])
        run = store.con.execute(
            "SELECT status, started_at, labels, suite_hashes, settings, git_sha, finished_at "
            "FROM runs"
        ).fetchall()
        rows = store.con.execute(
            "SELECT target_id, prompt_id, provider, config, skipped_reason FROM run_targets "
            "ORDER BY target_id"
        ).fetchall()
        stored = store.con.execute(
            "SELECT case_id, messages, graders, tags, cluster, location FROM cases ORDER BY 1"
        ).fetchall()
    status, started, labels, suites, settings, sha, finished = run[0]
    assert (status, sha, finished) == ("running", "abc123", None)
    assert started == datetime(2026, 11, 27, 5, 15, 2, tzinfo=UTC)
    assert json.loads(labels) == {"branch": "main"}
    assert json.loads(suites) == {"refunds": "sha256:suite"}
    assert json.loads(settings) == {"epochs": 1}
    assert rows[0][:3] == ("model-a", "terse", "anthropic")
    assert json.loads(rows[0][3]) == {"model": "m"}
    assert rows[1][4] == "no OPENAI_API_KEY"
    assert stored[0][0] == "c1" and stored[0][1] is None
    assert json.loads(stored[1][1]) == [{"role": "user", "content": "hi"}]
    graders = json.loads(stored[0][2])
    assert graders[0]["name"] == "contains" and graders[0]["value"] == "yes"
    assert stored[0][3] == ["smoke"]
    assert stored[1][4:] == ("greetings", "suites/refunds.yaml:1:1")


def test_cases_are_stored_once_across_runs(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [f.case(case_id="a"), f.case(case_id="b")])
        f.start(store, "r2", [f.case(case_id="a"), f.case(case_id="b"), f.case(case_id="c")])
        f.start(store, "r3", [f.case(case_id="a"), f.case(case_id="a")])
        hashes = store.con.execute("SELECT case_hash FROM cases ORDER BY 1").fetchall()
    assert hashes == [("sha256:refunds-a",), ("sha256:refunds-b",), ("sha256:refunds-c",)]


def test_a_duplicate_run_id_is_a_store_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        with pytest.raises(StoreError, match="could not record run r1"):
            f.start(store, "r1", [f.case(case_id="new")])
        assert store.con.execute("SELECT count(*) FROM cases").fetchone() == (0,)
        assert store.con.execute("SELECT count(*) FROM run_targets").fetchone() == (1,)


def test_finish_run_sets_status_time_and_summary(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        store.finish_run("r1", "completed", {"finished": 3, "by_status": {"pass": 3}})
        status, finished, summary = store.con.execute(
            "SELECT status, finished_at, summary FROM runs"
        ).fetchall()[0]
        with pytest.raises(StoreError, match="no such run"):
            store.finish_run("nope", "completed", {})
    assert status == "completed" and finished is not None
    assert json.loads(summary) == {"finished": 3, "by_status": {"pass": 3}}


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-C", str(root), *args],
        check=True, capture_output=True,
    )  # fmt: skip


def test_git_info_reads_sha_branch_and_dirtiness(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "feature/x")
    (tmp_path / "suite.yaml").write_text("cases: []\n")
    _git(tmp_path, "add", "suite.yaml")
    _git(tmp_path, "commit", "-q", "-m", "first")
    sha, branch, dirty = git_info(tmp_path)
    assert sha is not None and re.fullmatch(r"[0-9a-f]{40}", sha)
    assert (branch, dirty) == ("feature/x", False)
    (tmp_path / "suite.yaml").write_text("cases: [changed]\n")
    assert git_info(tmp_path) == (sha, "feature/x", True)
    _git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path)[1] is None  # detached, as in CI checkouts


def test_git_info_outside_a_repository_is_all_none(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    inside = subprocess.run(
        ["git", "-C", str(outside), "rev-parse", "--is-inside-work-tree"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if inside.returncode == 0:
        pytest.skip("the temporary folder is itself inside a git repository")
    assert git_info(outside) == (None, None, None)
    assert git_info(tmp_path / "missing") == (None, None, None)
