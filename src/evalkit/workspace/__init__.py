"""YAML -> validated models, with file:line:col on every error.

Load plans with `load_plans` (what `evalkit run` does) or check a whole workspace with
`validate_workspace` (what `evalkit validate` does). Fill the grader registry first
(`graders.discovery.load_all`): suites are checked against it. Plans are checked against
the registered providers; the built-in ones register on import.

The names below load on first use: loading suites and plans needs the graders and the
targets, which themselves import `workspace.models`; an eager import here would make
`import evalkit.targets` (or `evalkit.graders`) fail when it is the first thing imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalkit.workspace.discover import find_plans, load_plans, validate_workspace
    from evalkit.workspace.loaded import LoadedPlan, LoadedSuite
    from evalkit.workspace.plan import load_plan
    from evalkit.workspace.suite import load_suite
    from evalkit.workspace.yamlfile import YamlDocument, load_yaml, parse_yaml

_HOMES = {
    "find_plans": "discover",
    "load_plans": "discover",
    "validate_workspace": "discover",
    "LoadedPlan": "loaded",
    "LoadedSuite": "loaded",
    "load_plan": "plan",
    "load_suite": "suite",
    "YamlDocument": "yamlfile",
    "load_yaml": "yamlfile",
    "parse_yaml": "yamlfile",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'evalkit.workspace' has no attribute {name!r}")
    return getattr(importlib.import_module(f"evalkit.workspace.{home}"), name)
