"""Judges that read one output: llm-rubric, closed-qa, classify, factuality."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from evalkit.graders.base import Invalid, Verdict, grader
from evalkit.graders.judge.common import (
    JudgeParams,
    Sample,
    as_text,
    judge_samples,
    question_of,
)
from evalkit.graders.judge.templates import load_template
from evalkit.records import Case, TargetOutput


class RubricParams(JudgeParams):
    """llm-rubric: `value:` is the rubric the output must meet."""

    rubric: str


@grader("llm-rubric", params=RubricParams, value_field="rubric")
async def llm_rubric(output: TargetOutput, case: Case, params: RubricParams) -> Verdict:
    """A model judge grades the output against a free-form rubric (pass/fail and a score)."""

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        return Sample(float(verdict["score"]), bool(verdict["pass"]), verdict["reasoning"], verdict)

    return await judge_samples(
        "llm-rubric",
        params,
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {"rubric": params.rubric},
        read,
    )


class ClosedQAParams(JudgeParams):
    """closed-qa: `value:` states the criteria the answer must meet."""

    criteria: str


@grader("closed-qa", params=ClosedQAParams, value_field="criteria")
async def closed_qa(output: TargetOutput, case: Case, params: ClosedQAParams) -> Verdict:
    """Does the output answer the question and meet the criteria? (yes/no)."""

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        yes = verdict["answer"] == "Y"
        return Sample(1.0 if yes else 0.0, yes, verdict["reasoning"], verdict)

    return await judge_samples(
        "closed-qa",
        params,
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {"criteria": params.criteria},
        read,
    )


class ClassifyParams(JudgeParams):
    """classify: a question for the judge, the choices it picks from and their scores."""

    prompt: str | None = None  # default: the template's own `prompt_text`
    choices: dict[str, float] | None = None  # default: the template's `choices`

    @model_validator(mode="after")
    def _scores_in_range(self) -> ClassifyParams:
        for choice, score in (self.choices or {}).items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"choice '{choice}' scores {score}; scores are in [0, 1]")
        return self


@grader("classify", params=ClassifyParams, value_field="prompt")
async def classify(output: TargetOutput, case: Case, params: ClassifyParams) -> Verdict:
    """The judge picks one of your choices (reasoning first); each choice maps to a score."""
    return await judge_choice(output, case, params, default_template="classify")


async def judge_choice(
    output: TargetOutput, case: Case, params: ClassifyParams, default_template: str
) -> Verdict:
    """What `classify` does, with `default_template` when the suite names none (graders
    that are a classify template under a name of their own, like `llm-refusal`, use it)."""
    template = load_template(params.template or default_template)
    choices = params.choices or template.extra.get("choices")
    prompt = params.prompt or template.extra.get("prompt_text")
    if not choices or not prompt:
        return Invalid(
            f"classify needs `prompt` and `choices` (in the suite or in template "
            f"'{template.name}' at {template.source})"
        )
    scores = {str(k): float(v) for k, v in choices.items()}

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        choice = verdict["choice"]  # one of `scores`: the schema's enum is set to them
        return Sample(scores[choice], None, verdict["reasoning"], verdict, {"choice": choice})

    return await judge_samples(
        "classify",
        params.model_copy(update={"template": template.name}),
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {"prompt_text": prompt, "choices": list(scores)},
        read,
        schema_choices=list(scores),
    )


FACTUALITY_SCORES = {
    "subset": 0.6,  # consistent, but leaves out some of the expected facts
    "superset": 1.0,  # consistent, and adds more
    "same": 1.0,
    "contradiction": 0.0,
    "differs-but-immaterial": 1.0,  # differences that don't matter to the facts
}


class FactualityParams(JudgeParams):
    """factuality: the expected answer is `value:` or the case's `expected`."""

    expected: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)  # overrides FACTUALITY_SCORES

    @model_validator(mode="after")
    def _known_categories(self) -> FactualityParams:
        unknown = sorted(set(self.scores) - set(FACTUALITY_SCORES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {', '.join(FACTUALITY_SCORES)}")
        return self

    def check_case(self, case: Case) -> str | None:
        """Refused at bind time: nothing to compare with."""
        if self.expected is None and case.expected is None:
            return "needs an expected answer: give the case `expected:` or the grader `value:`"
        return None


@grader("factuality", params=FactualityParams, value_field="expected")
async def factuality(output: TargetOutput, case: Case, params: FactualityParams) -> Verdict:
    """The output's facts against the expected answer: subset, superset, same,
    contradiction or differs-but-immaterial, each with a configurable score."""
    scores = {**FACTUALITY_SCORES, **params.scores}
    expected = params.expected if params.expected is not None else as_text(case.expected)

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        category = verdict["category"]
        return Sample(scores[category], None, verdict["reasoning"], verdict, {"category": category})

    return await judge_samples(
        "factuality",
        params,
        {
            "output": output.text or as_text(output.data),
            "question": question_of(case, params),
            "reference": expected,
        },
        {},
        read,
    )
