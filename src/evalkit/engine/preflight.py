"""What can be known wrong before the first call, found before it (`evalkit validate`,
and `evalkit run` before it records anything): a python target whose file or function
does not exist, a prompt template that uses a variable the cases do not provide.

Nothing here calls a model or runs the user's code: python files are read as syntax
trees, templates as Jinja ASTs. Every problem carries the plan's file:line:col.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from evalkit.engine.plan import too_many_trials
from evalkit.errors import WorkspaceError
from evalkit.records import Case
from evalkit.targets.prompt import ENVIRONMENT, TRIAL_VARS, template_vars
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.models import TargetSpec
from evalkit.workspace.root import inside
from evalkit.workspace.validation import Problem, did_you_mean
from evalkit.workspace.yamlfile import YamlDocument, YamlPath, load_yaml, source_label

CASES_LISTED = 3  # cases named per missing variable: enough to find the pattern


def preflight(plan: LoadedPlan, cases: Sequence[Case] | None = None) -> list[Problem]:
    """Every problem in `plan`'s targets that would fail trials; `cases` defaults to all."""
    doc = load_yaml(plan.path, source_label(plan.path, plan.root))
    chosen = list(cases) if cases is not None else [c for s in plan.suites for c in s.cases]
    problems: list[Problem] = []
    for i, target in enumerate(plan.spec.targets):
        path: YamlPath = ("targets", i)
        extras: dict[str, Any] = dict(target.model_extra or {})
        if target.provider == "python" and isinstance(extras.get("function"), str):
            message = _function_problem(extras["function"], plan.root)
            if message:
                problems.append(_at(doc, (*path, "function"), message))
        for where, label, source in _templates(target, plan, path):
            for message in _variable_problems(label, source, chosen):
                problems.append(_at(doc, where, message))
    variants = sum(max(1, len(target.prompts)) for target in plan.spec.targets)
    if too_many := too_many_trials(len(chosen), variants, plan.spec.epochs):
        where = ("epochs",) if "epochs" in (doc.data or {}) else ("targets",)
        problems.append(_at(doc, where, f"{too_many}: fewer epochs, targets or cases"))
    return problems


def python_target_files(plan: LoadedPlan) -> list[Path]:
    """The workspace files python targets' functions live in (what `--watch` watches)."""
    files = []
    for target in plan.spec.targets:
        reference = (target.model_extra or {}).get("function")
        if target.provider != "python" or not isinstance(reference, str):
            continue
        source = reference.rpartition(":")[0]
        if source.endswith(".py") or "/" in source:
            files.append((plan.root / source).resolve())
        else:
            spec = _find_spec(source, plan.root)
            if spec is not None and spec.origin and spec.origin.endswith(".py"):
                files.append(Path(spec.origin).resolve())
    return [f for f in files if plan.root.resolve() in f.parents]


def _find_spec(module: str, root: Path) -> Any:
    if str(root) not in sys.path:
        sys.path.append(str(root))
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def _at(doc: YamlDocument, path: YamlPath, message: str) -> Problem:
    field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
    return doc.location(path, value=True), field.replace(".[", "["), message


# -- python targets --------------------------------------------------------------------


def _function_problem(reference: str, root: Path) -> str | None:
    """Why `module:func` or `file.py:func` cannot be found, read without importing it."""
    source, sep, name = reference.rpartition(":")
    if not sep or not source or not name.isidentifier():
        return None  # the provider's own check says how to write it
    if source.endswith(".py") or "/" in source:
        try:
            file = inside(root, source, what="function file")
        except WorkspaceError as exc:
            return exc.message
        if not file.is_file():
            return f"function file '{source}' not found (paths are relative to {root})"
        return _name_problem(file, source, name)
    if str(root) not in sys.path:
        sys.path.append(str(root))  # as the provider does: workspace packages import
    try:
        spec = importlib.util.find_spec(source)
    except (ImportError, ValueError) as exc:
        return f"cannot find module '{source}': {exc}"
    if spec is None:
        return f"cannot find module '{source}' (not in the workspace nor installed)"
    origin = Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    return _name_problem(origin, source, name) if origin else None


def _name_problem(file: Path, display: str, name: str) -> str | None:
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        return f"'{display}' cannot be read as Python: {exc}"
    defined = set(_top_level_names(tree))
    if name in defined or "*" in defined or "__getattr__" in defined:
        return None
    functions = sorted(n for n in defined if not n.startswith("_"))
    return (
        f"'{display}' has no function '{name}'{did_you_mean(name, functions)} "
        f"(it defines: {', '.join(functions) or 'nothing'})"
    )


def _top_level_names(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name).split(".")[0]
        elif isinstance(node, ast.If | ast.Try):
            # definitions under `if`/`try` (optional imports): count them all as defined
            inner = ast.Module(body=list(ast.iter_child_nodes(node)), type_ignores=[])  # type: ignore[arg-type]
            yield from _top_level_names(inner)


# -- prompt templates --------------------------------------------------------------------


def _templates(
    target: TargetSpec, plan: LoadedPlan, path: YamlPath
) -> Iterator[tuple[YamlPath, str, str]]:
    """(where in the plan, a label, the template source) of every template of a target."""
    system = (target.model_extra or {}).get("system")
    if isinstance(system, str):
        yield (*path, "system"), f"target '{target.id}' system", system
    for j, prompt in enumerate(target.prompts):
        where: YamlPath = (*path, "prompts", j)
        label = f"prompt '{prompt.id}'"
        if prompt.template is not None:
            yield (*where, "template"), label, prompt.template
        if prompt.system is not None:
            yield (*where, "system"), f"{label} system", prompt.system
        for k, message in enumerate(prompt.messages or []):
            yield (*where, "messages", k, "content"), f"{label} messages[{k}]", message.content
        if prompt.file is not None:
            try:
                file = inside(plan.root, prompt.file, base=plan.path.parent, what="prompt file")
                text = file.read_text(encoding="utf-8")
            except (WorkspaceError, OSError, UnicodeDecodeError):
                continue  # the plan's own check reports a missing or unreadable file
            yield (*where, "file"), f"{label} ({prompt.file})", text


def _variable_problems(label: str, source: str, cases: Sequence[Case]) -> Iterator[str]:
    try:
        parsed = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        yield f"{label}: template syntax error on line {exc.lineno}: {exc.message}"
        return
    used = (
        meta.find_undeclared_variables(parsed)
        - set(ENVIRONMENT.globals)
        - _optional(parsed)
        - TRIAL_VARS
    )
    for variable in sorted(used):
        lacking = [case for case in cases if variable not in template_vars(case)]
        if not lacking:
            continue
        known = {name for case in cases for name in template_vars(case)}
        first = ", ".join(
            f"{c.suite}/{c.id}" + (f" ({c.location})" if c.location else "")
            for c in lacking[:CASES_LISTED]
        )
        more = f" and {len(lacking) - CASES_LISTED} more" if len(lacking) > CASES_LISTED else ""
        yield (
            f"{label} uses '{{{{ {variable} }}}}' but {len(lacking)} of {len(cases)} cases "
            f"have no var '{variable}'{did_you_mean(variable, known)}: {first}{more}"
        )


def _optional(parsed: nodes.Template) -> set[str]:
    """Variables the template itself guards: `x is defined`, `x | default(...)`."""
    guarded: set[str] = set()
    for test in parsed.find_all(nodes.Test):
        if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name):
            guarded.add(test.node.name)
    for node in parsed.find_all(nodes.Filter):
        if node.name in ("default", "d") and isinstance(node.node, nodes.Name):
            guarded.add(node.node.name)
    return guarded
