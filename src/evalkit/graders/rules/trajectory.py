"""Trajectory graders: what an agent did, not only what it said.

They read `output.steps` (the tool loop's, a simulated conversation's, or a python
agent's own `trajectory`). Names follow promptfoo's `trajectory:*` assertions where the
concept is the same, and those names are registered as aliases: `trajectory:tool-used`
is `tool-called`, `trajectory:tool-args-match` is `tool-args`, `trajectory:tool-sequence`
is `tool-sequence`, `trajectory:step-count` is `max-steps`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from evalkit.graders.base import Score, Verdict, grader
from evalkit.graders.rules._common import Params
from evalkit.graders.rules.python import load_function
from evalkit.graders.rules.structured import compile_schema, schema_problems
from evalkit.records import Case, Step, TargetOutput
from evalkit.targets.toolbox import is_subset


def tool_calls(output: TargetOutput) -> list[Step]:
    """The tool steps of an output's trajectory, in order."""
    return [s for s in output.steps or [] if s.role == "tool"]


def _names(calls: list[Step]) -> str:
    return " -> ".join(s.tool_name or "?" for s in calls) or "no tool calls"


def _one_or_many(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


class ToolCalledParams(Params):
    """tool-called: `value` is a tool name or a list of them; each must be called between
    `min` and `max` times."""

    name: str | list[str] = Field(alias="value")
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)


def tool_called(output: TargetOutput, case: Case, params: ToolCalledParams) -> Verdict:
    """Each named tool was called between `min` and `max` times."""
    counts = Counter(s.tool_name for s in tool_calls(output))
    wanted = _one_or_many(params.name)
    missing = [
        f"{name} called {counts[name]}x"
        for name in wanted
        if counts[name] < params.min or (params.max is not None and counts[name] > params.max)
    ]
    bounds = f"{params.min}..{'' if params.max is None else params.max}"
    ok = len(wanted) - len(missing)
    if missing:
        reason = f"{'; '.join(missing)} (wanted {bounds}); calls: {_names(tool_calls(output))}"
        return Score(ok / len(wanted), False, reason)
    return Score(1.0, True, f"{', '.join(wanted)} called ({bounds}): {_names(tool_calls(output))}")


class ToolArgsParams(Params):
    """tool-args: a call of `tool` whose arguments contain `args` (a JSON subset), follow
    `schema`, and/or pass `python` (`file.py:func` taking the arguments dict)."""

    tool: str = Field(alias="value")
    args: dict[str, Any] | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    python: str | None = None
    mode: Literal["any", "all"] = "any"  # some call matches, or every call of the tool
    _validator: Any = PrivateAttr(default=None)
    _check: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile(self) -> ToolArgsParams:
        if self.args is None and self.schema_ is None and self.python is None:
            raise ValueError("give `args` (a JSON subset), `schema` or `python` to check")
        if self.schema_ is not None:
            self._validator = compile_schema(self.schema_)
        if self.python is not None:
            self._check = load_function(self.python)
        return self


def _args_problem(params: ToolArgsParams, arguments: dict[str, Any]) -> str | None:
    if params.args is not None and not is_subset(params.args, arguments):
        return f"{arguments} does not contain {params.args}"
    if params._validator is not None and (found := schema_problems(params._validator, arguments)):
        return found
    if params._check is not None and not params._check(arguments):
        return f"{params.python} rejected {arguments}"
    return None


def tool_args(output: TargetOutput, case: Case, params: ToolArgsParams) -> Verdict:
    """The arguments of `tool`'s calls match (a subset, a schema, a python check)."""
    calls = [s for s in tool_calls(output) if s.tool_name == params.tool]
    if not calls:
        return Score(
            0.0, False, f"{params.tool} was not called; calls: {_names(tool_calls(output))}"
        )
    problems = [_args_problem(params, s.arguments or {}) for s in calls]
    good = sum(p is None for p in problems)
    passed = good == len(calls) if params.mode == "all" else good > 0
    first = next((p for p in problems if p is not None), None)
    if passed:
        return Score(1.0, True, f"{params.tool} called with matching arguments")
    return Score(good / len(calls), False, f"{params.tool}: {first}")


