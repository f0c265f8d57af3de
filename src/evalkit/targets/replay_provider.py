"""The `replay` provider: answers recorded earlier (JSONL), for offline runs and demos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from evalkit.errors import Location, SpecError, TargetError
from evalkit.records import ErrorKind, TargetOutput, TargetRequest, Usage
from evalkit.targets.base import TargetCallError, TargetContext, register
from evalkit.targets.local import LocalTarget
from evalkit.workspace.models import PromptSpec, TargetSpec
from evalkit.workspace.root import inside

_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class ReplayOptions(BaseModel):
    """A plan target's keys for `provider: replay`."""

    model_config = ConfigDict(extra="forbid")

    path: str  # relative to the workspace root
    key: str = "case_id"  # the field naming the case in each line


def load_recordings(path: Path, shown: str, key: str) -> dict[tuple[str | None, str], Any]:
    """Recorded lines by (suite or None, case id); every bad line reported at once."""
    recordings: dict[tuple[str | None, str], Any] = {}
    problems: list[tuple[Location, str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append((Location(shown, number, exc.colno), "", f"not JSON: {exc.msg}"))
                continue
            problem = _check_record(record, key)
            if problem:
                problems.append((Location(shown, number, 1), "", problem))
                continue
            suite = record.get("suite")
            # A later line for the same case wins: re-recording appends to the file.
            recordings[(str(suite) if suite is not None else None, str(record[key]))] = record
    if problems:
        raise SpecError(problems)
    return recordings


def _check_record(record: Any, key: str) -> str | None:
    if not isinstance(record, dict):
        return f"each line must be a JSON object, got {type(record).__name__}"
    if key not in record:
        return f"no '{key}' field to say which case this is"
    if "output" not in record:
        return "no 'output' field"
    usage = record.get("usage")
    if usage is not None and not (
        isinstance(usage, dict) and all(isinstance(usage.get(f, 0), int) for f in _USAGE_FIELDS)
    ):
        return f"'usage' must be an object of integer token counts ({', '.join(_USAGE_FIELDS)})"
    latency = record.get("latency_ms")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int | float)):
        return "'latency_ms' must be a number"
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' must be an object"
    return None


def _to_output(record: dict[str, Any]) -> TargetOutput:
    output = record["output"]
    usage = record.get("usage")
    text, data = (output, None) if isinstance(output, str) else (json.dumps(output), output)
    return TargetOutput(
        text=text,
        data=data,
        usage=Usage(**{f: usage.get(f, 0) for f in _USAGE_FIELDS}) if usage else None,
        latency_ms=float(record.get("latency_ms") or 0.0),
        metadata=dict(record.get("metadata") or {}),
    )


@register("replay")
class ReplayTarget(LocalTarget):
    """Serves outputs recorded in a JSONL file, keyed by case id (and suite)."""

    provider: ClassVar[str] = "replay"
    Options: ClassVar[type[ReplayOptions]] = ReplayOptions

    def __init__(
        self,
        spec: TargetSpec,
        options: ReplayOptions,
        prompt: PromptSpec | None,
        ctx: TargetContext,
    ) -> None:
        super().__init__(spec, prompt, ctx)
        self._shown = options.path
        path = inside(ctx.root, options.path, what=f"target '{spec.id}' replay file")
        if not path.is_file():
            raise TargetError(
                f"target '{spec.id}': replay file '{options.path}' not found (looked at {path})",
                hint="replay paths are relative to the workspace root",
            )
        self._recordings = load_recordings(path, options.path, options.key)

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """The recorded output for this case; MISSING when there is none."""
        case = request.case
        record = self._recordings.get((case.suite, case.id))
        if record is None:
            record = self._recordings.get((None, case.id))
        if record is None:
            raise TargetCallError(
                ErrorKind.MISSING,
                f"replay file '{self._shown}' has no output for case '{case.suite}/{case.id}'",
            )
        return _to_output(record)
