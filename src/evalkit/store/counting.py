"""What counts, written once for every query: which trials a pass rate and a mean score
are over, and what an errored trial scores. `evalkit.analysis.summary` turns the counts
into rates; README "Commands" states the rule in words.

- counted: a trial that passed, failed or errored. An error is a trial that did not
  pass (the system gave no answer, or a grader could not judge it).
- skipped: every grade was skipped (no judge key); left out of every rate, and shown.
- score: an errored trial scores 0; a counted trial with no weighted grade scores
  1 if it passed, else 0.
"""

from __future__ import annotations


def counted(alias: str = "") -> str:
    """SQL: whether a results row counts in pass rates and mean scores."""
    return f"{alias}status IN ('pass', 'fail', 'error')"


def trial_score(alias: str = "") -> str:
    """SQL: a results row's score as every mean uses it (errors score 0)."""
    a = alias
    return (
        f"CASE WHEN {a}status = 'error' THEN 0.0 "
        f"ELSE coalesce({a}score, ({a}status = 'pass')::DOUBLE) END"
    )


def grade_score(alias: str = "") -> str:
    """SQL: a grades row's score as a metric's mean uses it (an errored grade scores 0)."""
    return f"CASE WHEN {alias}status = 'error' THEN 0.0 ELSE {alias}score END"


def counted_grade(alias: str = "") -> str:
    """SQL: whether a grades row counts in its metric's pass rate and mean."""
    return f"{alias}status IN ('pass', 'fail', 'error')"
