"""Plan files (`evals/*.yaml`) -> `LoadedPlan`: settings checked, suites found and loaded.

A plan's problems and those of every suite it names are collected and raised together
as one SpecError. Provider options are checked by the provider's own `Options` model;
the built-in providers register when `evalkit.targets` is imported, which this does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalkit.errors import SpecError, WorkspaceError
from evalkit.targets.base import providers
from evalkit.workspace.identity import id_problem, sha256_of
from evalkit.workspace.loaded import LoadedPlan, LoadedSuite
from evalkit.workspace.models import (
    MAX_CONCURRENCY,
    MAX_EPOCHS,
    MAX_RETRIES,
    PlanSpec,
    TargetSpec,
)
from evalkit.workspace.root import inside
from evalkit.workspace.suite import load_suite, validate_document
from evalkit.workspace.validation import Problem, did_you_mean, field_path, validation_problems
from evalkit.workspace.yamlfile import YamlDocument, YamlPath, load_yaml, source_label

SUITE_SUFFIXES = (".yaml", ".yml")
_GLOB_CHARS = frozenset("*?[")


def load_plan(path: Path, root: Path) -> LoadedPlan:
    """Load one plan and the suites it names; raises SpecError listing every problem."""
    doc = load_yaml(path, source_label(path, root))
    spec: PlanSpec = validate_document(
        doc, PlanSpec, "a plan: a mapping with `name:`, `suites:` and `targets:`"
    )
    checker = _PlanChecker(spec, doc, path, root)
    checker.check()
    suites = checker.load_suites()
    # The plan's own problems read top to bottom, then those of its suites.
    problems = sorted(checker.problems, key=lambda p: (p[0].line or 0, p[0].column or 0))
    problems += checker.suite_problems
    if problems:
        raise SpecError(problems)
    return LoadedPlan(
        name=spec.name,
        path=path,
        root=root,
        spec=spec,
        suites=suites,
        config_hash=config_hash(spec),
    )


# How a run is executed, not what it measures: outside the hash, so a plan's hash is
# the same whatever these say (and as it was before they existed).
EXECUTION_SETTINGS = {"workers", "executor", "ray"}


def config_hash(spec: PlanSpec) -> str:
    """`sha256:` over the plan's canonical JSON (targets, settings, suites as written)."""
    return sha256_of(spec.model_dump(mode="json", exclude=EXECUTION_SETTINGS))


def suite_files(root: Path, pattern: str) -> list[Path]:
    """The files a `suites:` entry names: one path, or a glob's sorted YAML matches.

    Raises WorkspaceError for absolute paths and anything outside the workspace.
    """
    if Path(pattern).is_absolute():
        raise WorkspaceError(f"suite path '{pattern}' is absolute; write it relative to {root}")
    if not _GLOB_CHARS & set(pattern):
        return [inside(root, pattern, what="suite path")]
    matches = sorted(p for p in root.glob(pattern) if p.suffix in SUITE_SUFFIXES and p.is_file())
    return [inside(root, p.relative_to(root), what="suite path") for p in matches]


