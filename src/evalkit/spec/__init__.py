"""YAML -> validated models, with file:line:col on every error.

Load plans with `load_plans` (what `evalkit run` does) or check a whole workspace with
`validate_workspace` (what `evalkit validate` does). Register graders and providers
first: suites are checked against the grader registry, plans against the providers.
"""

from evalkit.spec.discover import find_plans, load_plans, validate_workspace
from evalkit.spec.loaded import LoadedPlan, LoadedSuite
from evalkit.spec.plan import load_plan
from evalkit.spec.suite import load_suite
from evalkit.spec.yamlfile import YamlDocument, load_yaml, parse_yaml

__all__ = [
    "LoadedPlan",
    "LoadedSuite",
    "YamlDocument",
    "find_plans",
    "load_plan",
    "load_plans",
    "load_suite",
    "load_yaml",
    "parse_yaml",
    "validate_workspace",
]
