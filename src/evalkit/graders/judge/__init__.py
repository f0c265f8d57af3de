"""Model-graded graders: a judge model reads the output and returns a structured verdict.

Importing this package registers llm-rubric, factuality, closed-qa, classify, g-eval,
pairwise, faithfulness, answer-relevance, context-relevance, llm-refusal, goal-success,
conversation-rubric and role-adherence. The judge itself is built per run by
`setup.build_judge` and reached through `client.current_judge()`.
"""

from evalkit.graders.judge import (  # noqa: F401  (registers)
    conversation,
    geval,
    pairwise,
    rag,
    refusal,
    rubric,
)
from evalkit.graders.judge.client import JudgeClient, Ledger, current_judge
from evalkit.graders.judge.setup import build_judge, judge_spec, judging

JUDGE_GRADERS = (
    "llm-rubric",
    "factuality",
    "closed-qa",
    "classify",
    "g-eval",
    "pairwise",
    "faithfulness",
    "answer-relevance",
    "context-relevance",
    "llm-refusal",
    "goal-success",
    "conversation-rubric",
    "role-adherence",
)

__all__ = [
    "JUDGE_GRADERS",
    "JudgeClient",
    "Ledger",
    "build_judge",
    "current_judge",
    "judge_spec",
    "judging",
]
