"""Hostile inputs end in a clean message and the right exit code, never a traceback:
a damaged database file for every command, a JSONL row nested 5,000 deep, a run
reference with a huge number, `--out` naming a directory."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace

CLI = Callable[..., tuple[int, str]]

# Every command that opens the results database, with the arguments it needs.
COMMANDS: list[tuple[str, ...]] = [
    ("run",),
    ("resume",),
    ("runs",),
    ("show",),
    ("show", "latest"),
    ("report", "latest"),
    ("export", "--format", "csv"),
    ("export", "--format", "parquet"),
    ("compare",),
    ("trend",),
    ("review", "--all", "--export", "sheet.csv"),
    ("calibrate",),
    ("promote", "latest", "--failing"),
    ("import", "logs.jsonl", "--suite", "imported", "--map", "question=input,output=output"),
    ("baseline", "set", "latest", "--name", "main"),
    ("baseline", "list"),
    ("baseline", "delete", "main"),
    ("stats", "power"),
]


# Commands that read results: they reach the pages a cut file lost.
READERS = {"run", "runs", "show", "report", "export", "compare", "review", "stats", "promote"}


def damage(db: Path, how: str) -> None:
    if how == "truncated":
        size = db.stat().st_size
        with db.open("r+b") as handle:
            handle.truncate(size // 2)
    else:
        db.write_bytes(random.Random(7).randbytes(300_000))


@pytest.fixture(scope="module")
def damaged_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real database with two runs, cut to half its size; and a file of random bytes."""
    from evalkit.cli import invoke

    root = tmp_path_factory.mktemp("damaged")
    ws = root / "ws"
    (ws / "suites").mkdir(parents=True)
    (ws / "evals").mkdir()
    from tests.cli.conftest import SUITE, SYSTEM

    (ws / "suites" / "support.yaml").write_text(SUITE)
    (ws / "system.py").write_text(SYSTEM)
    (ws / "evals" / "plan.yaml").write_text(
        f"name: support\nsuites: [suites/*.yaml]\ntargets:\n{PYTHON_TARGET}"
    )
    db = root / "good.duckdb"
    old = Path.cwd()
    os.chdir(ws)
    try:
        for _ in range(2):
            assert invoke(["run", "--db", str(db)]) in (0, 1)
    finally:
        os.chdir(old)
    found = {}
    for how in ("truncated", "random bytes"):
        copy = root / f"{how.replace(' ', '-')}.duckdb"
        copy.write_bytes(db.read_bytes())
        damage(copy, how)
        found[how] = copy
    return found


@pytest.mark.parametrize("how", ["truncated", "random bytes"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_on_a_damaged_database_fails_cleanly(
    workspace: Workspace, cli: CLI, damaged_dbs: dict[str, Path], how: str, args: tuple[str, ...]
) -> None:
    workspace.plan(PYTHON_TARGET)
    (workspace.root / "logs.jsonl").write_text('{"input": "hi", "output": "hello"}\n')
    db = workspace.root / "copy.duckdb"
    db.write_bytes(damaged_dbs[how].read_bytes())
    code, out = cli(*args, "--db", str(db))
    assert "Traceback" not in out and not out.startswith("_duckdb"), out
    # A cut file opens; commands that never reach its missing pages answer as usual.
    assert code in ((3,) if how == "random bytes" or args[0] in READERS else (0, 3, 4, 5)), out
    if code == 3:
        assert f"{db}" in out.replace("\n", "") and "damaged" in out, out


def test_a_jsonl_row_nested_5000_deep_is_a_located_error(workspace: Workspace, cli: CLI) -> None:
    deep = "[" * 5000 + "]" * 5000
    (workspace.root / "suites" / "rows.jsonl").write_text(
        '{"question": "ok"}\n{"question": "x", "extra": ' + deep + "}\n"
    )
    (workspace.root / "suites" / "support.yaml").write_text(
        "name: support\ncases_from: [rows.jsonl]\ndefaults:\n  graders: [{type: contains, "
        "value: x}]\n"
    )
    workspace.plan(PYTHON_TARGET)
    for command in ("validate", "run"):
        code, out = cli(command)
        assert code == 4, out
        assert "rows.jsonl:2" in out and "nested" in out, out


def test_a_huge_run_offset_is_a_usage_error(workspace: Workspace, cli: CLI) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    for ref in ("latest~99999999999999999999999", "latest~999"):
        code, out = cli("show", ref)
        assert code == 4, out
        assert "Traceback" not in out and "run" in out


def test_report_out_naming_a_directory_is_a_usage_error(workspace: Workspace, cli: CLI) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    (workspace.root / "reports").mkdir(exist_ok=True)
    code, out = cli("report", "latest", "--out", "reports")
    assert code == 4, out
    assert "is a directory" in out and "reports" in out


def test_an_out_path_of_the_wrong_kind_is_a_usage_error_for_every_writer(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for flag in ("--junit", "--json", "--markdown"):  # a folder where a file goes
        code, out = cli("compare", "latest", "latest", flag, str(folder))
        assert code == 4, out
        assert "a-folder" in out and "is a folder" in out and "Traceback" not in out
    code, out = cli("report", "latest", "--out", str(a_file / "r.html"))  # a file as a folder
    assert code == 4, out
    assert "a-file" in out and "File exists" not in out and "Traceback" not in out


def test_running_out_of_duckdb_memory_is_a_clean_error(
    workspace: Workspace, cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Under a cap too small for the query, the message says how to raise it (exit 3)."""
    cases = "".join(f"  - {{id: c{i:03d}, vars: {{q: x}}}}\n" for i in range(300))
    (workspace.root / "suites" / "support.yaml").write_text(
        f"name: support\ndefaults:\n  graders: [{{type: length, max: 10}}]\ncases:\n{cases}"
    )
    (workspace.root / "big.py").write_text(
        "def answer(case):\n    return (case.id * 20000)[:100000]\n"
    )
    workspace.plan("  - id: local\n    provider: python\n    function: big.py:answer\n")
    assert cli("run")[0] == 1
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "2MB")
    code, out = cli("report", "latest", "--out", str(tmp_path / "r.html"))
    assert code == 3, out
    assert "ran out of memory" in out and "EVALKIT_DB_MEMORY_LIMIT" in out, out
