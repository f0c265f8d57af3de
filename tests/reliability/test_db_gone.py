"""The database file deleted or replaced during a run: the run fails loudly (exit 3)
and says how many results were lost, instead of reporting success into a file that is
gone."""

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
    ("how", "workers"), [("deleted", "1"), ("replaced", "1"), ("deleted", "2")]
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
    if how == "replaced":
        duckdb.connect(str(other)).close()
    proc = start_cli(workspace.root, "run", "--workers", workers)
    deadline = time.monotonic() + 60
    while not workspace.db.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # a few batches committed
    assert proc.poll() is None, "the run ended before the file could be removed"
    wal = workspace.db.with_name(workspace.db.name + ".wal")
    workspace.db.unlink()
    wal.unlink(missing_ok=True)
    if how == "replaced":
        shutil.copy(other, workspace.db)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out
    assert f"was {'deleted' if how == 'deleted' else 'replaced by another file'}" in out
    assert "results of this run were lost" in out
    assert "2000 passed" not in out
