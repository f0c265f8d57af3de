"""`evalkit import promptfoo` on ten configs from promptfoo's own examples/ folder.

Each is converted, validated (the command loads the plan as `evalkit validate` does) and
run offline: OpenAI and Anthropic targets and the judge talk to the local fake model
server through the SDKs' base-URL variables, the http target to its echo endpoint, the
Python provider and `echo` on this machine. What could not be converted is asserted line
by line, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml

from evalkit.cli import invoke
from tests.fakeserver import FakeModelServer

EXAMPLES = Path(__file__).parent / "promptfoo"

# name -> (trials in the run, unconverted lines, trials expected to error)
EXPECTED: dict[str, tuple[int, list[str], int]] = {
    "getting-started": (8, [], 0),
    "json-output": (
        2,
        [
            "promptfooconfig.yaml:14:9 tests[0].assert[1]: 'javascript'",
            "promptfooconfig.yaml:36:9 tests[1].assert[1]: 'javascript'",
            "promptfooconfig.yaml:40:9 tests[1].assert[2].transform: transform 'output.countries'",
        ],
        0,
    ),
    "python-provider": (6, [], 0),
    # the first prompt uses promptfoo's `load` filter: listed and left out
    "simple-csv": (
        4,
        ["promptfooconfig.yaml:3:5 prompts[0]: Nunjucks filter 'load' has no Jinja2"],
        0,
    ),
    "simple-test": (
        10,
        [
            "promptfooconfig.yaml:52:1 outputPath:",
            "promptfooconfig.yaml:32:9 tests[3].assert[0]: 'javascript'",
            "promptfooconfig.yaml:38:9 tests[3].assert[2]: 'similar'",
        ],
        0,
    ),
    "csv-metadata": (3, [], 0),
    "http-provider": (2, [], 0),
    "claude-vs-gpt": (
        30,
        [
            "prompt.yaml:6:9 messages[0].content[0].cache_control:",
            "promptfooconfig.yaml:24:7 providers[0].config.cache_control:",
            "promptfooconfig.yaml:34:7 defaultTest.assert[2]: 'javascript'",
        ],
        0,
    ),
    "chat-messages-format": (
        6,
        ["promptfooconfig.yaml:28:9 prompts[2].messages[4].content: prompt.js is code"],
        0,
    ),
    "compare-llama-vs-gpt": (
        16,
        ["promptfooconfig.yaml:18:5 providers[2]: provider 'replicate:meta/llama-4-maverick"],
        0,
    ),
}


@pytest.fixture
def workspace(
    tmp_path: Path, fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    root = tmp_path / "ws"
    (root / "evals").mkdir(parents=True)
    monkeypatch.chdir(root)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.setenv(name, "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.openai_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_url)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    # the judge (Claude by default, here the fake server) passes every rubric
    verdict = json.dumps({"reasoning": "It does.", "pass": True, "score": 1})
    fake_server.script({"match": "<<<OUTPUT", "reply": verdict})
    return root


Run = Callable[..., tuple[int, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*args: str) -> tuple[int, str]:
        code = invoke(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def test_ten_real_configs_are_covered() -> None:
    assert len(EXPECTED) >= 10
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_promptfoo_example_converts_validates_and_runs(
    name: str, workspace: Path, fake_server: FakeModelServer, cli: Run
) -> None:
    trials, unconverted, errors = EXPECTED[name]
    shutil.copytree(EXAMPLES / name, workspace / "promptfoo" / name)
    code, out = cli("import", "promptfoo", f"promptfoo/{name}/promptfooconfig.yaml", "--name", name)
    assert code == 0, out
    assert f"wrote evals/{name}.yaml and suites/{name}.yaml: valid" in out
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert len(listed) == len(unconverted), listed
    for line, expected in zip(listed, unconverted, strict=True):
        assert line.startswith(expected), (line, expected)
    if not unconverted:
        assert "everything in the config was converted" in out
    if name == "http-provider":  # the converted target, then pointed at the local echo
        plan_file = workspace / "evals" / f"{name}.yaml"
        plan = yaml.safe_load(plan_file.read_text())
        (target,) = plan["targets"]
        assert target["url"] == "https://localhost:3800/api/fail"
        assert target["output_path"] == "choices.0.message.content"
        assert target["body"] == {"prompt": "{{prompt}}", "model": "{{model}}"}
        target.update(url=fake_server.echo_url, output_path="data.answer")
        plan_file.write_text(yaml.safe_dump(plan))
    code, out = cli("run", name)
    con = duckdb.connect(str(workspace / ".evalkit" / "evalkit.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT status, error FROM results").fetchall()
    finally:
        con.close()
    # a config without assertions grades nothing: evalkit says so with exit 5, not a pass
    graded = any(status != "skipped" for status, _ in rows)
    assert code in ((0, 1) if graded else (5,)), out
    assert len(rows) == trials
    errored = [error for status, error in rows if status == "error"]
    assert len(errored) == errors, errored