class ToolSequenceParams(Params):
    """tool-sequence: the tools called in this order. `exact`: nothing else; `in-order`
    (or `subsequence`): in this order, others may come between; `any-order`: all of them."""

    sequence: list[str] = Field(alias="value", min_length=1)
    mode: Literal["exact", "in-order", "subsequence", "any-order"] = "in-order"


def _subsequence_length(expected: list[str], actual: list[str]) -> int:
    """How many of `expected`, from the start, appear in `actual` in order."""
    found = 0
    for name in actual:
        if found < len(expected) and name == expected[found]:
            found += 1
    return found


def tool_sequence(output: TargetOutput, case: Case, params: ToolSequenceParams) -> Verdict:
    """The tools were called in the expected order (exact, in order, or any order)."""
    calls = tool_calls(output)
    actual = [s.tool_name or "" for s in calls]
    expected = params.sequence
    if params.mode == "exact":
        ok = actual == expected
        score = 1.0 if ok else _subsequence_length(expected, actual) / len(expected) * 0.99
    elif params.mode == "any-order":
        have = Counter(actual)
        hit = sum(min(n, have[name]) for name, n in Counter(expected).items())
        score, ok = hit / len(expected), hit == len(expected)
    else:
        hit = _subsequence_length(expected, actual)
        score, ok = hit / len(expected), hit == len(expected)
    reason = f"expected {' -> '.join(expected)} ({params.mode}); calls: {_names(calls)}"
    return Score(score, ok, reason)


class NoToolParams(Params):
    """no-tool: `value` (a tool or a list) is never called; with `before: other`, never
    before `other`'s first call ("reset_password never before verify_identity")."""

    name: str | list[str] = Field(alias="value")
    before: str | None = None


def no_tool(output: TargetOutput, case: Case, params: NoToolParams) -> Verdict:
    """A forbidden tool is never called (or never before another tool)."""
    calls = tool_calls(output)
    forbidden = set(_one_or_many(params.name))
    for i, step in enumerate(calls):
        if params.before is not None and step.tool_name == params.before:
            return Score(1.0, True, f"{params.before} came first; calls: {_names(calls)}")
        if step.tool_name in forbidden:
            when = f" before {params.before}" if params.before else ""
            return Score(
                0.0, False, f"{step.tool_name} called{when} (call {i + 1}): {_names(calls)}"
            )
    return Score(1.0, True, f"no {' or '.join(sorted(forbidden))} call; calls: {_names(calls)}")


class MaxStepsParams(Params):
    """max-steps: at most `value` steps; `count` says which: tool calls (default), model
    calls, or both."""

    max: int = Field(alias="value", ge=0)
    count: Literal["tools", "model", "all"] = "tools"


def max_steps(output: TargetOutput, case: Case, params: MaxStepsParams) -> Verdict:
    """The agent needed at most `max` steps."""
    steps = output.steps or []
    roles = {"tools": ("tool",), "model": ("assistant",), "all": ("tool", "assistant")}
    n = sum(s.role in roles[params.count] for s in steps)
    ok = n <= params.max
    stopped = output.metadata.get("stopped_by") if output.metadata else None
    extra = " (stopped at the target's max_steps)" if stopped == "max_steps" else ""
    return Score(1.0 if ok else 0.0, ok, f"{n} {params.count} steps, max {params.max}{extra}")


class ExpectedCall(Params):
    """One expected step of a trajectory-match."""

    tool: str
    args: dict[str, Any] | None = None


class TrajectoryMatchParams(Params):
    """trajectory-match: the calls against an expected trajectory (`value`, else the
    case's `expected.trajectory`), scored by precision and recall."""

    expected: list[ExpectedCall] | None = Field(default=None, alias="value")
    order: Literal["in-order", "any-order"] = "any-order"
    min_precision: float = Field(default=1.0, ge=0, le=1)
    min_recall: float = Field(default=1.0, ge=0, le=1)


