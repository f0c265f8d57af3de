"""What every model-graded grader shares: params, the case's texts, asking the judge
K times and reducing the samples to one verdict with its flakiness."""

from __future__ import annotations

import copy
import json
import statistics
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.graders.base import Invalid, Score, Skip, Verdict
from evalkit.graders.judge.client import JudgeClient, JudgeFailed, Ledger, current_judge
from evalkit.graders.judge.templates import JudgeTemplate, load_template
from evalkit.graders.judge.untrusted import data_notice, fence_all
from evalkit.graders.judge.verdict import UnreadableVerdict, parse_verdict
from evalkit.records import Case, TargetOutput

QUESTION_VARS = ("question", "query", "input", "prompt", "user_input")


class JudgeParams(BaseModel):
    """Settings every model-graded grader takes."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = None  # another template (workspace graders/templates/<name>.yaml)
    samples: int = Field(default=1, ge=1, le=25)  # self-consistency: K judge samples
    reduce: Literal["majority", "mean"] = "majority"
    question: str | None = None  # what was asked; default: the case's question-like var


@dataclass(slots=True)
class Sample:
    """One judge sample, read: its score, pass/fail and reasoning."""

    score: float
    passed: bool | None
    reasoning: str
    verdict: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


Reader = Callable[[dict[str, Any], TargetOutput], Sample]


def question_of(case: Case, params: JudgeParams) -> str:
    """The question the output answers, for the judge's eyes."""
    if params.question is not None:
        return params.question
    for name in QUESTION_VARS:
        if name in case.vars and case.vars[name] not in (None, ""):
            return str(case.vars[name])
    if case.messages:
        users = [m.content for m in case.messages if m.role == "user"]
        if users:
            return users[-1]
    return json.dumps(case.vars, ensure_ascii=False, default=str) if case.vars else ""


def context_of(case: Case, output: TargetOutput) -> list[str]:
    """Retrieved passages: the case's `context`, else what the target reported."""
    if case.context:
        return list(case.context)
    reported = output.metadata.get("context") if output.metadata else None
    if isinstance(reported, list):
        return [str(p) for p in reported]
    if isinstance(reported, str) and reported:
        return [reported]
    return []


def as_text(value: Any) -> str:
    """A value for a prompt block: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def ready_judge() -> JudgeClient | Skip:
    """The current judge, or a Skip saying why there is none."""
    judge = current_judge()
    if judge is None:
        return Skip("no judge: model-graded graders run inside `evalkit run`")
    reason = judge.skip_reason()
    return Skip(reason) if reason is not None else judge


def prompt_for(
    template: JudgeTemplate, blocks: Mapping[str, str], variables: Mapping[str, Any]
) -> tuple[str, str]:
    """System and user prompt: untrusted blocks fenced, the data notice always appended."""
    fenced, token = fence_all(blocks, salt=template.text)
    system, prompt = template.render({**variables, **fenced, "boundary": token})
    return f"{system}\n\n{data_notice(token)}".strip(), prompt


async def judge_samples(
    template_name: str,
    params: JudgeParams,
    blocks: Mapping[str, str],
    variables: Mapping[str, Any],
    read: Reader,
    *,
    top_logprobs: int | None = None,
    ledger: Ledger | None = None,
    schema_choices: list[str] | None = None,
) -> Verdict:
    """Ask the judge `params.samples` times and reduce the samples to one verdict.

    `schema_choices` narrows the verdict's `choice` to those strings (classify)."""
    judge = ready_judge()
    if isinstance(judge, Skip):
        return judge
    template = load_template(params.template or template_name)
    system, prompt = prompt_for(template, blocks, {**template.extra, **variables})
    schema = template.verdict
    if schema_choices is not None:
        schema = copy.deepcopy(schema)
        schema.setdefault("properties", {}).setdefault("choice", {})["enum"] = schema_choices
    ledger = ledger or Ledger()
    samples: list[Sample] = []
    for index in range(params.samples):
        try:
            reply = await judge.ask(
                system, prompt, schema, ledger, sample=index, top_logprobs=top_logprobs
            )
        except JudgeFailed as exc:
            return Invalid(str(exc), {"judge": ledger.as_metadata(judge.name)})
        try:
            verdict = parse_verdict(reply, schema)
            samples.append(read(verdict, reply))
        except UnreadableVerdict as exc:
            return Invalid(
                f"unreadable judge verdict: {exc.problem}",
                {"raw_reply": exc.raw, "judge": ledger.as_metadata(judge.name)},
            )
    return reduce_samples(samples, params.reduce, ledger.as_metadata(judge.name))


def reduce_samples(samples: list[Sample], how: str, judge_meta: dict[str, Any]) -> Score:
    """One Score from K samples; their disagreement (0 to 1) becomes the flakiness."""
    first = samples[0]
    metadata: dict[str, Any] = {"judge": judge_meta, "verdict": first.verdict, **first.extra}
    if len(samples) == 1:
        return Score(
            first.score, first.passed, first.reasoning, {**metadata, "reasoning": first.reasoning}
        )
    scores = [s.score for s in samples]
    if how == "mean":
        score = statistics.fmean(scores)
        # 0.5 is the largest standard deviation of values in [0, 1]: scale it to 1
        flakiness = min(1.0, 2 * statistics.pstdev(scores))
        chosen = min(samples, key=lambda s: abs(s.score - score))
        passed = None
    else:
        votes = Counter(_vote(s) for s in samples)
        winner, count = votes.most_common(1)[0]
        chosen = next(s for s in samples if _vote(s) == winner)
        score, passed = chosen.score, chosen.passed
        # share of samples outside the majority, scaled so an even split is 1
        flakiness = (
            (1 - count / len(samples)) * len(votes) / (len(votes) - 1) if len(votes) > 1 else 0.0
        )
    metadata.update(
        verdict=chosen.verdict,
        reasoning=chosen.reasoning,
        flakiness=round(min(1.0, flakiness), 6),
        samples=[{"score": s.score, "passed": s.passed} for s in samples],
        reduce=how,
    )
    return Score(score, passed, chosen.reasoning, metadata)


def _vote(sample: Sample) -> Any:
    return sample.passed if sample.passed is not None else round(sample.score, 6)
