"""Graders: verdicts on outputs. See `base` for the seam.

Importing this package registers the built-in rule graders.
"""

from evalkit.graders import rules  # noqa: F401  (importing it registers the built-ins)
from evalkit.graders.aggregate import bind_case, grade_output
from evalkit.graders.base import Score, Skip, bind, grader
from evalkit.graders.discovery import load_all

__all__ = ["Score", "Skip", "bind", "bind_case", "grade_output", "grader", "load_all"]
