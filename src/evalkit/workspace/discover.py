"""Finding and loading a workspace's plans, and checking the whole workspace at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evalkit.errors import EvalkitError, SpecError, UsageError, WorkspaceError
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.plan import SUITE_SUFFIXES, load_plan, plan_name
from evalkit.workspace.root import PLAN_DIR, SUITE_DIR
from evalkit.workspace.suite import load_suite
from evalkit.workspace.validation import Problem, did_you_mean
from evalkit.workspace.yamlfile import load_yaml, source_label


def find_plans(root: Path) -> list[Path]:
    """The workspace's plan files: `evals/*.yaml` and `evals/*.yml`, sorted by name."""
    return _yaml_files(root / PLAN_DIR)


def load_plans(root: Path, plan: str | None = None) -> list[LoadedPlan]:
    """Load all plans (None), or one by name, by plan file path, or a folder's plans.

    Problems in several plans are raised together as one SpecError.
    """
    return _load_all(_plan_files(root, plan), root)


def validate_workspace(root: Path) -> list[str]:
    """Every problem in every plan and every suite under `suites/`; empty when clean."""
    problems: list[str] = []
    plans = find_plans(root)
    problems.extend(_duplicate_plan_names(plans, root))
    for path in plans:
        problems.extend(_problems_of(load_plan, path, root))
    for path in _yaml_files(root / SUITE_DIR, recursive=True):
        problems.extend(_problems_of(load_suite, path, root))
    # A suite named by a plan is checked twice; say each problem once.
    return list(dict.fromkeys(problems))


def _yaml_files(folder: Path, *, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in found if p.suffix in SUITE_SUFFIXES and p.is_file())


def _plan_files(root: Path, plan: str | None) -> list[Path]:
    if plan is None:
        return find_plans(root)
    given = Path(plan)
    for candidate in (given, root / given):
        if candidate.is_dir():
            folder = _confined(root, candidate, "plan folder")
            return _yaml_files(folder / PLAN_DIR if (folder / PLAN_DIR).is_dir() else folder)
        if candidate.is_file():
            return [_confined(root, candidate, "plan file")]
    return [_plan_named(root, plan)]


def _confined(root: Path, path: Path, what: str) -> Path:
    """`path` resolved, refusing one outside the workspace (its suites could not be)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise WorkspaceError(
            f"{what} '{path}' is outside the workspace {root.resolve()}",
            hint="run evalkit from inside that plan's workspace",
        )
    return resolved


def _plan_named(root: Path, name: str) -> Path:
    plans = find_plans(root)
    names: dict[str, Path] = {}
    for path in plans:
        try:
            declared = plan_name(load_yaml(path, source_label(path, root)))
        except SpecError:
            declared = None
        names.setdefault(declared or path.stem, path)
    if name in names:
        return names[name]
    known = ", ".join(sorted(names)) or f"none: {root / PLAN_DIR} has no plans"
    raise UsageError(
        f"no plan named '{name}'{did_you_mean(name, names)} (plans: {known})",
        hint="give a plan name, a plan file, or a workspace folder",
    )


def _load_all(files: list[Path], root: Path) -> list[LoadedPlan]:
    loaded: list[LoadedPlan] = []
    problems: list[Problem] = []
    for path in files:
        try:
            loaded.append(load_plan(path, root))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return loaded


def _duplicate_plan_names(plans: list[Path], root: Path) -> list[str]:
    problems: list[str] = []
    first: dict[str, str] = {}
    for path in plans:
        try:
            doc = load_yaml(path, source_label(path, root))
        except SpecError:
            continue  # reported when the plan itself is loaded
        name = plan_name(doc)
        if name is None:
            continue
        where = doc.location(("name",))
        if name in first:
            message = f"plan name '{name}' is also used by {first[name]}; plan names must be unique"
            problems.append(str(SpecError.single(where, "name", message)))
        else:
            first[name] = source_label(path, root)
    return problems


def _problems_of(load: Callable[[Path, Path], object], path: Path, root: Path) -> list[str]:
    try:
        load(path, root)
    except SpecError as exc:
        return [str(SpecError([problem])) for problem in exc.problems]
    except EvalkitError as exc:
        return [str(exc)]
    return []
