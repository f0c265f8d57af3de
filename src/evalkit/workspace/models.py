"""Pydantic models of the files users write: suites (``suites/*.yaml``) and plans
(``evals/*.yaml``). Unknown keys are errors (``extra="forbid"``) except where a
model collects a plugin's own arguments (grader args, provider options), which the
plugin validates itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

Strict = ConfigDict(extra="forbid", strict=False, populate_by_name=True)

# Numbers written as YAML booleans (`timeout: true`) must not become 1: pydantic's
# lax mode would accept them, so numeric settings use strict types.
PositiveSeconds = StrictFloat | StrictInt


class GraderSpec(BaseModel):
    """A grader as written in YAML: `type` plus common settings; any other key is an
    argument of the grader itself (validated by the grader's params model)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    value: Any = None
    weight: StrictFloat | StrictInt = 1.0
    threshold: StrictFloat | StrictInt | None = None
    metric: str | None = None


class MessageSpec(BaseModel):
    """A chat message in a case or a prompt template."""

    model_config = Strict

    role: Literal["system", "user", "assistant"]
    content: str


class TurnSpec(BaseModel):
    """One user turn of a multi-turn case, with graders of the reply to it."""

    model_config = Strict

    content: str
    graders: list[GraderSpec] = Field(default_factory=list)


class SimulatedUserSpec(BaseModel):
    """A user played by the plan's `simulated_user` model, talking to the target."""

    model_config = Strict

    persona: str = ""
    goal: str = ""
    max_turns: Annotated[StrictInt, Field(ge=1, le=50)] = 5
    stop_when: str | GraderSpec | None = None  # a marker said, or a grader that passes
    first: str | None = None  # the opening message; None: the user model writes it


class ToolResultSpec(BaseModel):
    """A case's scripted tool answer: by tool name and, optionally, matching arguments."""

    model_config = Strict

    tool: str
    args: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    timeout: StrictBool = False


class CaseSpec(BaseModel):
    """One case as written in a suite (or a row of a `cases_from` file)."""

    model_config = Strict

    id: str | None = None
    description: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    messages: list[MessageSpec] | None = None
    expected: Any = None
    context: list[str] | str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    graders: list[GraderSpec] = Field(default_factory=list)
    cluster: str | None = None
    threshold: StrictFloat | StrictInt | None = None
    skip: StrictBool = False
    turns: list[str | TurnSpec] | None = None
    user: SimulatedUserSpec | None = None
    tool_results: list[ToolResultSpec] = Field(default_factory=list)
    max_steps: Annotated[StrictInt, Field(ge=1)] | None = None


class CasesFromSpec(BaseModel):
    """Cases loaded from a CSV or JSONL file beside the suite."""

    model_config = Strict

    path: str
    # CSV/JSONL columns that are not case fields become vars; these rename columns.
    map: dict[str, str] = Field(default_factory=dict)


class SuiteDefaults(BaseModel):
    """Applied to every case of the suite: graders are prepended, vars are merged under."""

    model_config = Strict

    graders: list[GraderSpec] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    threshold: StrictFloat | StrictInt | None = None


class SuiteSpec(BaseModel):
    """A suite file: a named, versioned set of cases."""

    model_config = Strict

    name: str
    description: str | None = None
    version: str | None = None
    tags: list[str] = Field(default_factory=list)
    defaults: SuiteDefaults = Field(default_factory=SuiteDefaults)
    cases: list[CaseSpec] = Field(default_factory=list)
    cases_from: list[str | CasesFromSpec] = Field(default_factory=list)


class PromptSpec(BaseModel):
    """One prompt variant of a model target: inline template, template file, or messages."""

    model_config = Strict

    id: str
    template: str | None = None  # Jinja2, rendered with case vars -> one user message
    file: str | None = None  # path to a Jinja2 template, relative to the plan file
    system: str | None = None  # Jinja2 system prompt
    messages: list[MessageSpec] | None = None  # each content is a Jinja2 template


class McpServerSpec(BaseModel):
    """An MCP server over stdio whose tools a target offers (needs the `mcp` extra)."""

    model_config = Strict

    command: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    tools: list[str] | None = None  # offer only these (default: every tool it lists)


class ToolDefSpec(BaseModel):
    """A tool a target offers its model; `function` is its workspace implementation."""

    model_config = Strict

    name: str | None = None
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    function: str | None = None  # "tools.py:lookup_ticket" or "package.module:func"
    mcp: McpServerSpec | None = None  # or every tool of an MCP server


class TargetSpec(BaseModel):
    """A target as written in a plan. Keys beyond the common ones are the provider's own
    options, validated by the provider's config model."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    provider: str
    description: str | None = None
    prompts: list[PromptSpec] = Field(default_factory=list)
    concurrency: StrictInt | None = None
    timeout: PositiveSeconds | None = None
    retries: StrictInt | None = None
    requires_env: list[str] = Field(default_factory=list)
    tools: list[ToolDefSpec] | None = None  # the tool loop (anthropic, openai)
    max_steps: Annotated[StrictInt, Field(ge=1)] | None = None  # model calls per turn (10)


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = Strict

    input: StrictFloat | StrictInt
    output: StrictFloat | StrictInt


Rate = Annotated[StrictFloat | StrictInt, Field(ge=0, le=1)]


class SuiteGateSpec(BaseModel):
    """A gate rule for one suite (overrides the plan-wide minimum for it)."""

    model_config = Strict

    min_pass_rate: Rate | None = None


class GateSpec(BaseModel):
    """When a run passes (`evalkit run`) and when a comparison does (`evalkit compare`)."""

    model_config = Strict

    min_pass_rate: Rate | None = None  # every suite x target
    # what must reach min_pass_rate: the point estimate, or the lower end of its interval
    # ("we are 95% sure the pass rate is at least this")
    min_pass_rate_of: Literal["estimate", "lower_bound"] = "estimate"
    suites: dict[str, SuiteGateSpec] = Field(default_factory=dict)  # per-suite minimums
    must_pass: list[str] = Field(default_factory=list)  # case ids (suite/case, globs)
    # regressed cases beyond what noise explains (McNemar's null, family-wise level)
    max_regressions: Annotated[StrictInt, Field(ge=0)] | None = None
    max_drop: Rate | None = None  # tolerance for a statistically significant drop
    drop_metrics: list[str] = Field(default_factory=lambda: ["pass"])
    confidence: Annotated[StrictFloat, Field(gt=0.5, lt=1)] = 0.95
    # Security suites (`evalkit security generate`): the highest attack success rate any
    # target may show, per OWASP category in `categories` (default: every category), and
    # the highest share of benign controls that may be flagged or refused.
    max_attack_success: Rate | None = None
    categories: list[str] = Field(default_factory=list)
    max_false_alarms: Rate | None = None


Kappa = Annotated[StrictFloat | StrictInt, Field(ge=-1, le=1)]


class CalibrationSpec(BaseModel):
    """How well the judge must agree with human labels (`evalkit calibrate`). Below the
    minimum a run warns; the gate is not changed."""

    model_config = Strict

    min_kappa: Kappa | None = None  # every model-graded metric
    # fewer labelled grades than this say "too few labels to check", not a false alarm
    min_labels: Annotated[StrictInt, Field(ge=1)] = 20
    graders: dict[str, Kappa] = Field(default_factory=dict)  # per-metric minimums


# Bounds on a plan's numbers: past them a value is a typo (an extra zero), and honouring
# it would queue billions of trials or open thousands of sockets before saying anything.
MAX_EPOCHS = 1000
MAX_CONCURRENCY = 1000
MAX_RETRIES = 20


class RaySpec(BaseModel):
    """Where and how `executor: ray` runs trials (see the README's "Scaling out")."""

    model_config = Strict

    address: str | None = None  # a cluster's address ("auto", "ray://head:10001"); None: local
    actors: Annotated[StrictInt, Field(ge=1)] | None = None  # long-lived actors; None: tasks
    num_cpus: Annotated[StrictFloat | StrictInt, Field(ge=0)] = 1  # per task or actor
    num_gpus: Annotated[StrictFloat | StrictInt, Field(ge=0)] = 0  # per task or actor
    batch_size: Annotated[StrictInt, Field(ge=1)] | None = None  # trials per task; None: auto


class PlanSpec(BaseModel):
    """An eval plan: which suites run against which targets, and how."""

    model_config = Strict

    name: str
    description: str | None = None
    suites: list[str]  # paths or globs relative to the workspace root
    targets: list[TargetSpec]
    epochs: StrictInt = 1  # bounds: workspace/plan.py, with the limit in the message
    concurrency: StrictInt = 8  # per target, unless the target sets its own
    timeout: PositiveSeconds = 120.0  # seconds per attempt, wall clock
    retries: StrictInt = 4
    cache: StrictBool = True
    # Count grades skipped (no judge key) out instead of failing the run with exit 3.
    allow_skipped: StrictBool = False
    # Stop the run (exit 3, resumable) before spent plus in-flight cost passes this (USD).
    max_cost: Annotated[StrictFloat | StrictInt, Field(gt=0)] | None = None
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    gate: GateSpec = Field(default_factory=GateSpec)
    # The model judge of model-graded graders: "provider:model" (or a Claude model name),
    # or a target's keys (provider, model, base_url, ...). Default: $EVALKIT_JUDGE, else
    # Claude. Checked when the run builds it (evalkit.graders.judge.setup).
    judge: str | dict[str, Any] | None = None
    # Who plays a case's `user:` (simulated users): configured like `judge:`.
    simulated_user: str | dict[str, Any] | None = None
    calibration: CalibrationSpec | None = None
    # Where trials run: how many worker processes (None: the cores, for a large run),
    # and `local` or `ray`. They change how fast a run goes, never what it measures,
    # so they are left out of the plan's config hash (shards may differ in them).
    workers: Annotated[StrictInt, Field(ge=1)] | None = None
    executor: Literal["local", "ray"] = "local"
    ray: RaySpec = Field(default_factory=RaySpec)
