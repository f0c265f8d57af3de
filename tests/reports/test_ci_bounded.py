"""The CI reports (`--junit`, `--markdown`, `--json`) of a run of long outputs and long
grader reasons stay small and are written without holding the run's text: each output,
error and reason is a bounded preview, the store keeps the whole."""

from __future__ import annotations

import json
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalkit.reports import ci
from evalkit.reports.data import load
from evalkit.store.ci_rows import CI_TEXT, trial_report_rows
from evalkit.store.db import Store
from tests.reports.long_runs import RUN, build

TRIALS = 2_000
OUTPUT = 100 * 1024  # 200 MB of output in all, stored in parts
REASON = 20_000


def output_of(i: int) -> str:
    return (f"out{i:05d} " + "lorem ipsum " * (OUTPUT // 12 + 1))[:OUTPUT]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("ci") / "runs.duckdb", TRIALS, output_of, REASON)


def test_junit_markdown_and_json_stay_small(db: Path, tmp_path: Path) -> None:
    junit, md, js = tmp_path / "junit.xml", tmp_path / "summary.md", tmp_path / "run.json"
    with Store.open(db, read_only=True) as store:
        tracemalloc.start()
        try:
            ci.write(load(store.con, RUN), junit_path=junit, markdown_path=md, json_path=js)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # whole, the outputs are 200 MB and the reasons 40 MB: all of it was read into Python
    assert peak < 8_000_000, peak
    # at most CI_TEXT characters of output and of each reason per trial (JUnit: and 500
    # of the failure's one-line message), and the rest
    assert junit.stat().st_size < TRIALS * (2 * CI_TEXT + 1_500), junit.stat().st_size
    assert js.stat().st_size < TRIALS * (2 * CI_TEXT + 1_000), js.stat().st_size
    assert md.stat().st_size < 10_000

    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == (str(TRIALS), str(TRIALS))
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == (str(TRIALS), str(TRIALS))
    case = suite.findall("testcase")[7]
    assert case.get("name") == "c00007#0"
    failure = case.find("failure")
    assert failure is not None and (failure.get("message") or "").startswith("length: why00007 ")
    out = case.findtext("system-out") or ""
    more = OUTPUT - CI_TEXT
    assert out == (
        output_of(7)[:CI_TEXT]
        + f"… [{more:,} more characters: evalkit show {RUN} --trial 's/c00007@t#0']"
    )

    data = json.loads(js.read_text())
    assert data["schema_version"] == 2
    assert len(data["trials"]) == TRIALS
    trial = data["trials"][7]
    assert trial["output"] == output_of(7)[:CI_TEXT] and trial["output_chars"] == OUTPUT
    (reason,) = trial["reasons"]
    assert reason == "length: " + (f"why00007 {'x' * REASON}")[:CI_TEXT]


def test_trials_are_read_in_batches(db: Path) -> None:
    with Store.open(db, read_only=True) as store:
        rows = trial_report_rows(store.con, RUN, 50, batch_rows=10)
        first = [next(rows) for _ in range(3)]
        rest = list(rows)
    assert len(first) + len(rest) == TRIALS
    assert all(len(row["output"]) == 50 and row["output_chars"] == OUTPUT for row in rest)
