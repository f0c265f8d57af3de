"""The replay target: recorded outputs by case, missing cases, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import SpecError, WorkspaceError
from evalkit.records import ErrorKind
from evalkit.targets.base import Target, TargetCallError
from tests.targets.helpers import build_one, case, workspace


def recorded(tmp_path: Path, *lines: object | str) -> None:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    (tmp_path / "recorded.jsonl").write_text(text + "\n")


def replay(tmp_path: Path, **options: object) -> Target:
    return build_one("replay", workspace(tmp_path), path="recorded.jsonl", **options)


async def test_recorded_output_usage_latency_metadata(tmp_path: Path) -> None:
    recorded(
        tmp_path,
        {
            "case_id": "c1",
            "output": "Paris",
            "latency_ms": 812.5,
            "usage": {"input_tokens": 12, "output_tokens": 2},
            "metadata": {"model": "m"},
        },
        "",
        {"case_id": "c2", "output": {"label": "yes"}},
    )
    target = replay(tmp_path)
    first = await target.generate(target.render(case("c1", q="x"), 0))
    second = await target.generate(target.render(case("c2", q="x"), 0))
    assert (first.text, first.latency_ms, first.metadata) == ("Paris", 812.5, {"model": "m"})
    assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (
        12,
        2,
    )
    assert (second.text, second.data) == ('{"label": "yes"}', {"label": "yes"})


async def test_missing_case(tmp_path: Path) -> None:
    recorded(tmp_path, {"case_id": "c1", "output": "x"})
    target = replay(tmp_path)
    with pytest.raises(TargetCallError) as caught:
        await target.generate(target.render(case("other", q="x"), 0))
    assert caught.value.kind is ErrorKind.MISSING
    assert (
        caught.value.message == "replay file 'recorded.jsonl' has no output for case 'demo/other'"
    )


async def test_suite_field_and_custom_key(tmp_path: Path) -> None:
    recorded(
        tmp_path,
        {"id": "c1", "suite": "a", "output": "from a"},
        {"id": "c1", "suite": "b", "output": "from b"},
    )
    target = replay(tmp_path, key="id")
    outputs = [
        (await target.generate(target.render(case("c1", suite=s, q="x"), 0))).text
        for s in ("a", "b")
    ]
    assert outputs == ["from a", "from b"]
    with pytest.raises(TargetCallError):
        await target.generate(target.render(case("c1", suite="c", q="x"), 0))


def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    recorded(
        tmp_path,
        {"case_id": "c1", "output": "ok"},
        '{"case_id": "c2", "output": ',
        ["not", "an", "object"],
        {"output": "no id"},
    )
    with pytest.raises(SpecError) as caught:
        replay(tmp_path)
    messages = str(caught.value).splitlines()
    assert len(messages) == 3
    assert messages[0].startswith("recorded.jsonl:2:")
    assert "not JSON" in messages[0]
    assert messages[1] == "recorded.jsonl:3:1: each line must be a JSON object, got list"
    assert messages[2] == "recorded.jsonl:4:1: no 'case_id' field to say which case this is"


def test_path_outside_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    with pytest.raises(WorkspaceError):
        build_one("replay", workspace(tmp_path / "ws"), path="../recorded.jsonl")
