"""Trajectory graders on hand-made trajectories: each verdict, and each way to fail."""

from __future__ import annotations

from typing import Any

import pytest

from evalkit.errors import GraderError
from evalkit.records import Step, TargetOutput
from evalkit.targets.python_provider import to_output
from tests.graders.grading import grade


def call(name: str, **args: Any) -> Step:
    return Step("tool", 1, tool_name=name, arguments=args, result={"ok": True})


def agent(*calls: Step, text: str = "done") -> TargetOutput:
    steps = [Step("user", 1, "help"), Step("assistant", 1, ""), *calls, Step("assistant", 1, text)]
    return TargetOutput(text=text, steps=steps)


VERIFY_THEN_RESET = agent(call("verify_identity", user="ana"), call("reset_password", user="ana"))
RESET_FIRST = agent(call("reset_password", user="ana"), call("verify_identity", user="ana"))


async def test_tool_called_counts_within_bounds() -> None:
    assert (await grade("tool-called", VERIFY_THEN_RESET, value="reset_password")).passed
    twice = agent(call("lookup_ticket"), call("lookup_ticket"))
    too_many = await grade("tool-called", twice, value="lookup_ticket", max=1)
    assert not too_many.passed
    assert too_many.reason.startswith("lookup_ticket called 2x (wanted 1..1)")
    both = await grade("tool-called", VERIFY_THEN_RESET, value=["verify_identity", "create_ticket"])
    assert both.score == 0.5 and not both.passed
    alias = await grade("trajectory:tool-used", VERIFY_THEN_RESET, value="verify_identity")
    assert alias.passed and alias.grader == "trajectory:tool-used"


async def test_tool_args_subset_schema_and_python_check(tmp_path: Any, monkeypatch: Any) -> None:
    out = agent(call("lookup_ticket", ticket_id="T-1", verbose=True))
    assert (await grade("tool-args", out, value="lookup_ticket", args={"ticket_id": "T-1"})).passed
    wrong = await grade("tool-args", out, value="lookup_ticket", args={"ticket_id": "T-2"})
    assert not wrong.passed and "does not contain {'ticket_id': 'T-2'}" in wrong.reason
    schema = {"type": "object", "properties": {"ticket_id": {"pattern": "^T-[0-9]+$"}}}
    assert (await grade("tool-args", out, tool="lookup_ticket", schema=schema)).passed
    bad = agent(call("lookup_ticket", ticket_id="1042"))
    assert not (await grade("tool-args", bad, tool="lookup_ticket", schema=schema)).passed
    (tmp_path / "checks.py").write_text(
        "def upper(args):\n    return args['ticket_id'].isupper()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert (await grade("tool-args", out, tool="lookup_ticket", python="checks:upper")).passed
    missing = await grade("tool-args", agent(), tool="lookup_ticket", args={})
    assert (
        not missing.passed
        and missing.reason == "lookup_ticket was not called; calls: no tool calls"
    )
    with pytest.raises(GraderError, match="give `args`"):
        await grade("tool-args", out, tool="lookup_ticket")


async def test_tool_sequence_modes() -> None:
    order = ["verify_identity", "reset_password"]
    assert (await grade("tool-sequence", VERIFY_THEN_RESET, value=order)).passed
    assert not (await grade("tool-sequence", RESET_FIRST, value=order)).passed
    assert (await grade("tool-sequence", RESET_FIRST, value=order, mode="any-order")).passed
    extra = agent(call("lookup_ticket"), *VERIFY_THEN_RESET.steps[2:4])  # type: ignore[index]
    assert (await grade("tool-sequence", extra, value=order, mode="subsequence")).passed
    exact = await grade("tool-sequence", extra, value=order, mode="exact")
    assert not exact.passed and exact.score is not None and exact.score < 1


async def test_no_tool_and_never_before() -> None:
    assert (await grade("no-tool", VERIFY_THEN_RESET, value="create_ticket")).passed
    assert not (await grade("no-tool", VERIFY_THEN_RESET, value="reset_password")).passed
    ok = await grade("no-tool", VERIFY_THEN_RESET, value="reset_password", before="verify_identity")
    assert ok.passed
    early = await grade("no-tool", RESET_FIRST, value="reset_password", before="verify_identity")
    assert not early.passed
    assert early.reason.startswith("reset_password called before verify_identity (call 1)")
    never = agent(call("reset_password"))
    assert not (
        await grade("no-tool", never, value="reset_password", before="verify_identity")
    ).passed


async def test_max_steps_counts_tools_or_model_calls() -> None:
    assert (await grade("max-steps", VERIFY_THEN_RESET, value=2)).passed
    assert not (await grade("max-steps", VERIFY_THEN_RESET, value=1)).passed
    assert not (await grade("max-steps", VERIFY_THEN_RESET, value=1, count="model")).passed
    assert (await grade("trajectory:step-count", VERIFY_THEN_RESET, value=4, count="all")).passed


async def test_trajectory_match_precision_and_recall() -> None:
    expected = [
        {"tool": "verify_identity", "args": {"user": "ana"}},
        {"tool": "reset_password"},
    ]
    exact = await grade("trajectory-match", VERIFY_THEN_RESET, value=expected, order="in-order")
    assert exact.passed and exact.metadata == {"precision": 1.0, "recall": 1.0}
    swapped = await grade("trajectory-match", RESET_FIRST, value=expected, order="in-order")
    assert not swapped.passed and swapped.metadata == {"precision": 0.5, "recall": 0.5}
    noisy = agent(*VERIFY_THEN_RESET.steps[2:4], call("lookup_ticket"), call("create_ticket"))  # type: ignore[index]
    loose = await grade("trajectory-match", noisy, value=expected, min_precision=0.5)
    assert loose.passed and loose.metadata == {"precision": 0.5, "recall": 1.0}
    assert loose.score == pytest.approx(2 / 3)
    from_case = await grade(
        "trajectory-match", VERIFY_THEN_RESET, expected={"trajectory": expected[:1]},
        min_precision=0.5,
    )  # fmt: skip
    assert from_case.passed and from_case.metadata["recall"] == 1.0


async def test_knowledge_retention_reads_the_turn() -> None:
    steps = [
        Step("user", 1, "my ticket is T-9"), Step("assistant", 1, "noted T-9"),
        Step("user", 2, "what was it?"), Step("assistant", 2, "I forgot"),
    ]  # fmt: skip
    out = TargetOutput(text="I forgot", steps=steps)
    assert (await grade("knowledge-retention", out, value="t-9", turn=1)).passed
    lost = await grade("knowledge-retention", out, value="T-9")
    assert not lost.passed and lost.reason == "the reply at turn 2 does not use 'T-9'"


def test_a_python_agent_reports_its_trajectory() -> None:
    output = to_output(
        {
            "output": "Password reset.",
            "trajectory": [
                {"tool": "verify_identity", "args": {"user": "ana"}, "result": {"ok": True}},
                {"role": "assistant", "content": "verified"},
                {"tool": "reset_password", "args": {"user": "ana"}, "error": "locked"},
            ],
            "model": "home-grown",
        },
        "agent.py:run",
    )
    assert output.metadata == {"model": "home-grown"}
    steps = output.steps or []
    assert [(s.role, s.tool_name, s.error) for s in steps] == [
        ("tool", "verify_identity", None),
        ("assistant", None, None),
        ("tool", "reset_password", "locked"),
    ]
    assert steps[0].arguments == {"user": "ana"} and steps[0].content == '{"ok": true}'
