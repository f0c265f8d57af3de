"""Conversation cases in suites: turns with graders, simulated users, scripted tools;
their mistakes point at file:line:col like any other."""

from __future__ import annotations

import pytest

from evalkit.errors import SpecError
from evalkit.records import GraderConfig
from evalkit.workspace import load_suite
from tests.workspace.conftest import Workspace


def test_turns_user_and_tool_results_load(ws: Workspace) -> None:
    path = ws.write(
        "suites/s.yaml",
        """
        name: s
        cases:
          - id: three
            turns:
              - hello
              - content: my id is 7
                graders: [{type: icontains, value: "7"}]
            tool_results:
              - {tool: lookup, args: {id: 7}, result: {ok: true}}
              - {tool: reset, error: down}
            max_steps: 4
          - id: sim
            user:
              goal: reset
              max_turns: 2
              stop_when: {type: icontains, value: done}
        """,
    )
    suite = load_suite(path, ws.root)
    three, sim = suite.cases
    assert [t.content for t in three.turns or []] == ["hello", "my id is 7"]
    assert (three.turns or [])[1].graders[0].name == "icontains"
    assert [(r.tool, r.args, r.error) for r in three.tool_results] == [
        ("lookup", {"id": 7}, None),
        ("reset", None, "down"),
    ]
    assert three.max_steps == 4
    assert sim.user is not None and sim.user.max_turns == 2
    assert isinstance(sim.user.stop_when, GraderConfig)
    # a turn's content is part of what the case asks: a change is a new case hash
    before = three.content_hash
    ws.write("suites/s.yaml", path.read_text().replace("my id is 7", "my id is 8"))
    assert load_suite(path, ws.root).cases[0].content_hash != before


def test_conversation_mistakes_point_at_their_lines(ws: Workspace) -> None:
    path = ws.write(
        "suites/s.yaml",
        """
        name: s
        cases:
          - id: bad
            turns:
              - content: hi
                graders: [{type: icontain, value: x}]
            user: {goal: both at once}
          - id: empty
            turns: []
        """,
    )
    with pytest.raises(SpecError) as exc:
        load_suite(path, ws.root)
    found = [str(SpecError([p])) for p in exc.value.problems]
    assert found[0].startswith(
        "suites/s.yaml:6:19 cases[0].turns[0].graders[0]: unknown grader 'icontain' "
        "(did you mean 'icontains'?)"
    )
    assert found[1] == (
        "suites/s.yaml:7:5 cases[0].user: give `turns:` (scripted) or `user:` (simulated), not both"
    )
    assert found[2] == "suites/s.yaml:9:5 cases[1].turns: turns is empty"
