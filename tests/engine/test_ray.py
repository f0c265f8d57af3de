"""`--executor ray` on a local Ray instance: the demo, and a 1,000-trial suite on actors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evalkit
from tests.engine.test_workers import GRADES, RESULTS, calls, peak_overlap, rows, workspace

ray: Any = pytest.importorskip("ray")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # a local Ray instance takes seconds to start


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def test_the_demo_runs_on_ray_as_it_runs_in_process(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    here, there = tmp_path / "here.duckdb", tmp_path / "ray.duckdb"
    [local] = evalkit.run(workspace=REPO, db=here, workers=1)
    [remote] = evalkit.run(workspace=REPO, db=there, executor="ray")
    assert not any("one process" in n for n in remote.notices)
    assert remote.status == "completed" and remote.totals.finished == local.totals.finished
    assert remote.gate.passed
    assert rows(here, RESULTS) == rows(there, RESULTS)


def test_a_thousand_trials_on_two_ray_actors(local_ray: None, tmp_path: Path) -> None:
    root = workspace(tmp_path, [f"c{i:03d}" for i in range(500)], epochs=2, sleep=0.0)
    plan = root / "evals" / "nums.yaml"
    plan.write_text(plan.read_text() + "ray: {actors: 2, num_cpus: 0.5}\n")
    here, there = tmp_path / "here.duckdb", tmp_path / "ray.duckdb"
    evalkit.run(workspace=root, db=here, workers=1)
    (root / "calls.log").unlink()
    [remote] = evalkit.run(workspace=root, db=there, executor="ray")
    assert remote.totals.finished == 1000
    assert rows(here, RESULTS) == rows(there, RESULTS)
    assert rows(here, GRADES) == rows(there, GRADES)
    made = calls(root)
    assert len({pid for pid, _, _ in made}) == 2 and os.getpid() not in {p for p, _, _ in made}
    assert peak_overlap(made) <= 3  # the plan's concurrency, across both actors
