"""Workspace graders: any `graders/*.py` file is loaded by evalkit automatically."""

from evalkit import Case, Score, TargetOutput, grader
from pydantic import BaseModel


class NoShoutingParams(BaseModel):
    max_ratio: float = 0.3


@grader("no-shouting", params=NoShoutingParams)
def no_shouting(output: TargetOutput, case: Case, params: NoShoutingParams) -> Score:
    """Fails when too much of the answer is in capital letters."""
    letters = [c for c in output.text or "" if c.isalpha()]
    ratio = sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
    return Score(
        score=1.0 if ratio <= params.max_ratio else 0.0,
        reason=f"{ratio:.0%} of letters are capitals (max {params.max_ratio:.0%})",
    )
