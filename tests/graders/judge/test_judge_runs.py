"""The judge inside a run: the response cache, no key, failures, retries, `evalkit show`."""

from __future__ import annotations

import json

import pytest

from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict

RUBRIC = [{"type": "llm-rubric", "value": "Mentions 30 days"}]


def _judged_suite(ws: JudgeWorkspace) -> None:
    ws.suite(
        [
            {
                "id": f"c{i}",
                "vars": {"question": f"Q-c{i}?", "answer": f"Answer {i}"},
                "graders": RUBRIC,
            }
            for i in range(4)
        ]
        + [
            {
                "id": "rule",
                "vars": {"question": "Q-rule?", "answer": "30 days"},
                "graders": [{"type": "icontains", "value": "30"}],
            }
        ]
    )
    ws.server.script(
        {"match": "Q-c", "reply": verdict(reasoning="Fine.", score=1, **{"pass": True})}
    )


def test_a_rerun_with_an_unchanged_judge_makes_no_judge_calls(ws: JudgeWorkspace, cli: Cli) -> None:
    _judged_suite(ws)
    ws.plan()
    code, out = cli("run")
    assert code == 0, out
    first = ws.server.request_count()
    assert first == 4
    assert "judge anthropic:judge-model: 4 calls · 0 cached" in out
    code, out = cli("run")
    assert code == 0, out
    assert ws.server.request_count() == first  # every verdict came from the cache
    grades = ws.grades()
    assert all(grades[f"c{i}"]["judge_cached_calls"] == 1 for i in range(4))
    assert all(grades[f"c{i}"]["judge_cost_usd"] == 0 for i in range(4))
    assert all(grades[f"c{i}"]["status"] == "pass" for i in range(4))
    assert "4 calls · 4 cached" in out
    # --no-cache asks again; a changed rubric is a new question
    assert cli("run", "--no-cache")[0] == 0
    assert ws.server.request_count() == first + 4
    ws.suite(
        [
            {
                "id": "c0",
                "vars": {"question": "Q-c0?", "answer": "Answer 0"},
                "graders": [{"type": "llm-rubric", "value": "Mentions 31 days"}],
            }
        ]
    )
    assert cli("run")[0] == 0
    assert ws.server.request_count() == first + 5


def test_without_a_judge_key_model_graders_skip_with_one_notice(
    ws: JudgeWorkspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _judged_suite(ws)
    ws.plan()
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, out = cli("run")
    assert out.count("model-graded graders are skipped") == 1, out
    assert "ANTHROPIC_API_KEY is not set" in out
    assert ws.server.request_count() == 0
    statuses = dict(ws.sql("SELECT case_id, status FROM results"))
    assert statuses == {
        "c0": "skipped",
        "c1": "skipped",
        "c2": "skipped",
        "c3": "skipped",
        "rule": "pass",
    }
    # four trials went ungraded: the run cannot pass (exit 3) unless skips are counted out
    assert code == 3
    code, out = cli("run", "--allow-skipped")
    assert code == 0, out  # the rule-graded case ran and counts
    reasons = {r[0] for r in ws.sql("SELECT reason FROM grades WHERE status = 'skipped'")}
    assert len(reasons) == 1 and "no judge" in reasons.pop()


def test_evalkit_judge_env_chooses_the_judge(
    ws: JudgeWorkspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _judged_suite(ws)
    ws.plan()
    plan = ws.root / "evals" / "plan.yaml"
    plan.write_text(
        "\n".join(line for line in plan.read_text().splitlines() if not line.startswith("judge:"))
    )
    monkeypatch.setenv("EVALKIT_JUDGE", "openai:env-judge")
    monkeypatch.setenv("OPENAI_BASE_URL", ws.server.openai_url)
    code, out = cli("run")
    assert code == 0, out
    models = {r["model"] for r in ws.server.requests()}
    assert models == {"env-judge"}
    assert {g["judge_model"] for g in ws.grades().values() if g["judge_model"]} == {
        "openai:env-judge"
    }


def test_judge_failures_are_retried_then_recorded_as_errors(ws: JudgeWorkspace, cli: Cli) -> None:
    _judged_suite(ws)
    ws.plan(extra="concurrency: 1\n")
    ws.server.fail_next(503, count=1)  # retried by the engine: the grade still comes out
    code, out = cli("run")
    assert code == 0, out
    assert json.loads(ws.sql("SELECT summary FROM runs")[0][0])["retries"] == 1
    ws.server.fail_next(401, count=99)  # not retryable: every judged grade is an error
    code, out = cli("run", "--no-cache")
    assert code == 3, out  # a rejected judge key is an infrastructure failure
    assert ws.server.request_count() == 5 + 3  # after 3 identical 401s the judge is stopped
    errors = ws.sql(
        "SELECT count(*) FROM grades WHERE status = 'error' AND reason LIKE '%HTTP 401%'"
    )
    assert errors == [(4,)]


def test_show_prints_the_judge_and_its_reasoning(ws: JudgeWorkspace, cli: Cli) -> None:
    ws.suite(
        [
            {"id": "no", "vars": {"question": "Q-no?", "answer": "Nope"}, "graders": RUBRIC},
            {"id": "yes", "vars": {"question": "Q-yes?", "answer": "30 days"}, "graders": RUBRIC},
        ]
    )
    ws.plan()
    ws.server.script(
        {
            "match": "Q-no",
            "reply": verdict(reasoning="REASON-NO: no window.", score=0, **{"pass": False}),
        },
        {
            "match": "Q-yes",
            "reply": verdict(reasoning="REASON-YES: says 30.", score=1, **{"pass": True}),
        },
    )
    cli("run")
    code, out = cli("show", "latest")
    assert code == 0
    assert "REASON-NO: no window." in out  # a failing grade's reasoning is its reason
    assert "judge anthropic:judge-model: 2 calls" in out
    code, out = cli("show", "latest", "--reasoning")
    assert "REASON-YES: says 30." in out and "Judge reasoning" in out


def test_a_misconfigured_judge_stops_the_run_before_it_starts(ws: JudgeWorkspace, cli: Cli) -> None:
    _judged_suite(ws)
    ws.plan()
    plan = ws.root / "evals" / "plan.yaml"
    plan.write_text(plan.read_text().replace("provider: anthropic", "provider: antropic"))
    code, out = cli("run")
    assert code == 4, out
    assert "evals/plan.yaml: judge: unknown provider 'antropic'" in " ".join(out.split())
    assert "did you mean 'anthropic'?" in out
    assert not ws.db.exists() or ws.sql("SELECT count(*) FROM runs") == [(0,)]
