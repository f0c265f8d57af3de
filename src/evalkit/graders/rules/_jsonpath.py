"""Paths into JSON values, as written in suites: `a.b[0].c`, `$.a["key.with.dots"]`."""

from __future__ import annotations

import re
from typing import Any

from evalkit.graders.rules._common import clip, kind

_TOKEN = re.compile(
    r"""\.?(?P<name>[^.\[\]"']+)"""  # a key: `a`, `.b`
    r"""|\[(?P<index>-?\d+)\]"""  # an index: `[0]`, `[-1]`
    r"""|\[(?P<quote>["'])(?P<key>.*?)(?P=quote)\]"""  # a quoted key: `["a.b"]`
)

Step = str | int


def parse_path(path: str) -> tuple[Step, ...]:
    """Split a path into keys and indexes, once, when the grader is bound."""
    text = path[1:] if path.startswith("$") else path
    steps: list[Step] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise ValueError(f"bad JSON path {path!r}: cannot read {text[at:]!r}; write a.b[0].c")
        if match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("name") or match.group("key"))
        at = match.end()
    if not steps:
        raise ValueError(f"empty JSON path {path!r}; write a.b[0].c")
    return tuple(steps)


class PathMissing(LookupError):
    """The path does not lead anywhere in this value; graders fail with its message."""


def walk(value: Any, steps: tuple[Step, ...]) -> Any:
    """The value at `steps`, or PathMissing saying where the path broke off."""
    where = "$"
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list):
                raise PathMissing(f"{where} is {kind(value)}, not an array")
            if not -len(value) <= step < len(value):
                raise PathMissing(f"{where} has {len(value)} items, no [{step}]")
            value = value[step]
            where += f"[{step}]"
        else:
            if not isinstance(value, dict):
                raise PathMissing(f"{where} is {kind(value)}, not an object")
            if step not in value:
                keys = ", ".join(clip(key, 30) for key in list(value)[:8])
                raise PathMissing(f"{where} has no key {step!r} (keys: {keys or 'none'})")
            value = value[step]
            where += f".{step}"
    return value
