"""Finding the workspace (like git finds a repository) and keeping paths inside it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from evalkit.errors import WorkspaceError

PLAN_DIR = "evals"
SUITE_DIR = "suites"
GRADER_DIR = "graders"
REPORT_DIR = "reports"
STATE_DIR = ".evalkit"
DEFAULT_DB = f"{STATE_DIR}/evalkit.duckdb"


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` that has an `evals/` folder."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PLAN_DIR).is_dir():
            return candidate
    raise WorkspaceError(
        f"no evalkit workspace at or above {here} (looked for an '{PLAN_DIR}/' folder)",
        hint="run `evalkit init` to create one here, or cd into your workspace",
    )


def inside(
    root: Path, relative: str | os.PathLike[str], *, base: Path | None = None, what: str = "path"
) -> Path:
    """Resolve `relative` against `base` (default: `root`), refusing anything outside `root`.

    Absolute paths, `..` and symlinks that lead outside the workspace are all refused:
    suites are shared files, and a suite must not read arbitrary files on the machine.
    """
    raw = Path(relative)
    if raw.is_absolute():
        raise WorkspaceError(
            f"{what} '{relative}' is absolute; use a path relative to the workspace {root}"
        )
    resolved = ((base or root) / raw).resolve()
    root_resolved = root.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise WorkspaceError(
            f"{what} '{relative}' leads outside the workspace {root_resolved}",
            hint="keep suites, case files and templates inside the workspace",
        )
    return resolved


def default_db_path(root: Path) -> Path:
    """The results database: $EVALKIT_DB, else `.evalkit/evalkit.duckdb` in the workspace."""
    env = os.environ.get("EVALKIT_DB")
    if env:
        return Path(env).expanduser()
    return root / DEFAULT_DB


def grader_code_hashes(root: Path) -> dict[str, str]:
    """sha256 of each workspace grader file (`graders/*.py`), keyed by its relative path.

    Recorded with a run so a resume can tell that a grader's code changed in between.
    """
    folder = root / GRADER_DIR
    if not folder.is_dir():
        return {}
    return {
        f"{GRADER_DIR}/{path.name}": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.glob("*.py"))
        if path.is_file()
    }
