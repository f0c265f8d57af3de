"""A grader never hangs a run: regex searches have a time budget, and a second Ctrl-C
stops the process at once whatever is stuck (a backtracking regex, a spinning grader,
a target function that never returns)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from evalkit.graders.rules.safe_regex import RegexTimeout, compile_pattern
from tests.cli.conftest import Workspace
from tests.harness import finish, start_cli

CLI = Callable[..., tuple[int, str]]

EVIL = "a" * 34 + "!"  # `^(a+)+$` backtracks 2**34 times on it in Python's `re`

SUITE = f"""\
name: support
cases:
  - id: evil
    vars: {{question: "{EVIL}"}}
    graders: [{{type: regex, value: '^(a+)+$'}}]
  - id: evil-backref
    vars: {{question: "{EVIL}"}}
    graders: [{{type: regex, value: '^(a+)+\\1$'}}]
  - id: evil-unicode
    vars: {{question: "{EVIL}é"}}
    graders: [{{type: regex, value: '^(a+)+$'}}]
  - id: fine
    vars: {{question: "order 1234"}}
    graders: [{{type: regex, value: '\\d{{4}}'}}, {{type: json-field, path: a, matches: 'x'}}]
"""

ECHO = "  - id: local\n    provider: python\n    function: echo.py:answer\n"


def _grades(workspace: Workspace) -> dict[str, str]:
    """'case:grader' -> 'status reason' of every grade the run recorded."""
    rows = workspace.sql(
        "SELECT r.case_id || ':' || g.grader, g.status || ' ' || g.reason FROM grades g "
        "JOIN results r USING (run_id, trial_id)"
    )
    return {str(key): str(value) for key, value in rows}


def test_a_catastrophic_regex_is_an_error_grade_within_the_budget(
    workspace: Workspace, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALKIT_REGEX_BUDGET", "0.5")
    (workspace.root / "suites" / "support.yaml").write_text(SUITE)
    (workspace.root / "echo.py").write_text("def answer(case):\n    return case.vars['question']\n")
    workspace.plan(ECHO, extra="timeout: 5\n")
    started = time.monotonic()
    code, out = cli("run")
    assert time.monotonic() - started < 20, "a regex outran the run's budget"
    assert code == 1, out
    grades = _grades(workspace)
    # RE2 answers what it can answer exactly, in linear time: a plain fail.
    assert str(grades["evil:regex"]).startswith("fail no match for /^(a+)+$/")
    # A backreference, or non-ASCII text, leave RE2 out: the budgeted worker gives up.
    for case in ("evil-backref", "evil-unicode"):
        status, _, reason = str(grades[f"{case}:regex"]).partition(" ")
        assert status == "error", grades
        assert "0.5 s budget" in reason and "catastrophic backtracking" in reason
    assert str(grades["fine:regex"]).startswith("pass matched '1234'")
    assert workspace.sql("SELECT status FROM runs") == [("completed",)]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\d+", "x ١٢٣ 45", "١٢٣"),  # Unicode digits, as `re` finds them
        (r"abc$", "abc\n", "abc"),  # `$` before a final newline
        (r"(\w)\1", "hello", "ll"),  # a backreference
        (r"colou?r", "The colour", "colour"),
        (r"(?<=\$)\d+", "cost $42", "42"),
        (r"a{,2}b", "aaab", "aab"),
    ],
)
def test_budgeted_searches_agree_with_python_re(pattern: str, text: str, expected: str) -> None:
    found = compile_pattern(pattern).search(text)
    assert found is not None and found.text == expected
    import re

    match = re.search(pattern, text)
    assert match is not None and found.start == match.start()


def test_the_worker_recovers_after_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALKIT_REGEX_BUDGET", "0.3")
    with pytest.raises(RegexTimeout):
        compile_pattern(r"^(a+)+\1$").search(EVIL)
    found = compile_pattern(r"(a)\1").search("baab")
    assert found is not None and found.start == 1


SPIN_GRADER = """\
from evalkit.graders.base import grader

@grader("spin")
def spin(output, case, params):
    open("stuck.flag", "w").close()
    while True:
        pass
"""

STUCK_TARGET = """\
import time

def answer(case):
    if case.id == "stuck":
        open("stuck.flag", "w").close()
        while True:
            time.sleep(1)
    return "fine"
