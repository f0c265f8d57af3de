"""The records that flow between stages: case -> request -> output -> grades -> result.

Plain slotted dataclasses, not pydantic models: user input is validated once in
``spec/``; after that these are created thousands of times a second by the engine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of a grade or of a whole result."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


# How a grade skipped because no judge could run begins its reason: such a grade leaves
# its trial unmeasured, and a run with one cannot pass (evalkit.analysis.outcome), while
# a skip by design (a pairwise reference not judged against itself) does not count.
NO_JUDGE = "no judge: "


class ErrorKind(enum.StrEnum):
    """Why a target call failed; decides whether the engine retries it."""

    TIMEOUT = "timeout"  # our wall-clock limit fired
    RATE_LIMIT = "rate_limit"  # 429
    SERVER = "server"  # 5xx, overloaded
    PROTOCOL = "protocol"  # 200 with a body that is not a valid answer (cut-off, empty JSON)
    CONNECTION = "connection"  # refused, reset, DNS
    CLIENT = "client"  # 400, 404, 422: the request itself is wrong
    AUTH = "auth"  # 401, 403
    CONFIG = "config"  # the prompt template could not render, missing env var
    EXCEPTION = "exception"  # the system under test raised (python / command targets)
    MISSING = "missing"  # replay: no recorded output for this case

    @property
    def retryable(self) -> bool:
        """Transient kinds are retried with backoff; the rest fail at once."""
        return self in (
            ErrorKind.RATE_LIMIT,
            ErrorKind.SERVER,
            ErrorKind.PROTOCOL,
            ErrorKind.CONNECTION,
        )


@dataclass(slots=True)
class Message:
    """One chat message as sent to a model."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(slots=True)
class ToolCall:
    """A model's request to run one tool."""

    id: str  # the provider's call id (tool_use id / tool_call id), echoed with the result
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """One step of a trajectory: a user or assistant message, or one tool execution.

    An assistant step that asked for tools is followed by one `tool` step per call, in
    the order the model asked; that is enough to rebuild either wire format.
    """

    role: str  # "user" | "assistant" | "tool"
    turn: int = 0  # 1-based conversation turn (0: messages before the first turn)
    content: str | None = None  # the message text; for a tool step, the result as text
    tool_name: str | None = None
    tool_call_id: str | None = None
    arguments: dict[str, Any] | None = None
    result: Any = None  # what the tool returned (JSON-able)
    error: str | None = None  # the tool failed (or timed out): what the model was told
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached: bool = False  # an assistant step served from the response cache


@dataclass(slots=True)
class ToolSpec:
    """A tool a target offers its model: name, description, JSON schema of arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(slots=True)
class ToolResultRule:
    """A case's scripted answer for a tool: by name and, optionally, matching arguments."""

    tool: str
    args: dict[str, Any] | None = None  # a JSON subset the call's arguments must contain
    result: Any = None
    error: str | None = None  # the tool fails with this message
    timeout: bool = False  # the tool never answers (the call times out)


@dataclass(slots=True)
class Turn:
    """One user turn of a multi-turn case, with the graders of the reply to it."""

    content: str
    graders: list[GraderConfig] = field(default_factory=list)


@dataclass(slots=True)
class SimulatedUser:
    """A user played by a model (or a python function) for `max_turns` at most."""

    persona: str = ""
    goal: str = ""
    max_turns: int = 5
    # a marker the user (or the assistant) says when it is done, or a grader of the
    # assistant's reply that passes when the goal is reached
    stop_when: str | GraderConfig | None = None
    first: str | None = None  # the user's opening message; None: the user model writes it


@dataclass(slots=True)
class GraderConfig:
    """One grader as configured on a case (suite defaults already merged in).

    ``name`` is the registered grader name without the ``not-`` prefix; settings
    common to every grader live here, the grader's own arguments in ``args``.
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    value: Any = None  # promptfoo-style primary argument (`value:`)
    negate: bool = False
    weight: float = 1.0
    threshold: float | None = None
    metric: str | None = None  # defaults to the grader name (with `not-` when negated)
    location: str = ""  # "file:line:col" of the grader in the suite, for error messages

    @property
    def metric_name(self) -> str:
        """The name this grade is reported under."""
        if self.metric:
            return self.metric
        return f"not-{self.name}" if self.negate else self.name

    def as_json(self, *, location: bool = True) -> dict[str, Any]:
        """The grader as a JSON-ready dict; without `location` it is what the grader checks
        (where it is written changes no result). Written out rather than
        dataclasses.asdict: its deep copies dominated suite load time."""
        found = {
            "name": self.name,
            "args": self.args,
            "value": self.value,
            "negate": self.negate,
            "weight": self.weight,
            "threshold": self.threshold,
            "metric": self.metric,
        }
        if location:
            found["location"] = self.location
        return found


@dataclass(slots=True)
class Case:
    """One domain example, resolved: suite defaults merged, content hashed."""

    suite: str  # suite name
    id: str  # stable case id, unique within its suite
    vars: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] | None = None  # a chat transcript instead of / besides vars
    expected: Any = None
    context: list[str] = field(default_factory=list)  # retrieved passages
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    graders: list[GraderConfig] = field(default_factory=list)
    cluster: str | None = None
    threshold: float | None = None  # pass when the weighted score reaches this
    turns: list[Turn] | None = None  # a multi-turn conversation, user messages in order
    user: SimulatedUser | None = None  # or a simulated user who talks to the target
    tool_results: list[ToolResultRule] = field(default_factory=list)
    max_steps: int | None = None  # overrides the target's bound on model calls
    content_hash: str = ""  # "sha256:..." over everything above that affects grading
    location: str = ""  # "file:line:col" where the case is defined


@dataclass(slots=True)
class Usage:
    """Token counts reported by a model provider."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(slots=True)
