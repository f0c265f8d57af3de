"""Filling the grader registry: built-ins, installed packages, and the workspace's graders/.

Every source shares one registry; a name may be registered by one source only, so a
workspace file can't silently replace a built-in. Each definition records its `source`.
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from evalkit.errors import GraderError
from evalkit.graders.base import GraderDef, registry, unregister
from evalkit.graders.modules import display, import_file, is_current, set_workspace_root
from evalkit.workspace.root import GRADER_DIR

ENTRY_POINT_GROUP = "evalkit.graders"
BUILTIN_MODULES = (
    "evalkit.graders.rules",
    "evalkit.graders.judge",
    "evalkit.graders.security",
)

# The source and names of each loaded workspace file, so an edited or deleted file's old
# graders go.
_workspace_files: dict[Path, tuple[str, list[str]]] = {}


def load_builtin() -> None:
    """Register the built-in graders (importing their modules registers them)."""
    for name in BUILTIN_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def _snapshot() -> dict[str, GraderDef[Any]]:
    return dict(registry())


def _claim(before: dict[str, GraderDef[Any]], source: str, culprit: str) -> list[str]:
    """Mark what changed since `before` as `source`'s; a name taken by another source is refused."""
    current = registry()
    changed = [name for name, d in current.items() if before.get(name) is not d]
    for name in changed:
        previous = before.get(name)
        if (
            previous is not None
            and previous.source != source
            and not _same_module(previous, current[name])
        ):
            # Put every name back as it was, then say who collided with whom.
            for undo in changed:
                if undo in before:
                    current[undo] = before[undo]
                else:
                    unregister(undo)
            raise GraderError(
                f"{culprit} registers grader '{name}', which {previous.source} already defines",
                hint="give the grader another name",
            )
        current[name].source = source
    return sorted(changed)


def _same_module(old: GraderDef[Any], new: GraderDef[Any]) -> bool:
    """A module run again (an edited file, a re-import) may redefine its own graders."""
    module = getattr(old.fn, "__module__", None)
    return module is not None and module == getattr(new.fn, "__module__", None)


def _entry_point_source(entry: EntryPoint) -> tuple[str, str]:
    dist = entry.dist.name if entry.dist is not None else entry.value
    return f"package:{dist}", f"installed package '{dist}'"


def load_entry_point_graders() -> list[str]:
    """Load every `evalkit.graders` entry point; return the names their packages registered."""
    names: list[str] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        source, culprit = _entry_point_source(entry)
        before = _snapshot()
        try:
            entry.load()
        except Exception as exc:
            raise GraderError(
                f"{culprit}: its evalkit.graders entry point '{entry.name} = {entry.value}' "
                f"failed to load: {type(exc).__name__}: {exc}",
                hint=f"upgrade or reinstall {culprit.split(' ', 2)[2]}, or uninstall it",
            ) from None
        _claim(before, source, culprit)
        # Loading twice is a no-op (the module is imported), so list what the package owns.
        names.extend(name for name, d in registry().items() if d.source == source)
    return sorted(set(names))


def load_workspace_graders(root: Path) -> list[str]:
    """Import every `graders/*.py` of the workspace (again if edited); return their grader names."""
    folder = root / GRADER_DIR
    files = sorted(p.resolve() for p in folder.glob("*.py")) if folder.is_dir() else []
    for gone in [path for path in _workspace_files if path not in files]:
        _forget(gone)
    names: list[str] = []
    for path in files:
        names.extend(_load_file(root, path))
    return sorted(names)


def _load_file(root: Path, path: Path) -> list[str]:
    if path in _workspace_files and is_current(root, path):
        return _workspace_files[path][1]
    # The file is new or changed: its old graders go, whatever it registers now stays.
    _forget(path)
    before = _snapshot()
    try:
        # Forced: a `python` grader may have imported the file without registering its names.
        import_file(root, path, force=True)
    except GraderError:
        _restore(before)
        raise
    source = f"workspace:{display(root, path)}"
    names = _claim(before, source, display(root, path))
    _workspace_files[path] = (source, names)
    return names


def _restore(before: dict[str, GraderDef[Any]]) -> None:
    """Undo whatever a file registered before it failed to import."""
    current = registry()
    for name in [n for n in current if n not in before]:
        unregister(name)
    current.update(before)


def _forget(path: Path) -> None:
    """Unregister a file's graders, except names another source has taken since."""
    source, names = _workspace_files.pop(path, ("", []))
    for name in names:
        definition = registry().get(name)
        if definition is not None and definition.source == source:
            unregister(name)


def load_all(root: Path | None) -> None:
    """Fill the registry from every source; safe to call again (picks up edited files)."""
    load_builtin()
    load_entry_point_graders()
    set_workspace_root(root)
    if root is not None:
        load_workspace_graders(root)