"""


@pytest.mark.parametrize("stuck", ["grader", "target"])
def test_a_second_ctrl_c_stops_at_once_whatever_is_stuck(workspace: Workspace, stuck: str) -> None:
    root = workspace.root
    (root / "graders").mkdir()
    (root / "graders" / "spin.py").write_text(SPIN_GRADER)
    (root / "stuck.py").write_text(STUCK_TARGET)
    grader = "{type: spin}" if stuck == "grader" else "{type: icontains, value: fine}"
    (root / "suites" / "support.yaml").write_text(
        f"name: support\ncases:\n  - {{id: stuck, vars: {{q: x}}, graders: [{grader}]}}\n"
    )
    workspace.plan(
        "  - id: local\n    provider: python\n    function: stuck.py:answer\n",
        extra="timeout: 600\n",
    )
    proc = start_cli(root, "run")
    deadline = time.monotonic() + 120
    while not (root / "stuck.flag").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.1)
    time.sleep(0.5)  # well into the stuck call
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    time.sleep(1)
    assert proc.poll() is None  # the first Ctrl-C waits for the trial in flight
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    out = finish(proc, 15, "the second Ctrl-C did not stop the run")
    assert time.monotonic() - started < 10
    assert proc.returncode == 2, out


# In-process runs leave an abandoned grader thread behind in the test process: these
# spin until the test lets them go, so they never slow the tests that follow.
HELD_SPIN_GRADER = """\
import os
from evalkit.graders.base import grader

@grader("spin")
def spin(output, case, params):
    while not os.path.exists(os.environ["RELEASE_FLAG"]):
        pass
"""

LOOPING_CHECK = """\
import os

def check(output, case, args):
    while not os.path.exists(os.environ["RELEASE_FLAG"]):
        pass
