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
    suites: dict[str, SuiteGateSpec] = Field(default_factory=dict)  # per-suite minimums
    must_pass: list[str] = Field(default_factory=list)  # case ids (suite/case, globs)
    max_regressions: Annotated[StrictInt, Field(ge=0)] | None = None  # pass -> fail cases
    max_drop: Rate | None = None  # tolerance for a statistically significant drop
    drop_metrics: list[str] = Field(default_factory=lambda: ["pass"])
    confidence: Annotated[StrictFloat, Field(gt=0.5, lt=1)] = 0.95


Kappa = Annotated[StrictFloat | StrictInt, Field(ge=-1, le=1)]


class CalibrationSpec(BaseModel):
    """How well the judge must agree with human labels (`evalkit calibrate`). Below the
    minimum a run warns; the gate is not changed."""

    model_config = Strict

    min_kappa: Kappa | None = None  # every model-graded metric
    # fewer labelled grades than this say "too few labels to check", not a false alarm
    min_labels: Annotated[StrictInt, Field(ge=1)] = 20
    graders: dict[str, Kappa] = Field(default_factory=dict)  # per-metric minimums


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
    epochs: StrictInt = 1
    concurrency: StrictInt = 8  # per target, unless the target sets its own
    timeout: PositiveSeconds = 120.0  # seconds per attempt, wall clock
    retries: StrictInt = 4
    cache: StrictBool = True
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    gate: GateSpec = Field(default_factory=GateSpec)
    # The model judge of model-graded graders: "provider:model" (or a Claude model name),
    # or a target's keys (provider, model, base_url, ...). Default: $EVALKIT_JUDGE, else
    # Claude. Checked when the run builds it (evalkit.graders.judge.setup).
    judge: str | dict[str, Any] | None = None
    calibration: CalibrationSpec | None = None
    # Where trials run: how many worker processes (None: the cores, for a large run),
    # and `local` or `ray`. They change how fast a run goes, never what it measures,
    # so they are left out of the plan's config hash (shards may differ in them).
    workers: Annotated[StrictInt, Field(ge=1)] | None = None
    executor: Literal["local", "ray"] = "local"
    ray: RaySpec = Field(default_factory=RaySpec)
