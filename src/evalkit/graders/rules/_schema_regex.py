"""JSON Schema's own regex searches under the regex time budget.

jsonschema checks `pattern`, `patternProperties`, and the property names that
`additionalProperties` and `unevaluatedProperties` must tell apart, with `re.search` in
this process: a backtracking pattern in a user's schema, met by an output or a judge's
verdict, held the GIL for minutes, past every budget and every Ctrl-C. Those modules'
`re` becomes one whose `search` is `safe_regex`'s: RE2 or the budgeted worker, and
`RegexTimeout` (a grade of status `error`) past the budget.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from evalkit.graders.rules.safe_regex import Found, compile_pattern

# Where jsonschema (4.x) searches with a schema's patterns; tests/reliability/
# test_budgets.py fails if a release moves them.
_SEARCHING_MODULES = ("jsonschema._keywords", "jsonschema._legacy_keywords", "jsonschema._utils")


class _BudgetedRe(ModuleType):
    """`re`, but `search` runs within the regex budget."""

    def __init__(self) -> None:
        super().__init__("re")

    def search(self, pattern: str, string: str, flags: int = 0) -> Found | None:
        return compile_pattern(pattern, flags).search(string)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


_BUDGETED = _BudgetedRe()


def budget_schema_regexes() -> None:
    """Make jsonschema's pattern searches budgeted (once; later calls do nothing)."""
    import importlib

    for name in _SEARCHING_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "re", None) is not _BUDGETED:
            module.re = _BUDGETED  # type: ignore[attr-defined]
