"""End to end: runs against the fake server, then `evalkit compare`, baselines and the gate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import PYTHON_TARGET, Workspace, anthropic_target

Cli = Callable[..., tuple[int, str]]
CASES = 30


def _suite(cases: int = CASES, *, expected: dict[int, str] | None = None, skip: int = -1) -> str:
    lines = ["name: qa", "cases:"]
    for i in range(cases):
        if i == skip:
            continue
        answer = (expected or {}).get(i, f"answer-{i:02d}")
        lines += [
            f"  - id: q{i:02d}",
            f"    vars: {{question: 'case [q{i:02d}]'}}",
            f"    expected: {answer}",
            "    graders: [{type: icontains}]",
        ]
    return "\n".join(lines) + "\n"


def _script(ws: Workspace, wrong: set[int]) -> None:
    ws.server.script(
        *[
            {"match": f"[q{i:02d}]", "reply": "no idea" if i in wrong else f"It is answer-{i:02d}."}
            for i in range(CASES)
        ]
    )


def _setup(ws: Workspace, gate: str) -> None:
    (ws.root / "suites" / "support.yaml").unlink()
    (ws.root / "suites" / "qa.yaml").write_text(_suite())
    ws.plan(anthropic_target(ws.server, "bot"), extra=f"cache: false\ngate: {gate}\n")


REGRESSED = {3, 8, 11, 14, 17, 21, 24, 27}


def test_compare_names_exactly_the_regressed_cases_and_the_gate_fails(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    _setup(workspace, "{min_pass_rate: 0.5, max_regressions: 0, max_drop: 0.05}")
    _script(workspace, wrong=set())
    assert cli("run")[0] == 0
    code, out = cli("baseline", "set", "latest", "--name", "main")
    assert code == 0, out
    _script(workspace, wrong=REGRESSED)
    # without --gate the plan's min_pass_rate decides, as before: 22/30 is above 50%
    assert cli("run")[0] == 0

    junit, md, js = tmp_path / "j.xml", tmp_path / "c.md", tmp_path / "c.json"
    code, out = cli(
        "compare", "--gate", "--junit", str(junit), "--markdown", str(md), "--json", str(js)
    )
    assert code == 1, out
    expected = sorted(f"qa/q{i:02d}@bot[plain]" for i in REGRESSED)
    data = json.loads(js.read_text())
    assert data["comparison"]["regressions"] == expected
    assert data["comparison"]["fixes"] == []
    assert "baseline 'main'" in out
    for name in expected:
        assert name in out
    # each listed regression says why it fails now: its failing grade in the candidate
    assert "qa/q03@bot[plain]: icontains" in out
    reasons = data["gate"]["reasons"]
    assert len(reasons) == 2
    # 8 of 30 cases regressed and none fixed: beyond what noise explains (McNemar)
    assert reasons[0].startswith("qa x bot[plain]: 8 cases regressed and 0 fixed")
    assert "beyond noise, more than the gate's max_regressions 0" in reasons[0]
    assert "significant drop beyond the gate's max_drop 0.05" in reasons[1]
    for reason in reasons:
        assert reason in out.replace("\n", " ") or reason[:60] in out
    pass_row = data["comparison"]["groups"][0]["metrics"][0]
    assert pass_row["metric"] == "pass"
    assert pass_row["verdict"] == "significant regression"
    assert pass_row["paired"]["difference"] == -len(REGRESSED) / CASES
    assert (pass_row["regressed"], pass_row["fixed"]) == (len(REGRESSED), 0)

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    testcases = root.findall("./testsuite/testcase")
    assert len(testcases) == CASES + 1  # one per trial, plus the gate
    failed = {tc.get("name") for tc in testcases if tc.find("failure") is not None}
    assert failed == {f"q{i:02d}#0" for i in REGRESSED} | {"gate"}
    failure = next(tc for tc in testcases if tc.get("name") == "q03#0").find("failure")
    assert failure is not None and "icontains" in (failure.text or "")
    assert "regressed" in (failure.text or "")
    assert root.get("tests") == str(CASES + 1) and root.get("failures") == str(len(REGRESSED) + 1)
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))

    summary = md.read_text()
    assert summary.startswith("### evalkit: ❌ gate failed")
    assert "significant regression" in summary
    assert "qa/q03@bot[plain]" in summary

    # `run --gate` applies the same rules against the same baseline
    code, out = cli("run", "--gate")
    assert code == 1, out
    assert "8 cases regressed" in out


NOISE_BASE_WRONG = {0, 1, 2, 3, 9}
NOISE_CAND_WRONG = {2, 3, 9, 4, 5}  # 0, 1 fixed; 4, 5 regressed: same pass rate


def test_a_noise_pair_of_runs_does_not_fail_the_gate(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{max_drop: 0.0}")
    _script(workspace, wrong=NOISE_BASE_WRONG)
    assert cli("run")[0] == 1  # no rate rule: failures decide, as before
    _script(workspace, wrong=NOISE_CAND_WRONG)
    cli("run")
    code, out = cli("compare", "latest~1", "latest", "--gate", "--json", "n.json")
    assert code == 0, out
    data = json.loads((workspace.root / "n.json").read_text())
    assert data["gate"]["passed"] is True
    assert data["comparison"]["regressions"] == ["qa/q04@bot[plain]", "qa/q05@bot[plain]"]
    assert data["comparison"]["fixes"] == ["qa/q00@bot[plain]", "qa/q01@bot[plain]"]
    verdicts = {m["metric"]: m["verdict"] for m in data["comparison"]["groups"][0]["metrics"]}
    # 4 flips: even 4 of 4 one way would give McNemar p = 0.125, so nothing can be told
    assert verdicts["pass"] == "too few to tell"


def test_added_removed_and_edited_cases_are_listed_apart(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{min_pass_rate: 0.1}")
    _script(workspace, wrong=set())
    cli("run")
    # q05 removed, q06's expected answer edited (wrong now), q30 added
    suite = _suite(CASES, expected={6: "something else"}, skip=5)
    suite += (
        "  - id: q30\n    vars: {question: 'case [q30]'}\n    graders: [{type: length, min: 1}]\n"
    )
    (workspace.root / "suites" / "qa.yaml").write_text(suite)
    cli("run")
    code, out = cli("compare", "--json", "x.json")
    assert code == 0, out
    comparison = json.loads((workspace.root / "x.json").read_text())["comparison"]
    assert comparison["added"] == ["qa/q30"]
    assert comparison["removed"] == ["qa/q05"]
    assert comparison["changed_content"] == ["qa/q06"]
    assert comparison["regressions"] == []  # q06 now fails, but it is not the same case
    assert len(comparison["cases"]) == CASES - 2
    assert "no baseline set for plan 'support'" in out


def test_a_label_baseline_follows_the_newest_main_run(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{max_regressions: 0}")
    _script(workspace, wrong={1})
    cli("run", "--label", "branch=main")
    _script(workspace, wrong=set())
    cli("run", "--label", "branch=main")
    main_run = workspace.sql("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
    assert cli("baseline", "set", "--label", "branch=main", "--name", "main")[0] == 0
    code, out = cli("baseline", "list")
    assert "newest run labelled branch=main" in out
    _script(workspace, wrong={2})
    cli("run", "--label", "branch=feature")
    code, out = cli("compare", "--gate")
    # one case that flipped is what noise does: max_regressions counts flips beyond it
    assert code == 0, out
    assert f"-> {main_run}" in out
    assert "qa/q02@bot[plain]" in out and "gate passed" in out
    # a named baseline that does not exist is a usage error, not a silent fallback
    code, out = cli("compare", "nightly-that-is-not-there")
    assert code == 4


def test_power_reports_cases_needed_and_the_run_summary_shows_the_detectable_drop(
    workspace: Workspace, cli: Cli
) -> None:
    _setup(workspace, "{min_pass_rate: 0.1}")
    _script(workspace, wrong={0, 1, 2, 3, 4, 5})
    code, out = cli("run")
    assert "smallest detectable drop in pass rate" in out
    code, out = cli("stats", "power", "--drop", "0.1")
    assert code == 0, out
    from evalkit.analysis.power import difference_sd_from_run
    from evalkit.analysis.stats import cases_needed, detectable_effect

    values = [0.0] * 6 + [1.0] * 24
    sd = difference_sd_from_run(values)
    assert f"{detectable_effect(30, sd):.1%}" in out
    assert str(int(-(-cases_needed(0.1, sd) // 1))) in out
    code, out = cli("show", "latest")
    assert "smallest detectable drop" in out


def test_a_gate_value_out_of_range_points_at_the_plan_line(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{min_pass_rate: 1.5}")
    code, out = cli("validate")
    assert code == 4
    assert "evals/plan.yaml:" in out and "gate.min_pass_rate" in out


def test_run_gate_without_gate_rules_is_a_usage_error(workspace: Workspace, cli: Cli) -> None:
    (workspace.root / "suites" / "support.yaml").unlink()
    (workspace.root / "suites" / "qa.yaml").write_text(_suite(3))
    workspace.plan(anthropic_target(workspace.server, "bot"))
    code, out = cli("run", "--gate")
    assert code == 4
    assert "has no `gate:` rules" in out


def test_power_against_a_second_run_uses_the_observed_pairs(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{min_pass_rate: 0.1}")
    _script(workspace, wrong={0, 1})
    cli("run", "--epochs", "2")
    _script(workspace, wrong={1, 2, 3})
    cli("run", "--epochs", "2")
    code, out = cli("stats", "power", "latest", "--against", "latest~1", "--drop", "0.1")
    assert code == 0, out
    assert "from the paired differences between runs" in out
    from evalkit.analysis.stats import detectable_effect, paired_difference

    base = [0.0 if i in {0, 1} else 1.0 for i in range(CASES)]
    cand = [0.0 if i in {1, 2, 3} else 1.0 for i in range(CASES)]
    paired = paired_difference(base, cand)
    assert f"{detectable_effect(CASES, paired.stderr * CASES**0.5):.1%}" in out
    # two epochs per case: the comparison reports them, and deterministic replies
    # make no case flaky
    code, out = cli("compare", "--all", "--json", "e.json")
    comparison = json.loads((workspace.root / "e.json").read_text())["comparison"]
    assert comparison["groups"][0]["base_epochs"] == 2
    assert comparison["flaky"] == []
    assert "within-case score variance across epochs" in out


def test_baselines_are_listed_replaced_and_deleted(workspace: Workspace, cli: Cli) -> None:
    _setup(workspace, "{min_pass_rate: 0.1}")
    _script(workspace, wrong=set())
    cli("run")
    cli("run")
    first, second = [r[0] for r in workspace.sql("SELECT run_id FROM runs ORDER BY started_at")]
    assert cli("baseline", "set", first, "--name", "main")[0] == 0
    assert cli("baseline", "set", second, "--name", "main")[0] == 0  # replaces, not adds
    assert workspace.sql("SELECT run_id FROM baselines") == [(second,)]
    code, out = cli("baseline", "list")
    assert code == 0
    assert f"run {second}" in out and first not in out
    assert cli("baseline", "set", "latest", "--label", "branch=main")[0] == 4  # one or other
    assert cli("baseline", "delete", "main")[0] == 0
    assert cli("baseline", "delete", "main")[0] == 4
    assert workspace.sql("SELECT count(*) FROM baselines") == [(0,)]


def test_compare_leads_with_a_verdict_line_and_keeps_the_table_behind_all(
    workspace: Workspace, cli: Cli
) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] in (0, 1)
    (workspace.root / "system.py").write_text(
        "def answer(case):\n    return 'I am not sure.'\n"
    )  # every case now fails: refund regresses
    assert cli("run")[0] == 1
    code, out = cli("compare")
    assert code == 0, out  # no gate: compare reports, it does not fail
    lines = out.splitlines()
    verdicts = [line for line in lines if line.startswith("support x local: ")]
    assert len(verdicts) == 1, out
    assert "pass 0.667 -> 0.000" in verdicts[0] and "2 regressed, 0 fixed" in verdicts[0]
    assert "support/refund@local: icontains: '30 days' not found" in out
    assert "p (test)" not in out  # the metric table waits for --all
    assert "--all" in out
    assert len(lines) < 12, out
    _, full = cli("compare", "--all")
    assert "p (test)" in full


def test_with_epochs_every_interval_is_over_cases_and_says_so(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    _setup(workspace, "{max_drop: 0.02}")
    _script(workspace, wrong=set())
    assert cli("run", "--epochs", "3")[0] == 0
    _script(workspace, wrong=REGRESSED)
    code, out = cli("run", "--epochs", "3")
    # the run table's interval: 30 cases, not 90 independent trials
    assert "pass-rate interval: 95% CI over 30 cases, 3 epochs each" in out.replace("\n", " ")
    md = tmp_path / "c.md"
    code, out = cli("compare", "latest~1", "latest", "--gate", "--markdown", str(md))
    assert code == 1, out
    # 3 epochs: a test on case means (8 differ: exact sign-flip), not McNemar on majority
    # votes; every interval says what it is over
    flat = " ".join(out.split())
    assert "sign-flip" in flat and "McNemar" not in flat
    assert "95% CI over 30 cases, 3 epochs each" in flat
    text = md.read_text()
    assert "95% CI over 30 cases, 3 epochs each" in text
    assert "Pass-rate intervals: 95% CI over 30 cases, 3 epochs each" in text


def test_flaky_cases_come_with_how_many_chance_alone_would_list(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    _setup(workspace, "{max_drop: 0.02}")
    # cases 0-3 answer right and wrong in turn: their 3 epochs disagree within each run
    workspace.server.script(
        *[
            {"match": f"[q{i:02d}]", "replies": [f"It is answer-{i:02d}.", "no idea"]}
            if i < 4
            else {"match": f"[q{i:02d}]", "reply": f"It is answer-{i:02d}."}
            for i in range(CASES)
        ]
    )
    assert cli("run", "--epochs", "3")[0] in (0, 1)
    assert cli("run", "--epochs", "3")[0] in (0, 1)
    md, js = tmp_path / "c.md", tmp_path / "c.json"
    code, out = cli(
        "compare", "latest~1", "latest", "--all", "--markdown", str(md), "--json", str(js)
    )
    assert code == 0, out
    comparison = json.loads(js.read_text())["comparison"]
    assert len(comparison["flaky"]) == 8  # 4 cases in each run
    note = comparison["flaky_note"]
    assert note.startswith("8 listed; about ") and "would be by chance alone" in note
    assert comparison["flaky_by_chance"] > 0
    # one wording, computed once, on every screen
    assert f"flaky: {note}" in " ".join(out.split())
    assert f"Flaky: {note}." in md.read_text()
    page = tmp_path / "c.html"
    code, out = cli("report", "--compare", "latest~1", "latest", "--out", str(page))
    assert code == 0, out
    assert f"{note}." in page.read_text()
