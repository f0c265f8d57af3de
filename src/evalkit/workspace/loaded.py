"""Suites and plans after loading: validated, resolved, hashed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evalkit.records import Case
from evalkit.workspace.models import PlanSpec


@dataclass(slots=True)
class LoadedSuite:
    """A suite file with its cases resolved (defaults merged, ids and hashes set)."""

    name: str
    path: Path
    cases: list[Case]
    content_hash: str  # "sha256:..." over the suite's resolved cases
    description: str | None = None
    version: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LoadedPlan:
    """A plan with its suites loaded; targets are still specs (built by `targets`)."""

    name: str
    path: Path
    root: Path  # the workspace root
    spec: PlanSpec
    suites: list[LoadedSuite]
    config_hash: str  # "sha256:..." over the plan's canonical JSON (targets, settings)
