"""The workspace files that decide a target's output, each with its content hash.

A target's config in the plan names files rather than holding them: a prompt template
file, a python target's module (and the workspace modules it imports), a command's
script, a replay recording. Editing one of them changes every output while the config
stays the same, so the run records their hashes next to the config: `resume` refuses
when one changed, and the target's `config_hash` (and so trend's change markers) moves.

Only files inside the workspace are followed: installed packages and system programs
are the environment, not the thing under test.
"""

from __future__ import annotations

import ast
import hashlib
import shlex
from pathlib import Path

from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.models import TargetSpec

# Enough for any real import graph (a fan-out of 600 modules was cut at the old 500, and
# an edit past the cut went unseen); a bound so a pathological workspace cannot stall a run.
MAX_FILES = 5_000
# Shell scripts a command runs are read for the files they run in turn, this many deep.
_SCRIPT_DEPTH = 3
_SCRIPT_BYTES = 256 * 1024  # larger files are data, not scripts to read
_IMPORT_CALLS = {"import_module", "__import__"}  # importlib.import_module("pkg.mod")


def target_input_hashes(spec: TargetSpec, root: Path, plan_dir: Path) -> dict[str, str]:
    """`{workspace-relative path: "sha256:..."}` of every file that decides `spec`'s output.

    Files that do not exist are left out: building the target reports them properly.
    """
    root = root.resolve()
    found: dict[str, str] = {}
    for prompt in spec.prompts:
        if prompt.file is not None:
            _add(found, root, (plan_dir / prompt.file).resolve())
    extra = spec.model_extra or {}
    if spec.provider == "python" and isinstance(extra.get("function"), str):
        _python_function(found, root, extra["function"])
    elif spec.provider == "command":
        _command(found, root, extra.get("command"))
    elif spec.provider == "replay" and isinstance(extra.get("path"), str):
        _add(found, root, (root / extra["path"]).resolve())
    return dict(sorted(found.items()))


def plan_input_hashes(plan: LoadedPlan) -> dict[str, dict[str, str]]:
    """`target_input_hashes` of every target in `plan`, by target id (recorded with a run)."""
    return {
        spec.id: target_input_hashes(spec, plan.root, plan.path.parent)
        for spec in plan.spec.targets
    }


def _python_function(found: dict[str, str], root: Path, reference: str) -> None:
    source = reference.rpartition(":")[0]
    if source.endswith(".py") or "/" in source:
        _python_file(found, root, (root / source).resolve())
    else:
        for path in _module_files(root, root, source):
            _python_file(found, root, path)


def _command(
    found: dict[str, str], root: Path, command: object, near: Path | None = None, depth: int = 0
) -> None:
    """The workspace files a command runs: scripts named in it, by path or `-m`, resolved
    from the workspace (after any `cd DIR`) or, inside a script, from the script's folder;
    the shell scripts among them are read for what they run in turn."""
    if isinstance(command, str):
        try:
            words = shlex.split(command, comments=depth > 0)
        except ValueError:  # unbalanced quotes: the shell will say so when it runs
            words = command.split()
    elif isinstance(command, list):
        words = [str(w) for w in command]
    else:
        return
    cwd = root
    for before, word in zip(["", *words], words, strict=False):
        if before == "cd":
            cwd = (cwd / word).resolve()
            continue
        if before == "-m":  # `python -m package.module`
            for path in _module_files(root, cwd, word):
                _python_file(found, root, path)
            continue
        if word.startswith("-") or "=" in word:
            continue
        for base in dict.fromkeys(b for b in (cwd, near, root) if b is not None):
            candidate = (base / word).resolve()
            if candidate.is_file():
                _script(found, root, candidate, depth)
                break


def _script(found: dict[str, str], root: Path, path: Path, depth: int) -> None:
    """A file a command runs: python followed by its imports, a shell script read for what
    it runs, anything else hashed as it is."""
    head = _head(path)
    if path.suffix == ".py" or (head.startswith("#!") and "python" in head):
        _python_file(found, root, path)
    elif (
        _add(found, root, path)
        and depth < _SCRIPT_DEPTH
        and (path.suffix == ".sh" or (head.startswith("#!") and "sh" in head))
    ):
        try:
            text = path.read_text(errors="replace") if path.stat().st_size < _SCRIPT_BYTES else ""
        except OSError:
            return
        _command(found, root, text, path.parent, depth + 1)


def _head(path: Path) -> str:
    """The first line of `path` (its shebang, if any), or "" when unreadable."""
    try:
        with path.open("rb") as f:
            return f.readline(256).decode(errors="replace")
    except OSError:
        return ""


def _python_file(found: dict[str, str], root: Path, path: Path) -> None:
    """Hash `path` and, following its imports, every workspace module it reaches."""
    pending = [path]
    while pending and len(found) < MAX_FILES:
        current = pending.pop()
        if not _add(found, root, current):
            continue
        try:
            tree = ast.parse(current.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError):
            continue  # importing it will fail with a better message
        pending.extend(_imported_files(root, current, tree))


def _imported_files(root: Path, path: Path, tree: ast.AST) -> list[Path]:
    files: list[Path] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                files.extend(_module_files(root, path.parent, alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = path.parent
            for _ in range(max(node.level - 1, 0)):
                base = base.parent
            prefix = node.module or ""
            search = base if node.level else path.parent
            files.extend(_module_files(root, search, prefix))
            for alias in node.names:  # `from pkg import module` imports a file too
                files.extend(_module_files(root, search, f"{prefix}.{alias.name}".lstrip(".")))
        elif isinstance(node, ast.Call) and (named := _imported_by_name(node)):
            files.extend(_module_files(root, path.parent, named))
    return files


def _imported_by_name(call: ast.Call) -> str | None:
    """The module of `importlib.import_module("pkg.mod")` or `__import__("pkg.mod")`."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in _IMPORT_CALLS or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _module_files(root: Path, near: Path, dotted: str) -> list[Path]:
    """Files of module `dotted` if it lives in the workspace (at its root or next to `near`)."""
    if not dotted:
        return [near / "__init__.py"] if near != root else []
    parts = dotted.split(".")
    files: list[Path] = []
    for base in dict.fromkeys((root, near)):
        stem = base.joinpath(*parts)
        files.extend(p for p in (stem.with_suffix(".py"), stem / "__init__.py") if p.is_file())
        # a package's parents run too when it is imported
        for depth in range(1, len(parts)):
            init = base.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                files.append(init)
    return files


def _add(found: dict[str, str], root: Path, path: Path) -> bool:
    """Record `path`'s hash if it is a workspace file not seen yet; True when added."""
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        return False
    if relative in found or not path.is_file():
        return False
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return False
    found[relative] = f"sha256:{digest}"
    return True