"""


def test_a_grader_of_the_users_that_never_returns_is_an_error_grade_within_its_budget(
    workspace: Workspace, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a workspace grader and a `python` grader's function, both looping forever: each is
    # user code, so each gets the budget; the built-in grader beside them is unaffected
    monkeypatch.setenv("EVALKIT_GRADER_BUDGET", "0.5")
    root = workspace.root
    release = root.parent / "release.flag"
    monkeypatch.setenv("RELEASE_FLAG", str(release))
    (root / "graders").mkdir()
    (root / "graders" / "spin.py").write_text(HELD_SPIN_GRADER)
    (root / "loops.py").write_text(LOOPING_CHECK)
    (root / "echo.py").write_text("def answer(case):\n    return case.vars['question']\n")
    (root / "suites" / "support.yaml").write_text(
        "name: support\ncases:\n"
        "  - {id: spins, vars: {question: a},\n"
        "     graders: [{type: spin}, {type: icontains, value: a}]}\n"
        "  - {id: loops, vars: {question: b}, graders: [{type: python, value: 'loops.py:check'}]}\n"
        "  - {id: fine, vars: {question: c}, graders: [{type: icontains, value: c}]}\n"
    )
    workspace.plan(ECHO, extra="timeout: 5\n")
    started = time.monotonic()
    try:
        code, out = cli("run")
    finally:
        release.touch()  # the abandoned threads end; they are daemons, never joined
    assert time.monotonic() - started < 30, "a looping grader held the run"
    assert code == 1, out
    grades = _grades(workspace)
    for name in ("spins:spin", "loops:python"):
        status, _, reason = str(grades[name]).partition(" ")
        assert status == "error", grades
        assert "0.5 s budget" in reason and "EVALKIT_GRADER_BUDGET" in reason
    assert str(grades["spins:icontains"]).startswith("pass")
    assert str(grades["fine:icontains"]).startswith("pass")
    assert workspace.sql("SELECT status FROM runs") == [("completed",)]
    assert workspace.sql("SELECT count(*) FROM results") == [(3,)]


def test_sigterm_drains_a_run_whose_grader_spins(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI cancels with one SIGTERM: the spinning grader must not keep the drain (and the
    # job) waiting forever; its trial is saved as an error once the budget is spent
    monkeypatch.setenv("EVALKIT_GRADER_BUDGET", "2")
    root = workspace.root
    (root / "graders").mkdir()
    (root / "graders" / "spin.py").write_text(SPIN_GRADER)
    (root / "echo.py").write_text("def answer(case):\n    return case.vars['question']\n")
    cases = "".join(
        f"  - {{id: q{i}, vars: {{question: q{i}}}, graders: [{{type: icontains, value: q}}]}}\n"
        for i in range(5)
    )
    (root / "suites" / "support.yaml").write_text(
        f"name: support\ncases:\n{cases}  - {{id: stuck, vars: {{question: s}}, "
        "graders: [{type: spin}]}\n"
    )
    workspace.plan(ECHO, extra="timeout: 600\nconcurrency: 1\n")
    proc = start_cli(root, "run")
    deadline = time.monotonic() + 120
    while not (root / "stuck.flag").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out = finish(proc, 60, "one SIGTERM could not drain a run whose grader spins")
    assert proc.returncode in (1, 2), out  # 2 when the drain cut planned trials short
    rows = dict(workspace.sql("SELECT case_id, status FROM results"))
    assert rows.get("stuck") == "error", rows
    assert workspace.sql("SELECT status FROM runs")[0][0] in ("interrupted", "completed")


# 2**26 steps of backtracking: about 15 s in Python's `re`, far past a 0.3 s budget. The
# "é" keeps RE2 out (its \w and case folding are ASCII), so the budgeted worker runs it.
SLOW = "a" * 26 + "!é"
BACKTRACKS = "^(a+)+$"


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"properties": {"f": {"type": "string", "pattern": BACKTRACKS}}}, {"f": SLOW}),
        ({"patternProperties": {BACKTRACKS: {"type": "string"}}}, {SLOW: "x"}),
        ({"patternProperties": {BACKTRACKS: {}}, "additionalProperties": False}, {SLOW: 1}),
        (
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "patternProperties": {BACKTRACKS: {}},
                "unevaluatedProperties": False,
            },
            {SLOW: 1},
        ),
        ({"propertyNames": {"pattern": BACKTRACKS}}, {SLOW: 1}),
        (
            {
                "$schema": "http://json-schema.org/draft-03/schema#",
                "patternProperties": {BACKTRACKS: {}},
            },
            {SLOW: 1},
        ),
    ],
)
def test_json_schema_patterns_search_within_the_regex_budget(
    monkeypatch: pytest.MonkeyPatch, schema: dict[str, object], instance: dict[str, object]
) -> None:
    from evalkit.graders.rules.structured import compile_schema, schema_problems

    monkeypatch.setenv("EVALKIT_REGEX_BUDGET", "0.3")
    validator = compile_schema(schema)
    started = time.monotonic()
    with pytest.raises(RegexTimeout):
        schema_problems(validator, instance)
    assert time.monotonic() - started < 5


def test_json_schema_patterns_keep_their_verdicts() -> None:
    from evalkit.graders.rules.structured import compile_schema, schema_problems

    validator = compile_schema(
        {
            "properties": {"sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d+$"}},
            "patternProperties": {"^x-": {"type": "integer"}},
            "additionalProperties": False,
        }
    )
    assert schema_problems(validator, {"sku": "ABC-12", "x-count": 3}) is None
    problems = schema_problems(validator, {"sku": "abc-12", "x-count": "3", "other": 1})
    assert problems is not None
    for found in (
        "'abc-12' does not match",
        "$['x-count']",
        "'other' does not match any of the regexes",
    ):
        assert found in problems, problems


def test_a_judge_verdict_schema_pattern_searches_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evalkit.graders.judge.verdict import parse_verdict
    from evalkit.records import TargetOutput

    monkeypatch.setenv("EVALKIT_REGEX_BUDGET", "0.3")
    schema = {"type": "object", "properties": {"reason": {"type": "string", "pattern": BACKTRACKS}}}
    with pytest.raises(RegexTimeout):
        parse_verdict(TargetOutput(text=f'{{"reason": "{SLOW}"}}'), schema)


async def test_injection_followed_pattern_searches_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import evalkit.graders.security  # noqa: F401  (registers the detectors)
    from tests.graders.grading import grade

    monkeypatch.setenv("EVALKIT_REGEX_BUDGET", "0.3")
    started = time.monotonic()
    got = await grade("injection-followed", SLOW, pattern=BACKTRACKS, negate=True)
    assert got.status == "error" and "budget" in got.reason, got
    assert time.monotonic() - started < 5
