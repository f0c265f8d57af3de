"""`evalkit run` end to end: real SDKs against the fake server, rows checked in DuckDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import (
    PYTHON_TARGET,
    Workspace,
    anthropic_target,
    loads,
    openai_target,
)

Cli = Callable[..., tuple[int, str]]


def test_run_records_every_trial_in_duckdb(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(
        anthropic_target(workspace.server) + openai_target(workspace.server) + PYTHON_TARGET
    )
    code, out = cli("run")
    # `local` answers shipping with "I am not sure." -> one failing trial, no gate -> exit 1
    assert code == 1, out
    assert "support" in out and "shipping@local" in out
    assert workspace.sql("SELECT count(*), any_value(status) FROM runs") == [(1, "completed")]
    rows = workspace.sql(
        "SELECT target_id, prompt_id, status, input_tokens > 0, cost_usd > 0, cached "
        "FROM results ORDER BY target_id, case_id"
    )
    assert len(rows) == 9
    claude = [r for r in rows if r[0] == "claude"]
    assert all(r[1] == "plain" and r[2] == "pass" and r[3] and r[4] and not r[5] for r in claude)
    local = {r[2] for r in rows if r[0] == "local"}
    assert local == {"pass", "fail"}
    graded = workspace.sql("SELECT count(*) FROM grades")[0][0]
    assert graded == 9
    assert workspace.server.request_count() == 6  # 3 cases x 2 model targets


def test_second_run_is_served_from_the_cache(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(anthropic_target(workspace.server))
    assert cli("run")[0] == 0
    calls = workspace.server.request_count()
    code, out = cli("run")
    assert code == 0, out
    assert workspace.server.request_count() == calls  # no new model calls
    cached = workspace.sql(
        "SELECT bool_and(cached), sum(cost_usd) FROM results WHERE run_id = "
        "(SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)"
    )
    assert cached == [(True, 0.0)]
    assert "3 cached" in out
    assert cli("run", "--no-cache")[0] == 0
    assert workspace.server.request_count() == calls + 3


def test_a_gate_decides_the_exit_code(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET, extra="gate: {min_pass_rate: 0.6}\n")
    code, out = cli("run")
    assert code == 0, out  # 2 of 3 pass: 66.7% >= 60%
    assert "gate passed" in out
    workspace.plan(PYTHON_TARGET, extra="gate: {min_pass_rate: 0.9}\n")
    code, out = cli("run")
    assert code == 1
    assert "gate failed" in out and "66.7%" in out


def test_selection_flags_narrow_the_run(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET + openai_target(workspace.server))
    assert cli("run", "--tag", "smoke", "--target", "local")[0] == 0
    assert workspace.sql("SELECT case_id, target_id FROM results") == [("greeting", "local")]
    cli("run", "-k", "ref*", "--epochs", "2", "--target", "local")
    rows = workspace.sql(
        "SELECT case_id, epoch FROM results WHERE run_id = "
        "(SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1) ORDER BY epoch"
    )
    assert rows == [("refund", 0), ("refund", 1)]
    code, out = cli("run", "-k", "no-such-case")
    assert code == 5, out


def test_a_target_without_its_key_is_skipped_with_a_notice(
    workspace: Workspace, cli: Cli, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    workspace.plan(anthropic_target(workspace.server) + PYTHON_TARGET)
    code, out = cli("run")
    assert "skipping target 'claude'" in out and "ANTHROPIC_API_KEY" in out
    assert code == 1  # the python target still ran, with its one failure
    assert workspace.sql("SELECT DISTINCT target_id FROM results") == [("local",)]
    assert workspace.sql(
        "SELECT skipped_reason IS NOT NULL FROM run_targets WHERE target_id='claude'"
    ) == [(True,)]


def test_server_errors_are_recorded_not_raised(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(anthropic_target(workspace.server), extra="retries: 0\n")
    workspace.server.fail_next(401, count=10)
    code, out = cli("run")
    assert code == 3  # a rejected key is an infrastructure failure, not a worse model
    rows = workspace.sql("SELECT DISTINCT status, error_kind FROM results")
    assert rows == [("error", "auth")]
    assert "test-key" not in out


def test_runs_show_and_export(workspace: Workspace, cli: Cli, tmp_path: object) -> None:
    workspace.plan(PYTHON_TARGET)
    cli("run", "--label", "branch=main")
    code, out = cli("runs")
    assert code == 0 and "support" in out and "branch" in out
    code, out = cli("show", "latest")
    assert code == 0 and "shipping@local" in out and "I am not sure" not in out.split("Failures")[0]
    code, out = cli("export", "latest", "--format", "jsonl", "--out", "trials.jsonl")
    assert code == 0
    lines = (workspace.root / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 3


def test_a_bad_label_is_a_usage_error(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    code, out = cli("run", "--label", "oops")
    assert code == 4 and "key=value" in out


def test_validate_points_at_the_line(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("validate")[0] == 0
    suite = workspace.root / "suites" / "support.yaml"
    suite.write_text(
        suite.read_text().replace("type: icontains\n        value", "type: icontain\n        value")
    )
    code, out = cli("validate")
    assert code == 4
    assert "suites/support.yaml:13:" in out and "did you mean 'icontains'" in out


def test_evalkit_db_chooses_the_database(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.plan(PYTHON_TARGET)
    elsewhere = workspace.root / "elsewhere.duckdb"
    monkeypatch.setenv("EVALKIT_DB", str(elsewhere))
    cli("run")
    assert elsewhere.exists() and not workspace.db.exists()
    code, out = cli("runs")
    assert code == 0 and "support" in out


def test_a_run_records_who_made_it_and_from_where(workspace: Workspace, cli: Cli) -> None:
    workspace.plan(PYTHON_TARGET)
    cli("run", "--label", "branch=main")
    ((who, version, labels, suites),) = workspace.sql(
        "SELECT created_by, evalkit_version, labels, suite_hashes FROM runs"
    )
    assert who and version
    assert loads(labels) == {"branch": "main"}
    suite_hashes = loads(suites)
    assert isinstance(suite_hashes, dict)
    assert str(suite_hashes["support"]).startswith("sha256:")


def test_prompt_variant_names_survive_the_terminal_table(workspace: Workspace, cli: Cli) -> None:
    # "claude[plain]" looks like rich markup; it must be printed, not eaten as a style.
    workspace.plan(anthropic_target(workspace.server))
    code, out = cli("run")
    assert code == 0, out
    assert "claude[plain]" in out


def test_validate_checks_judge_templates_and_the_plans_judge(
    workspace: Workspace, cli: Cli
) -> None:
    templates = workspace.root / "graders" / "templates"
    templates.mkdir(parents=True)
    (templates / "tone.yaml").write_text(
        "system: Grade the tone.\nprompt: '{{ output }'\nverdict: {type: object}\n"
    )
    workspace.plan(PYTHON_TARGET, extra="judge: {provider: openai}\n")
    code, out = cli("validate")
    assert code == 4, out
    assert "tone.yaml: Jinja syntax error" in out
    assert "evals/plan.yaml: judge:" in out and "model" in out
    (templates / "tone.yaml").write_text(
        "system: Grade the tone.\nprompt: '{{ output }}'\nverdict: {type: object}\n"
    )
    workspace.plan(PYTHON_TARGET, extra="judge: openai:gpt-4.1-mini\n")
    code, out = cli("validate")
    assert code == 0, out
