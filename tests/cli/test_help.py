"""Every command's --help: words for values (`PLAN`, `FILE`, `N`), one example each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from evalkit.cli import command_tree, invoke
from evalkit.cli.helptext import EXAMPLES, SPELLED

# what typer prints when a parameter has no metavar: `<list[str]>`, `<int range>`, `{file}`
TYPE_NAMES = re.compile(r"<(?:list\[|str|int|float|path|bool|text|file|datetime)[^>]*>|\{\w+\}")


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, (*path, name))


COMMANDS = list(_paths(command_tree()))


def test_every_command_is_walked() -> None:
    walked = {" ".join(p) for p in COMMANDS}
    assert {"", "run", "import", "cache clear", "baseline set", "stats power"} <= walked
    assert len(walked) >= 20


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "evalkit")
def test_help_uses_words_and_shows_one_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    typed = SPELLED.get(" ".join(path), " ".join(path)).split()
    assert invoke([*typed, "--help"]) == 0
    out = capsys.readouterr().out
    assert not TYPE_NAMES.findall(out), out
    examples = [line.strip() for line in out.splitlines() if line.strip().startswith("Example:")]
    assert len(examples) == 1, out
    assert examples[0] == f"Example: {EXAMPLES[' '.join(path)]}"
    usage = out.splitlines()[0]
    typed = SPELLED.get(" ".join(path), " ".join(path))
    assert usage.startswith(f"Usage: evalkit {typed}".rstrip()), usage
    # arguments in the usage line are upper-case words: [PLAN], FILE, RUN...
    for word in re.findall(r"\[?([A-Za-z_]+)\]?(?:\.\.\.)?", usage.split("[OPTIONS]", 1)[-1]):
        assert word.isupper(), usage


def test_the_examples_name_real_commands() -> None:
    walked = {" ".join(p) for p in COMMANDS}
    assert set(EXAMPLES) == walked
    for path, example in EXAMPLES.items():
        assert example.startswith(f"evalkit {SPELLED.get(path, path)}".rstrip()), example


def test_known_words_appear(capsys: pytest.CaptureFixture[str]) -> None:
    invoke(["import", "--help"])
    out = capsys.readouterr().out
    assert "Usage: evalkit import [OPTIONS] FILE" in out
    assert "--map FIELD=SOURCE,..." in out and "--db FILE" in out and "--limit N" in out
    invoke(["run", "--help"])
    out = capsys.readouterr().out
    assert "-k, --filter GLOB" in out and "--failed [RUN]" in out and "[PLAN]" in out
    invoke(["export", "--help"])
    assert "--format csv|jsonl|parquet" in capsys.readouterr().out
