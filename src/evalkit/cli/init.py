"""`evalkit init`: scaffold a workspace (suites/, evals/, graders/, reports/)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli.console import console

SCAFFOLD = "scaffold"
IGNORED = ".evalkit/\nreports/out/\n"


def command(
    path: Annotated[Path, typer.Argument(help="Where to create the workspace.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> int:
    """Create a workspace with an example suite, plan and grader that run offline."""
    path.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for relative, source in _scaffold_files(resources.files("evalkit").joinpath(SCAFFOLD)):
        dest = path / relative
        if dest.exists() and not force:
            kept.append(relative)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes())
        written.append(relative)
    _ignore_state(path)
    for relative in written:
        console.print(f"  [green]created[/] {relative}")
    for relative in kept:
        console.print(f"  [dim]kept[/]    {relative} (exists; --force overwrites)")
    here = path.resolve() == Path.cwd().resolve()
    step = "`evalkit run`" if here else f"`cd {path}` and `evalkit run`"
    console.print(f"\nworkspace ready in {path.resolve()}. Next: {step}.", highlight=False)
    return 0


def _scaffold_files(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    files: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            files.extend(_scaffold_files(entry, relative + "/"))
        else:
            files.append((relative, entry))
    return files


def _ignore_state(path: Path) -> None:
    """Keep the results database and rendered reports out of the user's git."""
    gitignore = path / ".gitignore"
    current = gitignore.read_text() if gitignore.exists() else ""
    missing = [line for line in IGNORED.splitlines() if line not in current.splitlines()]
    if missing:
        prefix = "" if not current or current.endswith("\n") else "\n"
        gitignore.write_text(current + prefix + "\n".join(missing) + "\n")
