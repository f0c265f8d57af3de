"""The house keeps its shape: one folder per stage, imports that follow the data flow.

Walks every module of the package with `ast` (no imports executed) and fails on an arrow
that runs the wrong way, on a module left at the package root, on printing below the
CLI, and on SQL outside the store. The README's Architecture section lists the folders;
a test below keeps that list true.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "evalkit"
README = Path(__file__).resolve().parents[1] / "README.md"

ROOT_FILES = {"__init__.py", "__main__.py", "_version.py", "api.py", "errors.py", "records.py"}
FOLDERS = {
    "cli",
    "workspace",
    "engine",
    "targets",
    "graders",
    "store",
    "analysis",
    "reports",
    "review",
    "feedback",
    "scaffold",
}

# stage -> the stages it must never import. Data flows cli -> workspace -> engine ->
# (targets, then graders) -> store; analysis, reports, review and feedback read the store.
FORBIDDEN: dict[str, set[str]] = {
    "records": FOLDERS | {"api"},
    "errors": FOLDERS | {"api", "records"},
    "workspace": {"cli", "engine", "store", "analysis", "reports", "review", "feedback"},
    "targets": {"cli", "engine", "graders", "store", "analysis", "reports", "review", "feedback"},
    "graders": {"cli", "engine", "store", "analysis", "reports", "review", "feedback"},
    "engine": {"cli", "reports", "review", "feedback"},
    "store": {"cli", "engine", "analysis", "reports", "review", "feedback", "graders"},
    "analysis": {"cli", "engine", "reports", "review", "feedback"},
    "reports": {"cli", "engine", "review", "feedback"},
    "review": {"cli", "engine", "reports", "feedback"},
    "feedback": {"cli", "engine", "reports", "review"},
}

SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|COPY|PRAGMA|ATTACH)\b", re.I
)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "scaffold" not in p.parts)


def _stage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _is_main_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _imported_stages(tree: ast.AST) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "evalkit":
                names = [f"evalkit.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "evalkit" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_the_package_root_holds_only_the_public_face() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.suffix == ".py"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert files <= ROOT_FILES, f"modules at the package root: {sorted(files - ROOT_FILES)}"
    assert folders == FOLDERS


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_data_flow(path: Path) -> None:
    stage = _stage(path)
    forbidden = FORBIDDEN.get(stage, set())
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = sorted(
        f"line {line}: {stage} -> {target}"
        for target, line in _imported_stages(tree)
        if target in forbidden
    )
    assert not wrong, f"{path.relative_to(PACKAGE)} imports the wrong way: {wrong}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_below_the_cli_prints(path: Path) -> None:
    if _stage(path) in {"cli", "__main__"}:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # a module's own `if __name__ == "__main__":` script block is a command line of its own
    body = [node for node in ast.iter_child_nodes(tree) if not _is_main_block(node)]
    calls = [
        node.lineno
        for top in body
        for node in ast.walk(top)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"print", "input"}
    ]
    assert not calls, f"{path.relative_to(PACKAGE)} prints at lines {calls}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_store_speaks_sql(path: Path) -> None:
    if _stage(path) == "store":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    queries = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"execute", "executemany", "sql", "query"}
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and SQL.match(node.args[0].value)
    ]
    assert not queries, f"{path.relative_to(PACKAGE)} runs SQL at lines {queries}"


def test_the_readme_lists_every_folder() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\s{2}(\w+)/", section, re.M))
    assert listed == FOLDERS, f"README lists {sorted(listed)}, the package has {sorted(FOLDERS)}"


def test_a_wrong_way_arrow_is_caught() -> None:
    tree = ast.parse("from evalkit.engine.runner import Engine\nimport evalkit.cli\n")
    assert {t for t, _ in _imported_stages(tree)} == {"engine", "cli"}


def test_every_stage_imports_first_in_a_fresh_interpreter() -> None:
    # A cycle between two stages' package imports only shows when one of them is the
    # first thing imported (`import evalkit.targets` in a user's script): each stage, and
    # the modules plugins and scripts import directly, must import with nothing before.
    import subprocess
    import sys

    first = [f"evalkit.{folder}" for folder in sorted(FOLDERS)] + [
        "evalkit.api",
        "evalkit.targets.base",
        "evalkit.graders.base",
        "evalkit.workspace.models",
        "evalkit.engine.pytest_plugin",
    ]
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {first!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'evalkit']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
