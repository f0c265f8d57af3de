"""The workspaces a new user meets first: `evalkit init`, and the demo at the repository root."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import evalkit
from tests.harness import Cli

REPO = Path(__file__).resolve().parents[2]


def test_init_scaffolds_a_workspace_that_runs_offline(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    code, out = cli("init", str(tmp_path / "mine"))
    assert code == 0, out
    assert f"Next: `cd {tmp_path / 'mine'}` and `evalkit run`." in " ".join(out.split())
    for folder in ("suites", "evals", "graders", "reports"):
        assert (tmp_path / "mine" / folder).is_dir()
    assert ".evalkit/" in (tmp_path / "mine" / ".gitignore").read_text()
    monkeypatch.chdir(tmp_path / "mine")
    code, out = cli("validate")
    assert code == 0, out
    code, out = cli("run")
    assert code == 0, out  # the recorded answers meet the scaffold's gate
    assert "skipping target 'claude'" in out
    code, out = cli("init", ".")
    assert "kept" in out  # never overwrites the user's files
    assert "Next: `evalkit run`." in out  # no `cd .` when it is the folder you are in


def test_the_demo_workspace_runs_offline_and_meets_its_gate(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(REPO)
    db = tmp_path / "demo.duckdb"
    code, out = cli("run", "--db", str(db))
    assert code == 0, out
    assert "gate passed" in out
    con = duckdb.connect(str(db), read_only=True)
    statuses = dict(con.execute("SELECT status, count(*) FROM results GROUP BY 1").fetchall())
    targets = {r[0] for r in con.execute("SELECT DISTINCT target_id FROM results").fetchall()}
    con.close()
    assert statuses.get("fail", 0) > 0  # the demo shows what failure looks like
    assert statuses["pass"] > statuses.get("fail", 0)
    assert targets == {"kb-assistant", "assistant-v1"}


def test_python_api_runs_and_reads_back_dataframes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    db = tmp_path / "api.duckdb"
    outcomes = evalkit.run(workspace=REPO, db=db, targets=("kb-assistant",), limit=3)
    assert len(outcomes) == 1 and outcomes[0].status == "completed"
    res = evalkit.results("latest", workspace=REPO, db=db)
    assert res.run_id == outcomes[0].run_id
    assert len(res.trials) == outcomes[0].totals.finished
    assert {"trial_id", "status", "score", "output"} <= set(res.trials.columns)
    assert set(res.grades["trial_id"]) <= set(res.trials["trial_id"])
    assert res.summary["trials"].sum() == len(res.trials)
