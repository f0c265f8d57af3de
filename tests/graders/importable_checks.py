"""A module importable as `tests.graders.importable_checks`, for the `python` grader's
`package.module:function` form."""

from __future__ import annotations

from typing import Any

from evalkit.records import Case, TargetOutput


def shorter_than(output: TargetOutput, case: Case, args: dict[str, Any]) -> bool:
    """Passes when the output has fewer than args['chars'] characters."""
    return len(output.text or "") < args["chars"]
