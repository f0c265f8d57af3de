"""pairwise `against:` another target's output on the same case: prompt A vs prompt B."""

from __future__ import annotations

import json
import textwrap

from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict

SECOND_SYSTEM = """\
def answer(case):
    return "new: " + case.vars["answer"]
"""


def _cases(ids: list[str], graders: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        {"id": cid, "vars": {"question": f"Q-{cid}?", "answer": f"A-{cid}"}, "graders": graders}
        for cid in ids
    ]


def test_a_target_is_judged_against_another_targets_output(ws: JudgeWorkspace, cli: Cli) -> None:
    (ws.root / "system2.py").write_text(SECOND_SYSTEM)
    ws.suite(_cases(["one", "two"], [{"type": "pairwise", "against": "sut"}]))
    ws.plan(extra="  - id: new\n    provider: python\n    function: system2.py:answer\n")
    ws.server.script(
        # "new" wins as A and as B for case one; the old output wins both orders for two
        {"match": "Q-one", "replies": [verdict(winner="A"), verdict(winner="B")]},
        {"match": "Q-two", "replies": [verdict(winner="B"), verdict(winner="A")]},
    )
    code, out = cli("run")
    rows = ws.sql(
        "SELECT r.target_id, r.case_id, g.status, g.score, g.metadata FROM grades g "
        "JOIN results r USING (run_id, trial_id) ORDER BY 1, 2"
    )
    by_key = {(t, c): (status, score, json.loads(m or "{}")) for t, c, status, score, m in rows}
    assert by_key[("new", "one")][:2] == ("pass", 1.0)
    assert by_key[("new", "two")][:2] == ("fail", 0.0)
    assert by_key[("new", "one")][2]["against"] == "sut"
    # the reference's own trials are not judged against themselves
    assert {by_key[("sut", c)][0] for c in ("one", "two")} == {"skipped"}
    judged = [r for r in ws.server.requests() if "A-one" in json.dumps(r.get("body"))]
    text = json.dumps(judged)
    assert "new: A-one" in text  # the judge saw both outputs: the new one ...
    assert code == 1, out  # ... and case two's loss fails the run


def test_prompt_variants_sharing_one_worker_do_not_wait_for_each_other(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    # One worker, and each case's first variant compares against the variant queued
    # behind it: a worker that waited for its peer would never get to run it.
    ws.suite(_cases(["one", "two", "three"], [{"type": "pairwise", "against": "chat[long]"}]))
    chat = textwrap.indent(
        "- id: chat\n  provider: anthropic\n  model: claude-haiku-4-5\n"
        f"  base_url: '{ws.server.anthropic_url}'\n  concurrency: 1\n"
        "  prompts:\n"
        "    - {id: short, template: 'style-short {{ question }}'}\n"
        "    - {id: long, template: 'style-long {{ question }}'}\n",
        "  ",
    )
    ws.plan(extra=chat)
    ws.server.script(
        {"match": "style-short", "reply": "short answer"},
        {"match": "style-long", "reply": "a long and careful answer"},
        # per case, so the order in which cases reach the judge does not matter
        *(
            {"match": f"Q-{cid}?", "replies": [verdict(winner="B"), verdict(winner="A")]}
            for cid in ("one", "two", "three")
        ),
    )
    code, out = cli("run", "--target", "chat", "--concurrency", "1")
    rows = ws.sql(
        "SELECT r.prompt_id, g.status, g.score FROM grades g "
        "JOIN results r USING (run_id, trial_id) ORDER BY 1"
    )
    assert sorted(rows) == sorted([("long", "skipped", None)] * 3 + [("short", "fail", 0.0)] * 3), (
        out
    )
    assert code == 1


def test_a_peer_that_did_not_run_skips_the_grade(ws: JudgeWorkspace, cli: Cli) -> None:
    (ws.root / "system2.py").write_text(SECOND_SYSTEM)
    ws.suite(_cases(["one"], [{"type": "pairwise", "against": "sut"}]))
    ws.plan(extra="  - id: new\n    provider: python\n    function: system2.py:answer\n")
    code, out = cli("run", "--target", "new")
    ((status, reason),) = ws.sql("SELECT status, reason FROM grades")
    assert status == "skipped" and "did not run" in reason
    assert ws.server.request_count() == 0  # nothing to judge, no judge call
    assert code == 5, out  # nothing was graded: nothing ran, never a green run


def test_against_must_name_a_target(ws: JudgeWorkspace, cli: Cli) -> None:
    ws.suite(_cases(["one"], [{"type": "pairwise", "against": "sut[a][b]"}]))
    ws.plan()
    code, out = cli("validate")
    assert code == 4 and "TARGET or TARGET[PROMPT]" in out
