"""Importing the user's Python files (workspace graders, `python` grader functions).

Files are imported under stable, unique module names and re-imported when their
content changes, so `evalkit run --watch` picks up an edit to a grader file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from evalkit.errors import GraderError
from evalkit.workspace.root import find_root

WORKSPACE_PACKAGE = "evalkit_workspace_graders"

_root: Path | None = None


def set_workspace_root(root: Path | None) -> None:
    """Remember the workspace whose files `python` graders refer to (set by `load_all`)."""
    global _root
    _root = root.resolve() if root is not None else None


def workspace_root() -> Path:
    """The workspace set by `load_all`, else the one around the working directory."""
    return _root if _root is not None else find_root()


def module_name(root: Path, path: Path) -> str:
    """A unique, importable module name for a workspace file: graders/x.py -> <pkg>.x."""
    relative = path.resolve().relative_to(root.resolve()).with_suffix("")
    parts = list(relative.parts)
    if parts[:1] == ["graders"]:
        parts = parts[1:]  # graders/ is the package itself, see _package()
    safe = [re.sub(r"\W", "_", part) or "_" for part in parts]
    return ".".join(
        [WORKSPACE_PACKAGE, *(f"_{part}" if part[0].isdigit() else part for part in safe)]
    )


def _package(root: Path) -> None:
    """A package standing for the workspace's graders/, so grader files can import each other."""
    package = sys.modules.get(WORKSPACE_PACKAGE)
    if package is None:
        package = ModuleType(WORKSPACE_PACKAGE, "evalkit workspace graders")
        sys.modules[WORKSPACE_PACKAGE] = package
    package.__path__ = [str(root.resolve() / "graders")]


def content_hash(path: Path) -> str:
    """What identifies a version of a file: its bytes (mtime misses quick same-second edits)."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(root: Path, path: Path) -> bool:
    """Whether `path` is imported and unchanged since."""
    module = sys.modules.get(module_name(root, path))
    return module is not None and getattr(module, "__evalkit_hash__", None) == content_hash(path)


def import_file(root: Path, path: Path, *, force: bool = False) -> ModuleType:
    """Import `path` (inside `root`), again if its content changed; errors name file:line."""
    name = module_name(root, path)
    stamp = content_hash(path)
    module = sys.modules.get(name)
    if not force and module is not None and getattr(module, "__evalkit_hash__", None) == stamp:
        return module
    _package(root)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GraderError(f"{display(root, path)}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__evalkit_hash__ = stamp  # type: ignore[attr-defined]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise import_failure(root, path, exc) from None
    return module


def display(root: Path, path: Path) -> str:
    """`path` relative to the workspace when it is inside it, for messages."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def import_failure(root: Path, path: Path, exc: BaseException) -> GraderError:
    """A GraderError naming the file and line where importing it failed, and the exception."""
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        line = exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == path.resolve():
                line = frame.lineno  # the innermost line of this file in the traceback
    where = display(root, path) + (f":{line}" if line else "")
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return GraderError(
        f"{where}: importing the grader file failed: {type(exc).__name__}: {detail}",
        hint="fix the error, or move the file out of graders/ if it is not a grader",
    )
