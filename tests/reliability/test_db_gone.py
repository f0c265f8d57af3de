"""The database file deleted, replaced, emptied or overwritten in place during a run:
the run fails loudly (exit 3) and says how many results were lost, instead of reporting
success into a file that is gone."""

from __future__ import annotations

import shutil
import time

import duckdb
import pytest

from tests.cli.conftest import Workspace
from tests.harness import many_cases, start_cli

TRIALS = 2000
SLOW = "import time\n\ndef answer(case):\n    time.sleep(0.004)\n    return 'a reply'\n"


@pytest.mark.parametrize(
    ("how", "workers"),
    [
        ("deleted", "1"),
        ("replaced", "1"),
        ("deleted", "2"),
        ("truncated", "1"),  # `: > evalkit.duckdb`: same inode, nothing in it
        ("copied over", "1"),  # `cp other.duckdb evalkit.duckdb`: same inode, another db
    ],
)
def test_the_writer_notices_its_database_file_is_gone(
    workspace: Workspace, how: str, workers: str
) -> None:
    """In one process and with worker processes (whose results the parent writes)."""
    (workspace.root / "suites" / "support.yaml").write_text(many_cases(TRIALS))
    (workspace.root / "slow.py").write_text(SLOW)
    workspace.plan(
        "  - id: local\n    provider: python\n    function: slow.py:answer\n",
        extra="concurrency: 4\n",
    )
    other = workspace.root / "other.duckdb"
    if how in ("replaced", "copied over"):
        duckdb.connect(str(other)).close()
    wal = workspace.db.with_name(workspace.db.name + ".wal")
    if how == "copied over":
        # A database with a history (checkpointed at least once): a freshly created one
        # is byte for byte the empty file copied over it, and nothing would be lost.
        first = start_cli(workspace.root, "run", "--workers", workers)
        out, _ = first.communicate(timeout=120)
        assert first.returncode == 0, out
        assert not wal.exists()
    proc = start_cli(workspace.root, "run", "--workers", workers)
    deadline = time.monotonic() + 60
    while not (workspace.db.exists() and wal.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # a few batches committed
    assert proc.poll() is None, "the run ended before the file could be removed"
    inode = workspace.db.stat().st_ino
    if how == "truncated":
        workspace.db.open("wb").close()
    elif how == "copied over":
        shutil.copyfile(other, workspace.db)  # writes into the existing file, as cp does
    else:
        workspace.db.unlink()
        wal.unlink(missing_ok=True)
    if how == "replaced":
        shutil.copy(other, workspace.db)
    if how in ("truncated", "copied over"):
        assert workspace.db.stat().st_ino == inode  # the (device, inode) check can't see it
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out
    said = {
        "deleted": "was deleted",
        "replaced": "was replaced by another file",
        "truncated": "was truncated or overwritten",
        "copied over": "overwritten",
    }
    assert said[how] in out
    assert "results of this run were lost" in out
    assert "2000 passed" not in out
