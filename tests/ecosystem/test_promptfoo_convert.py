"""What `evalkit import promptfoo` makes of each promptfoo feature, checked field by field."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from evalkit.cli import invoke
from evalkit.workspace.promptfoo import convert

CONFIG = """\
description: Kitchen sink
prompts:
  - 'Answer {{question}}'
  - file://chat.json
providers:
  - exec: python3 answer.py
  - id: ollama:chat:llama3.2
  - id: anthropic:messages:claude-sonnet-4-6
    label: Claude
    config: {temperature: 0, max_tokens: 300, top_k: 5}
  - azureopenai:chat:my-deployment
  - bedrock:anthropic.claude-3-haiku-20240307-v1:0
  - id: file://custom.js
defaultTest:
  vars: {tone: plain}
  assert:
    - type: not-icontains
      value: sorry
      weight: 0.5
      metric: no-apology
  options:
    provider: openai:gpt-4o
tests:
  - description: capital
    vars: {question: [France, Spain]}
    threshold: 0.6
    assert:
      - type: contains-any
        value: [Paris, Madrid]
      - type: equals
        value: Paris
        transform: output.city
      - type: latency
        threshold: 2000
      - type: python
        value: file://check.py
  - file://more/*.yaml
  - file://cases.json
evaluateOptions: {maxConcurrency: 2, repeat: 3, delay: 100}
"""

EXEC_SCRIPT = """\
import sys
print("answer:", sys.argv[1])
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "ws" / "pf"
    (folder / "more").mkdir(parents=True)
    (tmp_path / "ws" / "evals").mkdir()
    (folder / "promptfooconfig.yaml").write_text(CONFIG)
    (folder / "chat.json").write_text(
        json.dumps(
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "{{question}}"},
            ]
        )
    )
    (folder / "answer.py").write_text(EXEC_SCRIPT)
    (folder / "check.py").write_text(
        "def get_assert(output, context):\n    return 'answer' in output\n"
    )
    (folder / "more" / "a.yaml").write_text(
        "- vars: {question: Italy}\n  assert:\n    - type: javascript\n      value: 'true'\n"
    )
    (folder / "cases.json").write_text(json.dumps([{"vars": {"question": "Peru"}}]))
    return folder / "promptfooconfig.yaml"


def test_every_feature_maps_or_is_listed(config: Path) -> None:
    result = convert(config, config.parent.parent)
    plan, suite = result.plan, result.suite
    assert plan["name"] == "kitchen-sink" and plan["suites"] == ["suites/kitchen-sink.yaml"]
    assert (plan["concurrency"], plan["epochs"]) == (2, 3)
    targets = {t["id"]: t for t in plan["targets"]}
    assert targets["exec:python3-answer.py"]["command"] == 'cd pf && python3 answer.py "$(cat)"'
    assert targets["ollama:chat:llama3.2"] | {} == {
        **targets["ollama:chat:llama3.2"],
        "provider": "openai",
        "model": "llama3.2",
        "base_url": "http://localhost:11434/v1",
        "api_key_env": None,
    }
    claude = targets["claude"]
    assert (claude["provider"], claude["model"], claude["temperature"], claude["max_tokens"]) == (
        "anthropic",
        "claude-sonnet-4-6",
        0,
        300,
    )
    assert targets["azureopenai:chat:my-deployment"]["platform"] == "azure"
    bedrock = targets["bedrock:anthropic.claude-3-haiku-20240307-v1:0"]
    assert (bedrock["platform"], bedrock["model"]) == (
        "bedrock",
        "anthropic.claude-3-haiku-20240307-v1:0",
    )
    prompts = claude["prompts"]
    assert prompts[0] == {"template": "Answer {{question}}", "id": "prompt-1"}
    assert prompts[1]["messages"][0] == {"role": "system", "content": "Be brief."}
    defaults = suite["defaults"]
    assert defaults["vars"] == {"tone": "plain"}
    assert defaults["graders"] == [
        {"type": "not-icontains", "value": "sorry", "weight": 0.5, "metric": "no-apology"}
    ]
    cases = suite["cases"]
    assert [c["vars"]["question"] for c in cases] == ["France", "Spain", "Italy", "Peru"]
    first = cases[0]
    assert first["threshold"] == 0.6
    graders = first["graders"]
    assert graders[0] == {"type": "contains-any", "value": ["Paris", "Madrid"]}
    assert graders[1] == {"type": "json-field", "path": "city", "equals": "Paris"}
    assert graders[2] == {"type": "latency", "value": 2000}
    assert graders[3]["type"] == "python" and graders[3]["value"].startswith("graders/")
    assert "graders/kitchen_sink_promptfoo.py" in result.files
    listed = [str(u) for u in result.unconverted]
    assert any(
        s.startswith("promptfooconfig.yaml:10:47 providers[2].config.top_k:") for s in listed
    )
    assert any("providers[5]: provider 'file://custom.js' has no evalkit" in s for s in listed)
    assert any("defaultTest.options.provider" in s for s in listed)
    assert any("evaluateOptions.delay" in s for s in listed)
    assert any(s.startswith("more/a.yaml:3:7 [0].assert[0]: 'javascript'") for s in listed)
    assert len(listed) == 5, listed


def test_an_exec_provider_and_a_python_assertion_run(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config.parent.parent
    text = config.read_text()
    # keep the providers that run on this machine
    start, end = text.index("  - id: ollama"), text.index("defaultTest:")
    config.write_text(text[:start] + text[end:])
    monkeypatch.chdir(root)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    assert invoke(["import", "promptfoo", "pf/promptfooconfig.yaml", "--dry-run"]) == 0
    assert "converted: 1 targets, 4 cases" in capsys.readouterr().out
    assert not (root / "evals" / "kitchen-sink.yaml").exists()  # --dry-run writes nothing
    assert invoke(["import", "promptfoo", "pf/promptfooconfig.yaml"]) == 0
    out = capsys.readouterr().out
    assert "valid, 4 cases, 1 targets" in out
    # a second import refuses to overwrite, unless --force
    assert invoke(["import", "promptfoo", "pf/promptfooconfig.yaml"]) == 4
    assert "already exist" in capsys.readouterr().err
    assert invoke(["import", "promptfoo", "pf/promptfooconfig.yaml", "--force"]) == 0
    capsys.readouterr()
    code = invoke(["run", "kitchen-sink", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 1, out  # "Paris" is never in the answer: the case fails, as in promptfoo
    con = duckdb.connect(str(root / ".evalkit" / "evalkit.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT g.metric, g.status FROM grades g WHERE g.trial_id LIKE 'kitchen-sink/capital@%' "
        "AND g.trial_id LIKE '%[prompt-1]%' ORDER BY g.trial_id, g.idx"
    ).fetchall()
    con.close()
    by_metric = dict(rows)
    assert by_metric["no-apology"] == "pass"  # the defaultTest grader, negated
    assert by_metric["python"] == "pass"  # check.py's get_assert saw "answer: ..."
    assert by_metric["contains-any"] == "fail"  # the answer names no capital
    assert by_metric["json-field"] == "fail"  # the answer is not JSON with a city


def test_the_production_log_import_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evals").mkdir()
    (tmp_path / "logs.jsonl").write_text(json.dumps({"q": "Where is my parcel?"}) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    code = invoke(["import", "logs.jsonl", "--suite", "suites/prod.yaml", "--map", "question=q"])
    assert code == 0, capsys.readouterr()
    assert "Where is my parcel?" in (tmp_path / "suites" / "prod.yaml").read_text()


def test_a_missing_config_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(["import", "promptfoo", "nope.yaml"]) == 4
