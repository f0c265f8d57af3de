"""YAML -> validated models, with file:line:col on every error.

Load plans with `load_plans` (what `evalkit run` does) or check a whole workspace with
`validate_workspace` (what `evalkit validate` does). Fill the grader registry first
(`graders.discovery.load_all`): suites are checked against it. Plans are checked against
the registered providers; the built-in ones register on import.
"""

from evalkit.workspace.discover import find_plans, load_plans, validate_workspace
from evalkit.workspace.loaded import LoadedPlan, LoadedSuite
from evalkit.workspace.plan import load_plan
from evalkit.workspace.suite import load_suite
from evalkit.workspace.yamlfile import YamlDocument, load_yaml, parse_yaml

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
