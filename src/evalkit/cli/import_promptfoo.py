"""`evalkit import promptfoo FILE`: a promptfoo config becomes an evalkit plan and suite.

Writes `evals/NAME.yaml` and `suites/NAME.yaml` (plus generated bridge modules for
promptfoo Python providers and assertions), validates the plan as `evalkit validate`
would, and lists every part of the config it could not convert with file:line and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape

from evalkit.cli.console import console, err_console
from evalkit.errors import SpecError, UsageError, WorkspaceError
from evalkit.graders.discovery import load_all
from evalkit.workspace.plan import load_plan
from evalkit.workspace.promptfoo import Conversion, convert
from evalkit.workspace.root import find_root


def command(
    file: Annotated[Path, typer.Argument(help="The promptfoo config (promptfooconfig.yaml).")],
    name: Annotated[
        str | None,
        typer.Option(help="Name of the plan and suite (default: from the config's description)."),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            metavar="DIR",
            help="The evalkit workspace to write into (default: found from the current folder, "
            "else the current folder).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite files a previous import wrote.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Convert and report; write nothing.")] = False,
) -> int:
    """Convert a promptfoo config into an evalkit plan and suite, listing what is left out."""
    if not file.is_file():
        raise UsageError(f"{file} is not a file", hint="give the path of promptfooconfig.yaml")
    root = workspace or _workspace()
    result = convert(file, root, name)
    outputs = {
        f"evals/{result.name}.yaml": _yaml(result.plan, file),
        f"suites/{result.name}.yaml": _yaml(result.suite, file),
        **result.files,
    }
    _report(result, outputs)
    if dry_run:
        return 0
    existing = [p for p in outputs if (root / p).exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in {root}",
            hint="pass --force to overwrite them, or --name to import under another name",
        )
    for relative, text in outputs.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    load_all(root)  # the generated grader module must load, as it will for `evalkit run`
    try:
        plan = load_plan(root / f"evals/{result.name}.yaml", root)
    except SpecError as exc:
        err_console.print(f"[red]the imported plan does not validate:[/]\n{escape(str(exc))}")
        return 4
    cases = sum(len(s.cases) for s in plan.suites)
    console.print(
        f"wrote evals/{result.name}.yaml and suites/{result.name}.yaml: valid, {cases} cases, "
        f"{len(plan.spec.targets)} targets; run it with: evalkit run {result.name}",
        highlight=False,
    )
    return 0


def _workspace() -> Path:
    try:
        return find_root()
    except WorkspaceError:
        return Path.cwd()


def _yaml(data: dict[str, Any], config: Path) -> str:
    header = f"# Imported from promptfoo ({config.name}) by `evalkit import promptfoo`.\n"
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def _report(result: Conversion, outputs: dict[str, str]) -> None:
    cases = len(result.suite.get("cases", []))
    targets = len(result.plan.get("targets", []))
    console.print(
        f"converted: {targets} targets, {cases} cases; files: {', '.join(outputs)}",
        highlight=False,
    )
    if not result.unconverted:
        console.print("everything in the config was converted")
        return
    console.print(f"not converted ({len(result.unconverted)}):", style="yellow")
    for item in result.unconverted:
        console.print(f"  {item}", markup=False, highlight=False)
