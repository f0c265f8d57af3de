"""Judges that read a whole conversation or trajectory: goal-success (did the agent
achieve what the user wanted), conversation-rubric (a rubric over the transcript) and
role-adherence (did the assistant stay in its role). The transcript is untrusted text,
fenced like any output."""

from __future__ import annotations

import json
from typing import Any

from evalkit.graders.base import Verdict, grader
from evalkit.graders.judge.common import JudgeParams, Sample, as_text, judge_samples
from evalkit.records import Case, TargetOutput


def transcript(output: TargetOutput) -> str:
    """The conversation as the judge reads it: one line per message or tool call."""
    if not output.steps:
        return f"Assistant: {output.text or as_text(output.data)}"
    lines: list[str] = []
    for step in output.steps:
        if step.role == "tool":
            args = json.dumps(step.arguments or {}, ensure_ascii=False, default=str)
            answer = f"error: {step.error}" if step.error else (step.content or "")
            lines.append(f"[tool call] {step.tool_name}({args}) -> {answer}")
        elif step.content:
            lines.append(f"{step.role.capitalize()}: {step.content}")
    return "\n".join(lines)


def _read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
    return Sample(float(verdict["score"]), bool(verdict["pass"]), verdict["reasoning"], verdict)


class GoalParams(JudgeParams):
    """goal-success: `value` is the goal; default: the simulated user's goal, else the
    case's `expected`."""

    goal: str | None = None


def _goal(case: Case, params: GoalParams) -> str:
    if params.goal:
        return params.goal
    if case.user is not None and case.user.goal:
        return case.user.goal
    if case.expected is not None:
        return as_text(case.expected)
    raise ValueError("goal-success needs a goal: `value:`, the case's user.goal or expected")


@grader("goal-success", params=GoalParams, value_field="goal")
async def goal_success(output: TargetOutput, case: Case, params: GoalParams) -> Verdict:
    """A model judge decides whether the agent achieved the user's goal (trajectory read)."""
    return await judge_samples(
        "goal-success", params, {"transcript": transcript(output)}, {"goal": _goal(case, params)},
        _read,
    )  # fmt: skip


class ConversationRubricParams(JudgeParams):
    """conversation-rubric: `value` is the rubric the whole conversation must meet."""

    rubric: str


@grader("conversation-rubric", params=ConversationRubricParams, value_field="rubric")
async def conversation_rubric(
    output: TargetOutput, case: Case, params: ConversationRubricParams
) -> Verdict:
    """A model judge grades the whole transcript against a rubric."""
    return await judge_samples(
        "conversation-rubric", params, {"transcript": transcript(output)},
        {"rubric": params.rubric}, _read,
    )  # fmt: skip


class RoleParams(JudgeParams):
    """role-adherence: `value` describes the role the assistant must keep."""

    role: str


@grader("role-adherence", params=RoleParams, value_field="role")
async def role_adherence(output: TargetOutput, case: Case, params: RoleParams) -> Verdict:
    """A model judge checks that every assistant turn stays in the given role."""
    return await judge_samples(
        "role-adherence", params, {"transcript": transcript(output)}, {"role": params.role},
        _read,
    )  # fmt: skip
