"""Pydantic ValidationErrors -> problems a person can act on: where, which field, what.

Pydantic reports union members as extra path segments (`context.list[str]`) and one
error per member; here they are folded into one plain sentence at the field the user
wrote, and unknown keys get a "did you mean" from the model's own field names.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from evalkit.errors import Location
from evalkit.workspace.yamlfile import YamlPath

Problem = tuple[Location, str, str]  # (where, field path, message), as SpecError takes them
Locate = Callable[[YamlPath], Location]

_EXPECTED = {
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "none_required": "nothing (null)",
}


def field_path(path: YamlPath) -> str:
    """Render a path the way users write it: `cases[3].graders[0].weight`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else ""."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    """A short, safe description of a value the user wrote."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def validation_problems(
    exc: ValidationError,
    data: Any,
    model: type[BaseModel],
    locate: Locate,
    prefix: YamlPath = (),
    also_known: Iterable[str] = (),
) -> list[Problem]:
    """Every error in `exc` (from validating `data` with `model`) as a located problem.

    `prefix` is where `data` sits in its file; `locate` turns a full path into a Location;
    `also_known` adds top-level names to "did you mean" (keys another model accepts there).
    """
    entries = [_Entry.of(err, data) for err in exc.errors()]
    problems: list[Problem] = []
    seen: set[tuple[YamlPath, str]] = set()
    for path, message, at_key in _fold_unions(entries, model, tuple(also_known)):
        full = (*prefix, *path)
        field = field_path(full[:-1] if at_key else full)
        if (full, message) in seen:
            continue
        seen.add((full, message))
        problems.append((locate(full), field, message))
    # Read top to bottom, like the file.
    return sorted(problems, key=lambda p: (p[0].line or 0, p[0].column or 0))


class _Entry:
    """One pydantic error with its union-member segments taken out of the path."""

    __slots__ = ("base", "error", "path")

    def __init__(self, error: ErrorDetails, path: YamlPath, base: YamlPath | None) -> None:
        self.error = error
        self.path = path  # the path in the user's data
        self.base = base  # for a union member's error: the path of the union field

    @classmethod
    def of(cls, error: ErrorDetails, data: Any) -> _Entry:
        path: list[str | int] = []
        base: YamlPath | None = None
        current = data
        loc = error["loc"]
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if (
                isinstance(current, dict)
                and isinstance(part, str)
                and (part in current or (last and error["type"] == "missing"))
            ):
                path.append(part)
                current = current.get(part)
                continue
            if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
                path.append(part)
                current = current[part]
                continue
            if isinstance(part, str):
                base = tuple(path)  # a union member's name, e.g. "list[str]"
                continue
            path.append(part)
            current = None
        return cls(error, tuple(path), base)


def _fold_unions(
    entries: list[_Entry], model: type[BaseModel], also_known: tuple[str, ...]
) -> list[tuple[YamlPath, str, bool]]:
    """Keep the union member that got furthest; merge same-place messages into one."""
    deeper = {e.base for e in entries if e.base is not None and len(e.path) > len(e.base)}
    kept = [e for e in entries if not (e.base in deeper and e.base == e.path)]
    merged: dict[YamlPath, list[str]] = {}
    order: list[tuple[YamlPath, bool]] = []
    single: list[tuple[YamlPath, str, bool]] = []
    for entry in kept:
        error = entry.error
        if entry.base is not None and entry.base == entry.path and error["type"] in _EXPECTED:
            if entry.path not in merged:
                merged[entry.path] = []
                order.append((entry.path, False))
            merged[entry.path].append(error["type"])
            continue
        message, at_key = _message(entry, model, also_known)
        single.append((entry.path, message, at_key))
    folded = [
        (path, _expected_message(merged[path], _input_at(kept, path)), at_key)
        for path, at_key in order
    ]
    return single + folded


def _input_at(entries: list[_Entry], path: YamlPath) -> Any:
    for entry in entries:
        if entry.path == path:
            return entry.error.get("input")
    return None


def _expected_message(types_: list[str], value: Any) -> str:
    wanted: list[str] = []
    for kind in types_:
        text = _EXPECTED[kind]
        if text not in wanted:
            wanted.append(text)
    if "a number" in wanted and "a whole number" in wanted:
        wanted.remove("a whole number")
    return f"expected {' or '.join(wanted)}, got {describe(value)}{_quote_hint(wanted, value)}"


def _quote_hint(wanted: Sequence[str], value: Any) -> str:
    if "text" in wanted and isinstance(value, int | float | bool):
        return " (put it in quotes to make it text)"
    return ""


def _message(
    entry: _Entry, model: type[BaseModel], also_known: tuple[str, ...]
) -> tuple[str, bool]:
    """The sentence for one error, and whether its path ends in a key named in it."""
    error = entry.error
    kind = error["type"]
    name = entry.path[-1] if entry.path else ""
    if kind == "missing":
        return f"missing required key '{name}'", True
    if kind == "extra_forbidden":
        fields = _fields_at(model, entry.path[:-1])
        if len(entry.path) == 1:
            fields += also_known
        return f"unknown key '{name}'{did_you_mean(str(name), fields)}", True
    value = error.get("input")
    if kind in _EXPECTED:
        return _expected_message([kind], value), False
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"expected one of {expected}, got {describe(value)}", False
    return f"{error['msg']} (got {describe(value)})", False


def _fields_at(model: type[BaseModel], path: YamlPath) -> list[str]:
    """Field names of the model found at `path` inside `model` (for "did you mean")."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            current = _item_type(current)
        else:
            found = _model_in(current)
            if found is None or part not in found.model_fields:
                return []
            current = found.model_fields[part].annotation
    found = _model_in(current)
    return list(found.model_fields) if found is not None else []


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _item_type(annotation: Any) -> Any:
    for member in _members(annotation):
        if typing.get_origin(member) in (list, tuple, set):
            args = typing.get_args(member)
            return args[0] if args else Any
    return Any
