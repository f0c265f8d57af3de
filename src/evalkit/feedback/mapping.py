"""`--map CASEFIELD=SOURCEFIELD,...`: which field of a log record fills which case field.

A source field is a key of the record or a dotted path into nested JSON
(`request.messages.0.content`: keys, and list indexes as numbers). A key spelled
exactly like the whole path wins over walking it, so CSV columns such as `user.id`
work as written.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UsageError

VARS_PREFIX = "vars."
METADATA_PREFIX = "metadata."
FIELDS = ("expected", "context", "id", "tags", "cluster", "description", "messages", "output")
ACCEPTED = "vars.NAME (or a bare NAME), metadata.NAME, " + ", ".join(FIELDS)
# Not settable from a log: how a case is graded is the suite's business.
_NOT_FROM_LOGS = ("graders", "threshold", "skip", "vars", "metadata")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True, slots=True)
class FieldMap:
    """The parsed --map: (case field, source field) pairs in the order given."""

    entries: tuple[tuple[str, str], ...]

    def sources(self) -> list[str]:
        """Every source field named, for checking a CSV header once."""
        return [source for _, source in self.entries]


class Missing(Exception):
    """A record lacks a mapped source field (`field`), or a value has the wrong shape."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_map(specs: list[str]) -> FieldMap:
    """Parse one or more `--map` values; bad keys and syntax are usage errors."""
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in specs:
        for part in spec.split(","):
            if not part.strip():
                continue
            key, sep, source = (s.strip() for s in part.partition("="))
            if not sep or not key or not source:
                raise UsageError(
                    f"--map entry '{part.strip()}' is not CASEFIELD=SOURCEFIELD",
                    hint=f"e.g. --map input=prompt,expected=answer; case fields: {ACCEPTED}",
                )
            field = _case_field(key)
            if field in seen:
                raise UsageError(f"--map sets '{field}' twice; keep one")
            seen.add(field)
            entries.append((field, source))
    if not any(f.startswith(VARS_PREFIX) or f == "messages" for f, _ in entries):
        raise UsageError(
            "--map gives the case no input: map at least one var (e.g. input=prompt) or messages",
            hint=f"case fields: {ACCEPTED}",
        )
    return FieldMap(tuple(entries))


def _case_field(key: str) -> str:
    if key in FIELDS:
        return key
    for prefix in (VARS_PREFIX, METADATA_PREFIX):
        if key.startswith(prefix):
            name = key[len(prefix) :]
            if _NAME.fullmatch(name):
                return key
            raise UsageError(
                f"--map key '{key}': '{name}' is not a name (letters, digits, _)",
                hint=f"case fields: {ACCEPTED}",
            )
    if key in _NOT_FROM_LOGS or not _NAME.fullmatch(key):
        raise UsageError(f"--map key '{key}' is not a case field", hint=f"case fields: {ACCEPTED}")
    if near := _near_field(key):
        # `expectd=response` would quietly add a var nobody reads: a typo, most likely
        raise UsageError(
            f"--map key '{key}' would add a var named '{key}' (did you mean '{near}'?)",
            hint=f"write vars.{key}=... to keep it as a var; case fields: {ACCEPTED}",
        )
    return VARS_PREFIX + key


def _near_field(name: str) -> str | None:
    """A case field `name` is one or two keystrokes away from, if any."""
    for field in FIELDS:
        close = difflib.SequenceMatcher(None, name, field).ratio() >= 0.8
        if close and abs(len(name) - len(field)) <= 2 and name != field:
            return field
    return None


def lookup(data: Any, path: str) -> Any:
    """The value at `path` (a key, or a dotted path); raises KeyError when it is absent."""
    if isinstance(data, dict) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(path)
    return current


def build_case(
    data: dict[str, Any], fields: FieldMap, *, from_csv: bool, output_as_expected: bool
) -> dict[str, Any]:
    """A case (YAML-shaped, without id defaults) from one record; raises Missing."""
    case: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for field, source in fields.entries:
        try:
            value = lookup(data, source)
        except KeyError:
            raise Missing(source, f"no field '{source}' (mapped to {field})") from None
        # An empty CSV cell means "not given" for every field but a var.
        if from_csv and value == "" and not field.startswith(VARS_PREFIX):
            continue
        if field.startswith(VARS_PREFIX):
            variables[field[len(VARS_PREFIX) :]] = value
        elif field.startswith(METADATA_PREFIX):
            metadata[field[len(METADATA_PREFIX) :]] = value
        elif field == "output":
            metadata["production_output"] = value
            if output_as_expected:
                case["expected"] = value
        else:
            case[field] = _shaped(field, source, value)
    case["vars"] = variables
    if metadata:
        case["metadata"] = metadata
    return {k: v for k, v in case.items() if v is not None}


def _shaped(field: str, source: str, value: Any) -> Any:
    """Check and normalise the fields whose shape the suite format fixes."""
    if value is None or field == "expected":
        return value
    if field == "tags":
        items = _TAG_SEPARATORS.split(value) if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise Missing(source, f"'{source}' (tags) must be text or a list of text")
        return [t.strip() for t in items if t.strip()]
    if field == "context":
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            return value
        raise Missing(source, f"'{source}' (context) must be text or a list of text")
    if field == "messages":
        if isinstance(value, list) and all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
            for m in value
        ):
            return [{"role": m["role"], "content": m["content"]} for m in value]
        raise Missing(source, f"'{source}' (messages) must be a list of {{role, content}}")
    if not isinstance(value, str):
        # ids, clusters and descriptions are text; numbers from JSON logs are fine as text
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise Missing(source, f"'{source}' ({field}) must be text")
    return value
