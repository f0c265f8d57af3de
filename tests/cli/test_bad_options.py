"""Numbers and paths on the command line that cannot work: a usage error or a clean
message, never a traceback (which exits 1, the code CI reads as "the evals failed")."""

from __future__ import annotations

import pytest

from tests.cli.conftest import PYTHON_TARGET, Workspace
from tests.harness import Cli

HUGE = "9" * 23  # past DuckDB's BIGINT: once a ConversionException deep in a query


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--limit", HUGE],
        ["show", "latest", "--failures", HUGE],
        ["show", "latest", "--failures", "-3"],
        ["compare", "latest", "latest", "--cases", "-1"],
        ["trend", "--window", HUGE],
        ["trend", "--last", HUGE],
        ["security", "report", "--worst", "-2"],
        ["review", "--sample", HUGE],
        ["review", "--sample", "3", "--seed", HUGE],
        ["run", "--limit", HUGE],
        ["run", "--concurrency", HUGE],
    ],
)
def test_a_number_out_of_range_is_a_usage_error(
    workspace: Workspace, cli: Cli, args: list[str]
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    code, out = cli(*args)
    assert code == 4, out
    assert "Invalid value for" in out and "Traceback" not in out


def test_a_report_or_export_that_cannot_be_written_says_where_and_why(
    workspace: Workspace, cli: Cli
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    (workspace.root / "notes.txt").write_text("a file, not a folder")
    for args in (
        ["report", "latest", "--out", "notes.txt/report.html"],
        ["export", "--format", "csv", "--out", "notes.txt/trials.csv"],
    ):
        code, out = cli(*args)
        assert code == 4, out  # the path given is wrong, as `--out DIR` is: a usage error
        assert "notes.txt" in out and "is a file, where the path needs a folder" in out
        assert "Traceback" not in out