class _PlanChecker:
    """Checks a validated plan beyond its types, recording problems at their lines."""

    def __init__(self, spec: PlanSpec, doc: YamlDocument, path: Path, root: Path) -> None:
        self.spec = spec
        self.doc = doc
        self.path = path
        self.root = root
        self.problems: list[Problem] = []  # in the plan file
        self.suite_problems: list[Problem] = []  # in the suites it names

    def problem(self, path: YamlPath, message: str, *, value: bool = False) -> None:
        self.problems.append((self.doc.location(path, value=value), field_path(path), message))

    def check(self) -> None:
        spec = self.spec
        if problem := id_problem("plan name", spec.name):
            self.problem(("name",), problem)
        self.check_settings((), spec.epochs, spec.concurrency, spec.timeout, spec.retries)
        if not spec.suites:
            self.problem(("suites",), "a plan needs at least one suite")
        if not spec.targets:
            self.problem(("targets",), "a plan needs at least one target")
        seen: dict[str, int] = {}
        for i, target in enumerate(spec.targets):
            path = ("targets", i)
            if target.id in seen:
                first = self.doc.location(("targets", seen[target.id], "id"))
                self.problem((*path, "id"), f"duplicate target id '{target.id}' (first at {first})")
            seen.setdefault(target.id, i)
            self.check_target(target, path)

    def check_settings(
        self,
        path: YamlPath,
        epochs: int | None,
        concurrency: int | None,
        timeout: float | None,
        retries: int | None,
    ) -> None:
        if epochs is not None and epochs < 1:
            self.problem((*path, "epochs"), f"epochs must be at least 1, got {epochs}")
        if epochs is not None and epochs > MAX_EPOCHS:
            self.problem((*path, "epochs"), f"epochs must be at most {MAX_EPOCHS}, got {epochs}")
        if concurrency is not None and concurrency < 1:
            self.problem(
                (*path, "concurrency"), f"concurrency must be at least 1, got {concurrency}"
            )
        if concurrency is not None and concurrency > MAX_CONCURRENCY:
            self.problem(
                (*path, "concurrency"),
                f"concurrency must be at most {MAX_CONCURRENCY}, got {concurrency}",
            )
        if timeout is not None and timeout <= 0:
            self.problem((*path, "timeout"), f"timeout must be more than 0 seconds, got {timeout}")
        if retries is not None and retries < 0:
            self.problem((*path, "retries"), f"retries must be 0 or more, got {retries}")
        if retries is not None and retries > MAX_RETRIES:
            self.problem(
                (*path, "retries"), f"retries must be at most {MAX_RETRIES}, got {retries}"
            )

    def check_target(self, target: TargetSpec, path: YamlPath) -> None:
        if problem := id_problem("target id", target.id):
            self.problem((*path, "id"), problem)
        self.check_settings(path, None, target.concurrency, target.timeout, target.retries)
        self.check_prompts(target, path)
        self.check_options(target, path)

    def check_prompts(self, target: TargetSpec, path: YamlPath) -> None:
        seen: set[str] = set()
        for j, prompt in enumerate(target.prompts):
            where = (*path, "prompts", j)
            if problem := id_problem("prompt id", prompt.id):
                self.problem((*where, "id"), problem)
            if prompt.id in seen:
                self.problem((*where, "id"), f"duplicate prompt id '{prompt.id}' in this target")
            seen.add(prompt.id)
            given = [k for k in ("template", "file", "messages") if getattr(prompt, k) is not None]
            if len(given) != 1:
                self.problem(
                    where,
                    "give exactly one of template, file or messages"
                    + (f" (got {', '.join(given)})" if given else ""),
                )
            if prompt.file is not None:
                self.check_prompt_file(prompt.file, (*where, "file"))

    def check_prompt_file(self, relative: str, path: YamlPath) -> None:
        try:
            file = inside(self.root, relative, base=self.path.parent, what="prompt file")
        except WorkspaceError as exc:
            self.problem(path, exc.message, value=True)
            return
        if not file.is_file():
            self.problem(
                path,
                f"prompt file '{relative}' not found (paths are relative to the plan file)",
                value=True,
            )

    def check_options(self, target: TargetSpec, path: YamlPath) -> None:
        known = providers()
        provider = known.get(target.provider)
        if provider is None:
            choices = ", ".join(sorted(known)) or "none registered"
            self.problem(
                (*path, "provider"),
                f"unknown provider '{target.provider}'{did_you_mean(target.provider, known)}"
                f" (known providers: {choices})",
                value=True,
            )
            return
        extras: dict[str, Any] = dict(target.model_extra or {})
        try:
            provider.Options.model_validate(extras)
        except ValidationError as exc:
            self.problems.extend(
                validation_problems(
                    exc,
                    extras,
                    provider.Options,
                    self.doc.location,
                    prefix=path,
                    also_known=TargetSpec.model_fields,
                )
            )

    def load_suites(self) -> list[LoadedSuite]:
        """Load every suite the plan names, once each, checking names are unique."""
        loaded: list[LoadedSuite] = []
        by_file: set[Path] = set()
        by_name: dict[str, LoadedSuite] = {}
        for j, pattern in enumerate(self.spec.suites):
            where = ("suites", j)
            try:
                files = suite_files(self.root, pattern)
            except WorkspaceError as exc:
                self.problem(where, exc.message, value=True)
                continue
            if not files or not all(f.is_file() for f in files):
                self.problem(where, self.nothing_found(pattern), value=True)
                continue
            for file in files:
                if file in by_file:
                    continue
                by_file.add(file)
                suite = self.load_one(file)
                if suite is None:
                    continue
                other = by_name.get(suite.name)
                if other is not None:
                    self.problem(
                        where,
                        f"suite name '{suite.name}' is used by both "
                        f"{source_label(other.path, self.root)} and "
                        f"{source_label(suite.path, self.root)}; names must be unique in a plan",
                        value=True,
                    )
                    continue
                by_name[suite.name] = suite
                loaded.append(suite)
        return loaded

    def nothing_found(self, pattern: str) -> str:
        if _GLOB_CHARS & set(pattern):
            return f"'{pattern}' matches no .yaml or .yml file (globs are relative to {self.root})"
        return f"suite file '{pattern}' not found (paths are relative to {self.root})"

    def load_one(self, file: Path) -> LoadedSuite | None:
        try:
            return load_suite(file, self.root)
        except SpecError as exc:
            self.suite_problems.extend(exc.problems)
            return None


def plan_name(doc: YamlDocument) -> str | None:
    """The `name:` a plan document declares, without validating the rest."""
    if isinstance(doc.data, dict):
        name = doc.data.get("name")
        return name if isinstance(name, str) else None
    return None
