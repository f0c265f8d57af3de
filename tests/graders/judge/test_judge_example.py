"""examples/claude-judge end to end, offline: the fake server stands in for Claude (as
target and as judge) through ANTHROPIC_BASE_URL, with a scripted reply per judge prompt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fakeserver import FakeModelServer
from tests.graders.judge.conftest import Cli, verdict

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "claude-judge"


def test_the_claude_judge_example_runs_and_reruns_from_the_cache(
    tmp_path: Path, fake_server: FakeModelServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "claude-judge"
    shutil.copytree(EXAMPLE, root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_url)
    monkeypatch.delenv("EVALKIT_DB", raising=False)
    monkeypatch.delenv("EVALKIT_JUDGE", raising=False)
    yes = {"pass": True}
    claims = [{"claim": "30 days", "supported": True}]
    passages = [{"index": 1, "relevant": True}, {"index": 2, "relevant": True}]
    steps = json.dumps({"steps": ["Check jargon", "Check the amount"]})
    fake_server.script(
        # the judge's prompts, told apart by their templates' wording
        {"match": "Classify the response against the reference", "reply": verdict(category="same")},
        {"match": "List every factual claim", "reply": verdict(claims=claims)},
        {"match": "meet every criterion", "reply": verdict(answer="Y")},
        {"match": "Does the response address", "reply": verdict(relevance="yes")},
        {"match": "retrieved passages, numbered", "reply": verdict(passages=passages)},
        {"match": "Does the response meet the rubric", "reply": verdict(score=1, **yes)},
        {"match": "Response B:", "replies": [verdict(winner="A"), verdict(winner="B")]},
        {"match": "Write 3 to 6", "reply": steps},
        {"match": "Evaluation steps:", "reply": verdict(score=5)},
        {"match": "stressed customer", "reply": verdict(choice="warm")},
        # the target
        {"match": "Customer question:", "reply": "Within 30 days; attach the PIR. EUR 100."},
    )  # fmt: skip
    code, out = cli("run")
    assert code == 0, out
    first = fake_server.request_count()
    target_calls = sum(1 for r in fake_server.requests() if r["model"] == "claude-sonnet-4-6")
    judge_calls = first - target_calls
    assert target_calls == 4
    # 4 tone + factuality + faithfulness + closed-qa + answer/context-relevance + rubric
    # + pairwise (both orders) + g-eval steps + g-eval's 3 samples (a request each)
    assert judge_calls == 4 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 3
    assert f"judge anthropic:claude-haiku-4-5: {judge_calls} calls · 0 cached" in out
    code, out = cli("run")
    assert code == 0, out
    assert fake_server.request_count() == first  # the rerun costs no call at all
    assert f"{judge_calls} calls · {judge_calls} cached" in out
    code, out = cli("show", "latest", "--reasoning")
    assert code == 0 and "Judge reasoning" in out