class TargetRequest:
    """Everything a target needs to answer one trial, already rendered."""

    case: Case
    epoch: int
    prompt_id: str | None = None  # the prompt variant, when the target has several
    messages: list[Message] | None = None  # rendered chat for model targets
    prompt: str | None = None  # rendered single text (command stdin, http body var)
    system: str | None = None
    # Asked by model judges: a JSON schema the answer must follow (tool use / json_schema
    # where the provider has it), and how many alternatives per token to report logprobs for.
    response_schema: dict[str, Any] | None = None
    top_logprobs: int | None = None
    # A conversation or tool loop: the trajectory so far (providers send it natively,
    # `messages` then holds its text-only view) and the tools the model may call.
    steps: list[Step] | None = None
    tools: list[ToolSpec] | None = None


@dataclass(slots=True)
class TargetFailure:
    """Why a target produced no output."""

    kind: ErrorKind
    message: str
    status_code: int | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header


@dataclass(slots=True)
class TargetOutput:
    """What a target produced for one trial (or why it could not)."""

    text: str | None = None
    data: Any = None  # structured output: a dict from a python target, parsed JSON, ...
    usage: Usage | None = None
    latency_ms: float = 0.0
    cost_usd: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # model, stop reason, context...
    error: TargetFailure | None = None
    cached: bool = False
    attempts: int = 1
    tool_calls: list[ToolCall] = field(default_factory=list)  # the model asked for tools
    steps: list[Step] | None = None  # the trajectory of a conversation or an agent


@dataclass(slots=True)
class Grade:
    """One grader's verdict on one output."""

    grader: str  # registered name, e.g. "contains"
    metric: str  # reported name, e.g. "not-contains" or the user's `metric:`
    status: Status
    score: float | None  # in [0, 1]; None when error / skipped
    passed: bool | None
    reason: str = ""
    weight: float = 1.0
    threshold: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TrialResult:
    """A finished trial: the output and its grades, ready for the store."""

    run_id: str
    trial_id: str  # "suite/case@target[prompt]#epoch"
    case: Case
    target_id: str
    prompt_id: str | None
    epoch: int
    output: TargetOutput
    grades: list[Grade]
    status: Status
    score: float | None
    request_hash: str | None = None  # the cache key, "sha256:..."
    started_at: float = 0.0  # unix seconds
    finished_at: float = 0.0  # unix seconds


@dataclass(frozen=True, slots=True)
class Trial:
    """One case x target (x prompt variant) x epoch."""

    trial_id: str
    case: Case
    target_id: str
    prompt_id: str | None
    epoch: int


@dataclass(frozen=True, slots=True)
class TrialRow:
    """One trial as the comparison needs it (read from the store)."""

    suite: str
    case_id: str
    case_hash: str
    target_id: str
    prompt_id: str | None
    epoch: int
    status: str  # pass | fail | error | skipped
    score: float | None
    cluster: str | None = None
    grades: dict[str, tuple[float | None, bool | None]] = field(default_factory=dict)


def conversation_json(case: Case) -> dict[str, Any]:
    """The conversation and tool parts of a case, JSON-ready; empty for a one-shot case
    (so its hash is the one it had before conversations existed)."""
    found: dict[str, Any] = {}
    if case.turns is not None:
        found["turns"] = [
            {"content": t.content, "graders": [g.as_json(location=False) for g in t.graders]}
            for t in case.turns
        ]
    if case.user is not None:
        user = case.user
        stop = user.stop_when
        found["user"] = {
            "persona": user.persona,
            "goal": user.goal,
            "max_turns": user.max_turns,
            "first": user.first,
            "stop_when": stop.as_json(location=False) if isinstance(stop, GraderConfig) else stop,
        }
    if case.tool_results:
        found["tool_results"] = [
            {
                "tool": r.tool,
                "args": r.args,
                "result": r.result,
                "error": r.error,
                "timeout": r.timeout,
            }
            for r in case.tool_results
        ]
    if case.max_steps is not None:
        found["max_steps"] = case.max_steps
    return found
