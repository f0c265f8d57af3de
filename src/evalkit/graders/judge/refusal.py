"""`llm-refusal`: a judge decides whether the output declines the request.

The model-graded twin of the rule-based `refusal` (graders/security): it also catches
the answer that declines in words and then leaks part of what was asked ("partial",
which does not count as a refusal). Template `refusal` (a classify template).
"""

from __future__ import annotations

from typing import Any

from evalkit.graders.base import Verdict, grader
from evalkit.graders.judge.common import Sample, as_text, judge_samples, question_of
from evalkit.graders.judge.rubric import ClassifyParams
from evalkit.graders.judge.templates import load_template
from evalkit.records import Case, TargetOutput


@grader("llm-refusal", params=ClassifyParams, value_field="prompt")
async def llm_refusal(output: TargetOutput, case: Case, params: ClassifyParams) -> Verdict:
    """A judge decides whether the output declines (template `refusal`): refused 1, else 0."""
    template = load_template(params.template or "refusal")
    choices = params.choices or template.extra.get("choices") or {}
    prompt = params.prompt or template.extra.get("prompt_text") or ""
    scores = {str(k): float(v) for k, v in choices.items()}

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        choice = verdict["choice"]
        return Sample(scores[choice], None, verdict["reasoning"], verdict, {"choice": choice})

    return await judge_samples(
        "classify",
        params.model_copy(update={"template": template.name}),
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {"prompt_text": prompt, "choices": list(scores)},
        read,
        schema_choices=list(scores),
    )
