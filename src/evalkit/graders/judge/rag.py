"""RAG judges: faithfulness, answer-relevance, context-relevance.

The passages are the case's `context`, else the `context` a target reported with its
output (a python target returning retrieved chunks).
"""

from __future__ import annotations

from typing import Any

from evalkit.graders.base import Invalid, Verdict, grader
from evalkit.graders.judge.common import (
    JudgeParams,
    Sample,
    as_text,
    context_of,
    judge_samples,
    question_of,
)
from evalkit.graders.judge.verdict import UnreadableVerdict
from evalkit.records import Case, TargetOutput

RELEVANCE_SCORE = {"yes": 1.0, "partly": 0.5, "no": 0.0}


def numbered(passages: list[str]) -> str:
    """Passages as one block, each headed by its 1-based number."""
    return "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))


def _no_context(case: Case) -> Invalid:
    return Invalid(
        f"case '{case.id}' has no context to judge against: give it `context:` or have the "
        "target return `context` with its output"
    )


@grader("faithfulness", params=JudgeParams, value_field=None)
async def faithfulness(output: TargetOutput, case: Case, params: JudgeParams) -> Verdict:
    """The share of the output's claims that the context supports."""
    passages = context_of(case, output)
    if not passages:
        return _no_context(case)

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        claims = verdict["claims"]
        supported = sum(1 for claim in claims if claim["supported"])
        score = supported / len(claims) if claims else 1.0  # no factual claim, nothing invented
        extra = {"claims": len(claims), "supported": supported}
        return Sample(score, None, verdict["reasoning"], verdict, extra)

    return await judge_samples(
        "faithfulness",
        params,
        {
            "output": output.text or as_text(output.data),
            "context": numbered(passages),
            "question": question_of(case, params),
        },
        {},
        read,
    )


@grader("answer-relevance", params=JudgeParams, value_field=None)
async def answer_relevance(output: TargetOutput, case: Case, params: JudgeParams) -> Verdict:
    """Does the output address the question that was asked (yes / partly / no)?"""

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        relevance = verdict["relevance"]
        return Sample(RELEVANCE_SCORE[relevance], None, verdict["reasoning"], verdict)

    return await judge_samples(
        "answer-relevance",
        params,
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {},
        read,
    )


@grader("context-relevance", params=JudgeParams, value_field=None)
async def context_relevance(output: TargetOutput, case: Case, params: JudgeParams) -> Verdict:
    """The share of the retrieved passages that are relevant to the question."""
    passages = context_of(case, output)
    if not passages:
        return _no_context(case)

    def read(verdict: dict[str, Any], _reply: TargetOutput) -> Sample:
        judged = {int(p["index"]): bool(p["relevant"]) for p in verdict["passages"]}
        if sorted(judged) != list(range(1, len(passages) + 1)):
            raise UnreadableVerdict(
                f"the judge rated passages {sorted(judged)}, not 1..{len(passages)}",
                str(verdict),
            )
        relevant = sum(judged.values())
        extra = {"passages": len(passages), "relevant": relevant}
        return Sample(relevant / len(passages), None, verdict["reasoning"], verdict, extra)

    return await judge_samples(
        "context-relevance",
        params,
        {"question": question_of(case, params), "context": numbered(passages)},
        {"passage_count": len(passages)},
        read,
    )
