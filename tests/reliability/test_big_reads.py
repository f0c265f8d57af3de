"""Reading a run of long outputs: the report embeds a bounded preview of each with the
command that prints the rest, and exports stream in batches yet give every output back
whole. (Peak memory is measured by tests/benchmarks/bench_memory.py --read.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.cli.conftest import Workspace

CLI = Callable[..., tuple[int, str]]
TRIALS = 100
SIZE = 100 * 1024  # 100 trials x 100 KB: more than one export batch (8 MB each)

SYSTEM = f"""
import hashlib

def answer(case):
    seed = hashlib.sha256(case.id.encode()).hexdigest()
    return (seed * ({SIZE} // 64 + 1))[:{SIZE}]
"""


def expected_output(case_id: str) -> str:
    import hashlib

    seed = hashlib.sha256(case_id.encode()).hexdigest()
    return (seed * (SIZE // 64 + 1))[:SIZE]


@pytest.fixture
def big_run(workspace: Workspace, cli: CLI) -> str:
    cases = "".join(f"  - {{id: c{i:03d}, vars: {{q: x}}}}\n" for i in range(TRIALS))
    (workspace.root / "suites" / "support.yaml").write_text(
        f"name: support\ndefaults:\n  graders: [{{type: length, max: 1000}}]\ncases:\n{cases}"
    )
    (workspace.root / "big.py").write_text(SYSTEM)
    workspace.plan("  - id: local\n    provider: python\n    function: big.py:answer\n")
    code, out = cli("run")
    assert code == 1, out  # every output is over the length limit: all fail
    ((run_id,),) = workspace.sql("SELECT run_id FROM runs")
    return str(run_id)


def test_the_report_embeds_a_bounded_preview_and_the_command_for_the_rest(
    workspace: Workspace, cli: CLI, big_run: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    code, out = cli("report", "latest", "--out", str(page))
    assert code == 0, out
    # 100 outputs of 100 KB: 10 MB whole; previews of 4,000 characters keep it small
    assert page.stat().st_size < 1_000_000, page.stat().st_size
    html = page.read_text()
    assert (
        f"more characters: evalkit show {big_run} --trial &#39;support/c007@local#0&#39;" in (html)
        or f"more characters: evalkit show {big_run} --trial 'support/c007@local#0'" in html
    )
    assert expected_output("c007")[:4000] in html and expected_output("c007") not in html

    code, out = cli("show", big_run, "--trial", "support/c007@local#0")
    assert code == 0
    assert out.rstrip("\n") == expected_output("c007")
    code, out = cli("show", big_run, "--trial", "support/nope@local#0")
    assert code == 4 and "has no trial" in out


@pytest.mark.parametrize(
    ("fmt", "reader"),
    [("csv", "read_csv(?, all_varchar=true)"), ("jsonl", "read_json(?)"),
     ("parquet", "read_parquet(?)")],
)  # fmt: skip
def test_exports_give_every_long_output_back_whole(
    workspace: Workspace, cli: CLI, big_run: str, tmp_path: Path, fmt: str, reader: str
) -> None:
    out = tmp_path / f"trials.{fmt}"
    code, text = cli("export", "--format", fmt, "--out", str(out))
    assert code == 0, text
    rows = duckdb.connect().execute(f"SELECT case_id, output FROM {reader}", [str(out)]).fetchall()
    assert len(rows) == TRIALS and len({case for case, _ in rows}) == TRIALS
    for case, output in rows:
        assert output == expected_output(str(case))