def _matches(call: Step, want: ExpectedCall) -> bool:
    return call.tool_name == want.tool and (
        want.args is None or is_subset(want.args, call.arguments or {})
    )


def _matched(calls: list[Step], expected: list[ExpectedCall], ordered: bool) -> int:
    if ordered:  # longest common subsequence
        table = [[0] * (len(expected) + 1) for _ in range(len(calls) + 1)]
        for i, call in enumerate(calls):
            for j, want in enumerate(expected):
                table[i + 1][j + 1] = (
                    table[i][j] + 1
                    if _matches(call, want)
                    else max(table[i][j + 1], table[i + 1][j])
                )
        return table[-1][-1]
    used: set[int] = set()
    hit = 0
    for want in expected:
        for i, call in enumerate(calls):
            if i not in used and _matches(call, want):
                used.add(i)
                hit += 1
                break
    return hit


def trajectory_match(output: TargetOutput, case: Case, params: TrajectoryMatchParams) -> Verdict:
    """Precision (calls that were expected) and recall (expected calls made); score F1."""
    expected = params.expected
    if expected is None:
        raw = case.expected.get("trajectory") if isinstance(case.expected, dict) else None
        if not isinstance(raw, list):
            raise ValueError("give the expected calls as `value:` or expected.trajectory")
        expected = [ExpectedCall.model_validate(item) for item in raw]
    calls = tool_calls(output)
    hit = _matched(calls, expected, params.order == "in-order")
    precision = hit / len(calls) if calls else (1.0 if not expected else 0.0)
    recall = hit / len(expected) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ok = precision >= params.min_precision and recall >= params.min_recall
    reason = (
        f"precision {precision:.2f} ({hit}/{len(calls)} calls expected), recall {recall:.2f} "
        f"({hit}/{len(expected)} expected calls made); calls: {_names(calls)}"
    )
    return Score(f1, ok, reason, {"precision": precision, "recall": recall})


class RetentionParams(Params):
    """knowledge-retention: facts the user gave (`value`: one or a list) are used in the
    assistant's reply at `turn` (default: its last reply), case-insensitively."""

    facts: str | list[str] = Field(alias="value")
    turn: int | None = Field(default=None, ge=1)


def knowledge_retention(output: TargetOutput, case: Case, params: RetentionParams) -> Verdict:
    """A fact given earlier in the conversation is used later (not asked for again)."""
    replies = [s for s in output.steps or [] if s.role == "assistant" and s.content]
    if params.turn is not None:
        replies = [s for s in replies if s.turn == params.turn]
    if not replies:
        where = f"at turn {params.turn}" if params.turn else "at all"
        return Score(0.0, False, f"the assistant did not reply {where}")
    reply = (replies[-1].content or "").lower()
    facts = _one_or_many(params.facts)
    lost = [f for f in facts if f.lower() not in reply]
    turn = replies[-1].turn
    if lost:
        reason = f"the reply at turn {turn} does not use {', '.join(map(repr, lost))}"
        return Score(1 - len(lost) / len(facts), False, reason)
    return Score(1.0, True, f"the reply at turn {turn} uses {', '.join(map(repr, facts))}")


_GRADERS: list[tuple[list[str], Any, type[Params], str | None]] = [
    (["tool-called", "trajectory:tool-used"], tool_called, ToolCalledParams, "value"),
    (["tool-args", "trajectory:tool-args-match"], tool_args, ToolArgsParams, "value"),
    (["tool-sequence", "trajectory:tool-sequence"], tool_sequence, ToolSequenceParams, "value"),
    (["no-tool"], no_tool, NoToolParams, "value"),
    (["max-steps", "trajectory:step-count"], max_steps, MaxStepsParams, "value"),
    (["trajectory-match"], trajectory_match, TrajectoryMatchParams, "value"),
    (["knowledge-retention"], knowledge_retention, RetentionParams, "value"),
]
for _names_, _fn, _params, _value in _GRADERS:
    for _name in _names_:
        grader(_name, params=_params, value_field=_value)(_fn)
