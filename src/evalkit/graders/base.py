"""The Grader seam: a verdict on one output.

A grader is a function registered under a name with `@grader("name")`. It receives
the target's output, the case, and its own validated parameters, and returns a
`Verdict`: a bool, a score in [0, 1], or a `Score` with a reason. Everything common
to all graders (negation with `not-`, weight, threshold, metric name, turning an
exception into status `error`) is applied here, once, by `BoundGrader`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.errors import GraderError
from evalkit.graders.budget import GraderOverBudget, call_within_budget
from evalkit.records import Case, Grade, GraderConfig, Status, TargetOutput


@dataclass(slots=True)
class Score:
    """A graded verdict with its explanation."""

    score: float
    passed: bool | None = None  # None: decided by the threshold
    reason: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # A verdict that `not-` does not flip: promptfoo fails both `regex` and `not-regex`
    # on a pattern that does not compile, and both `contains-json` and its negation on a
    # schema that does not compile.
    final: bool = False


@dataclass(slots=True)
class Skip:
    """The grader could not judge this output for a reason outside it (e.g. no judge key)."""

    reason: str


@dataclass(slots=True)
class Invalid:
    """The grader could not reach a verdict (e.g. a judge reply that doesn't parse): status
    `error`, never a score, with what it saw kept in `metadata`."""

    reason: str
    metadata: dict[str, Any] = field(default_factory=dict)


Verdict = bool | float | int | Score | Skip | Invalid


class NoParams(BaseModel):
    """For graders that take no arguments."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)
GraderFn = Callable[[TargetOutput, Case, P], "Verdict | Awaitable[Verdict]"]


@dataclass(slots=True)
class GraderDef(Generic[P]):
    """A registered grader: its function, parameter model, and defaults."""

    name: str
    fn: GraderFn[P]
    params: type[P]
    description: str = ""
    default_threshold: float = 0.5  # a float verdict passes at or above this
    value_field: str | None = "value"  # which param receives the YAML `value:`
    source: str = "builtin"  # "builtin", "workspace:graders/x.py", "package:name"
    # For graders whose `threshold:` is not a cut on the [0, 1] score (levenshtein's is a
    # maximum edit distance, as in promptfoo): the param that receives it instead. The
    # grader then decides pass/fail itself and the user threshold is not applied twice.
    threshold_field: str | None = None
    # False for graders that keep promptfoo's pass/fail whatever `threshold:` says (promptfoo
    # ignores it on contains, equals, is-json, ...): the setting is accepted, not applied.
    uses_threshold: bool = True
    # True for a built-in that calls the user's function (`python`): like a workspace or
    # package grader, it runs within the time budget of `graders.budget`
    runs_user_code: bool = False

    @property
    def is_user_code(self) -> bool:
        """Whether this grader runs code evalkit does not ship (so it gets a time budget)."""
        return self.runs_user_code or self.source != "builtin"


_REGISTRY: dict[str, GraderDef[Any]] = {}


def grader(
    name: str,
    *,
    params: type[BaseModel] = NoParams,
    description: str = "",
    default_threshold: float = 0.5,
    value_field: str | None = "value",
    source: str = "builtin",
    threshold_field: str | None = None,
    uses_threshold: bool = True,
    runs_user_code: bool = False,
) -> Callable[[GraderFn[Any]], GraderFn[Any]]:
    """Register a grader function under `name`.

    >>> @grader("mentions-ticket")
    ... def mentions_ticket(output, case, params):
    ...     return "TICKET-" in (output.text or "")
    """

    def decorate(fn: GraderFn[Any]) -> GraderFn[Any]:
        if name.startswith("not-"):
            raise GraderError(f"grader name '{name}' may not start with 'not-' (that is negation)")
        _REGISTRY[name] = GraderDef(
            name=name,
            fn=fn,
            params=params,
            description=description or (inspect.getdoc(fn) or "").split("\n")[0],
            default_threshold=default_threshold,
            value_field=value_field,
            source=source,
            threshold_field=threshold_field,
            uses_threshold=uses_threshold,
            runs_user_code=runs_user_code,
        )
        return fn

    return decorate


def registry() -> dict[str, GraderDef[Any]]:
    """All registered graders by name."""
    return _REGISTRY


def unregister(name: str) -> None:
    """Remove a grader (tests, and reloading workspace graders under --watch)."""
    _REGISTRY.pop(name, None)


@dataclass(slots=True)
class BoundGrader:
    """A grader definition with one case's configuration applied."""

    definition: GraderDef[Any]
    config: GraderConfig
    params: BaseModel

    async def grade(self, case: Case, output: TargetOutput) -> Grade:
        """Run the grader; any exception becomes status `error`, never a pass or fail, and
        so does user code that runs past its time budget (`graders.budget`)."""
        fn = self.definition.fn
        try:
            if self.definition.is_user_code and not inspect.iscoroutinefunction(fn):
                verdict = await call_within_budget(fn, output, case, self.params)
            else:
                verdict = fn(output, case, self.params)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return self._to_grade(verdict)
        except GraderOverBudget as exc:
            return self._unscored(Status.ERROR, str(exc))
        except Exception as exc:  # a grader that breaks must say so, not pass or fail
            return self._unscored(Status.ERROR, f"grader raised {type(exc).__name__}: {exc}")

    def _unscored(
        self, status: Status, reason: str, metadata: dict[str, Any] | None = None
    ) -> Grade:
        """A grade with no score: the grader skipped, or could not reach a verdict."""
        cfg = self.config
        return Grade(
            grader=cfg.name,
            metric=cfg.metric_name,
            status=status,
            score=None,
            passed=None,
            reason=reason,
            weight=cfg.weight,
            threshold=self.score_threshold,
            metadata=metadata or {},
        )

    @property
    def score_threshold(self) -> float | None:
        """The user's cut on the [0, 1] score, unless the grader took `threshold:` as a param."""
        if self.definition.threshold_field or not self.definition.uses_threshold:
            return None
        return self.config.threshold

    def _to_grade(self, verdict: Verdict) -> Grade:
        cfg = self.config
        threshold = self.score_threshold
        if isinstance(verdict, Skip):
            return self._unscored(Status.SKIPPED, verdict.reason)
        if isinstance(verdict, Invalid):
            return self._unscored(Status.ERROR, verdict.reason, verdict.metadata)
        reason = ""
        metadata: dict[str, Any] = {}
        explicit: bool | None = None
        final = False
        if isinstance(verdict, Score):
            final = verdict.final
            score, explicit, reason, metadata = (
                verdict.score,
                verdict.passed,
                verdict.reason,
                verdict.metadata,
            )
        elif isinstance(verdict, bool):
            score, explicit = (1.0 if verdict else 0.0), verdict
        elif isinstance(verdict, int | float):
            score = float(verdict)
        else:
            raise TypeError(
                f"grader returned {type(verdict).__name__}; expected bool, float or Score"
            )
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise ValueError(f"grader returned score {score!r}, outside [0, 1]")
        if cfg.negate and not final:
            score = 1.0 - score
            explicit = None if explicit is None else not explicit
        cut = threshold if threshold is not None else self.definition.default_threshold
        # A user's threshold overrides the grader's own pass/fail decision.
        passed = explicit if (explicit is not None and threshold is None) else score >= cut
        return Grade(
            grader=cfg.name,
            metric=cfg.metric_name,
            status=Status.PASS if passed else Status.FAIL,
            score=score,
            passed=passed,
            reason=reason,
            weight=cfg.weight,
            threshold=threshold,
            metadata=metadata,
        )


def bind(config: GraderConfig) -> BoundGrader:
    """Look up and validate one configured grader; errors name its location in the suite."""
    definition = _REGISTRY.get(config.name)
    where = f"{config.location} " if config.location else ""
    if definition is None:
        from difflib import get_close_matches

        known = sorted(_REGISTRY)
        close = get_close_matches(config.name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise GraderError(
            f"{where}unknown grader '{config.name}'{hint}",
            hint=f"known graders: {', '.join(known)}",
        )
    raw = dict(config.args)
    # An explicit `value: null` arrives in args (see workspace.suite.grader_config).
    if "value" in raw and definition.value_field not in (None, "value"):
        raw[definition.value_field] = raw.pop("value")
    if config.value is not None:
        if definition.value_field is None:
            raise GraderError(f"{where}grader '{config.name}' takes no `value`")
        raw.setdefault(definition.value_field, config.value)
    if definition.threshold_field is not None and config.threshold is not None:
        raw.setdefault(definition.threshold_field, config.threshold)
    try:
        params = definition.params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors()
        )
        raise GraderError(f"{where}grader '{config.name}': {problems}") from None
    return BoundGrader(definition=definition, config=config, params=params)
