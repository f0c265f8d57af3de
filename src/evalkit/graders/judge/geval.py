"""g-eval: criteria -> evaluation steps -> a score on a scale.

When the judge reports token log-probabilities (OpenAI-compatible servers), the score
is the probability-weighted mean over the scale's values at the score token, which
separates "a confident 4" from "a 3 or a 5"; otherwise it is the plain integer. The
grade's metadata says which (`scoring`).
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field

from evalkit.graders.base import Invalid, Skip, Verdict, grader
from evalkit.graders.judge.client import JudgeFailed, Ledger
from evalkit.graders.judge.common import (
    JudgeParams,
    Sample,
    as_text,
    judge_samples,
    prompt_for,
    question_of,
    ready_judge,
)
from evalkit.graders.judge.templates import load_template
from evalkit.graders.judge.verdict import UnreadableVerdict, parse_verdict
from evalkit.records import Case, TargetOutput

TOP_LOGPROBS = 10
_SCORE_VALUE = re.compile(r'"score"\s*:\s*(\d+)')


class GEvalParams(JudgeParams):
    """g-eval: `value:` is the criteria; steps are written by the judge unless given."""

    criteria: str
    steps: list[str] | None = None
    scale: int = Field(default=5, ge=2, le=10)  # scores 1..scale
    steps_template: str = "g-eval-steps"


@grader("g-eval", params=GEvalParams, value_field="criteria")
async def g_eval(output: TargetOutput, case: Case, params: GEvalParams) -> Verdict:
    """G-Eval: the judge scores the output on a 1..scale rubric it derives from criteria."""
    ledger = Ledger()
    steps = params.steps
    if steps is None:
        found = await _steps(params, ledger)
        if not isinstance(found, list):
            return found
        steps = found

    def read(verdict: dict[str, Any], reply: TargetOutput) -> Sample:
        plain = int(verdict["score"])
        weighted = weighted_score(reply, params.scale)
        value = weighted if weighted is not None else float(plain)
        extra = {
            "scoring": "probability-weighted" if weighted is not None else "plain",
            "raw_score": plain,
            "weighted_score": weighted,
            "scale": params.scale,
        }
        return Sample((value - 1) / (params.scale - 1), None, verdict["reasoning"], verdict, extra)

    return await judge_samples(
        "g-eval",
        params,
        {"output": output.text or as_text(output.data), "question": question_of(case, params)},
        {"criteria": params.criteria, "steps": steps, "scale": params.scale},
        read,
        top_logprobs=TOP_LOGPROBS,
        ledger=ledger,
    )


async def _steps(params: GEvalParams, ledger: Ledger) -> list[str] | Verdict:
    """The evaluation steps for these criteria: one judge call, shared by every case."""
    judge = ready_judge()
    if isinstance(judge, Skip):
        return judge
    template = load_template(params.steps_template)
    system, prompt = prompt_for(template, {}, {"criteria": params.criteria, "scale": params.scale})
    try:
        reply = await judge.ask(system, prompt, template.verdict, ledger)
        steps = parse_verdict(reply, template.verdict)["steps"]
    except JudgeFailed as exc:
        return Invalid(str(exc), {"judge": ledger.as_metadata(judge.name)})
    except UnreadableVerdict as exc:
        return Invalid(
            f"unreadable evaluation steps from the judge: {exc.problem}",
            {"raw_reply": exc.raw, "judge": ledger.as_metadata(judge.name)},
        )
    return [str(step) for step in steps]


def weighted_score(reply: TargetOutput, scale: int) -> float | None:
    """The probability-weighted score at the score token, or None without logprobs."""
    tokens = reply.metadata.get("logprobs") if reply.metadata else None
    text = reply.text or ""
    found = list(_SCORE_VALUE.finditer(text))
    if not tokens or not found:
        return None
    where = found[-1].start(1)
    offset = 0
    for token, _logprob, alternatives in tokens:
        if offset <= where < offset + len(token):
            return _expectation(alternatives, scale)
        offset += len(token)
    return None


def _expectation(alternatives: dict[str, float], scale: int) -> float | None:
    weights: dict[int, float] = {}
    for token, logprob in alternatives.items():
        stripped = token.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= scale:
            weights[int(stripped)] = weights.get(int(stripped), 0.0) + math.exp(logprob)
    total = sum(weights.values())
    if total <= 0:
        return None
    return sum(value * weight for value, weight in weights.items()) / total
