"""Cases from CSV or JSONL files beside a suite (`cases_from:`), one case per row.

Columns named like case fields (`id`, `expected`, `context`, `tags`, `cluster`,
`description`, `metadata.*`) fill those fields; every other column is a var. A
`graders` column holds the row's own graders as JSON (a list of `{type: ...}`
mappings, or one mapping), so a bulk suite ported from promptfoo keeps its per-test
assertions; a JSONL row may give them as a list under `graders` (or promptfoo's
`assert`). A JSONL row may also carry `vars` and `metadata` objects and `messages`, as
a YAML case would. JSONL lines end at "\n" only (a raw U+2028 or U+0085 inside a JSON
string is text, not a line break). Rows come back shaped like a YAML case, so
`CaseSpec` validates both the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import Location, SpecError
from evalkit.workspace.csvtext import csv_rows
from evalkit.workspace.datasets import read_dataset, read_parquet, rename
from evalkit.workspace.yamlfile import MAX_BYTES, decode_utf8

CASE_COLUMNS = ("id", "expected", "context", "tags", "cluster", "description")
METADATA_PREFIX = "metadata."
_TAG_SEPARATORS = re.compile(r"[,;]")


@dataclass(slots=True)
class CaseRow:
    """One row, shaped like a YAML case, and the line it starts on."""

    data: dict[str, Any]
    line: int


def read_case_file(
    path: Path, source: str, renames: dict[str, str], map_at: tuple[Location, str]
) -> list[CaseRow]:
    """Read a `.csv` or `.jsonl` case file; `renames` maps a file column to the name used.

    `map_at` is where the renames are written (location, field path), for their errors.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet" or path.is_dir():  # Parquet, or a saved Hugging Face dataset
        data = read_parquet(path, source) if suffix == ".parquet" else read_dataset(path, source)
        return table_rows(data, source, renames, map_at)
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise SpecError.single(
            Location(source), "", f"unsupported case file type '{suffix}'; use .csv or .jsonl"
        )
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError.single(
                Location(source), "", f"file is {size:,} bytes; the limit is {MAX_BYTES:,}"
            )
        text = decode_utf8(path.read_bytes(), source)
    except OSError as exc:
        raise SpecError.single(Location(source), "", f"cannot read file: {exc.strerror}") from None
    if suffix == ".csv":
        return _read_csv(text, source, renames, map_at)
    return _read_jsonl(text, source, renames)


def _read_csv(
    text: str, source: str, renames: dict[str, str], map_at: tuple[Location, str]
) -> list[CaseRow]:
    reader = csv_rows(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[CaseRow] = []
    last_line = 0
    try:
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines are layout, not cases
            if header is None:
                header = _check_header(record, source, start, renames, map_at)
                continue
            if len(record) > len(header):
                raise SpecError.single(
                    Location(source, start),
                    "",
                    f"row has {len(record)} fields but the header has {len(header)}; "
                    "quote fields that contain commas",
                )
            cells = dict(zip(header, record, strict=False))
            rows.append(CaseRow(_shape(cells, from_csv=True, where=Location(source, start)), start))
    except csv.Error as exc:
        raise SpecError.single(
            Location(source, reader.line_num), "", f"invalid CSV: {exc}"
        ) from None
    if header is None:
        raise SpecError.single(Location(source), "", "file is empty; expected a header row")
    return rows


def _check_header(
    record: list[str], source: str, line: int, renames: dict[str, str], map_at: tuple[Location, str]
) -> list[str]:
    names = [cell.strip() for cell in record]
    problems: list[tuple[Location, str, str]] = []
    seen: set[str] = set()
    for column, name in enumerate(names, start=1):
        if not name:
            problems.append((Location(source, line), "", f"column {column} has no name"))
        elif name in seen:
            problems.append((Location(source, line), "", f"column '{name}' appears twice"))
        seen.add(name)
    for old in renames:
        if old not in seen:
            message = f"column '{old}' is not in {source} ({', '.join(names)})"
            problems.append((map_at[0], map_at[1], message))
    if problems:
        raise SpecError(problems)
    return [renames.get(name, name) for name in names]


def _read_jsonl(text: str, source: str, renames: dict[str, str]) -> list[CaseRow]:
    rows: list[CaseRow] = []
    # JSON Lines end at "\n" only; str.splitlines() would also split on U+2028, U+0085,
    # \x1c..\x1e and others, which JSON strings may hold raw.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        deep = False
        try:
            value = json.loads(
                line, object_pairs_hook=no_duplicate_keys, parse_constant=no_constants
            )
        except json.JSONDecodeError as exc:
            raise SpecError.single(
                Location(source, number, exc.colno), "", f"invalid JSON: {exc.msg}"
            ) from None
        except ValueError as exc:
            raise SpecError.single(Location(source, number), "", str(exc)) from None
        except RecursionError:
            value, deep = None, True  # deeper than Python's parser goes
        if deep or too_deep(value):
            raise _too_deep_error(Location(source, number), "")
        if not isinstance(value, dict):
            raise SpecError.single(
                Location(source, number), "", "each line must be one JSON object ({...})"
            )
        fields = {str(renames.get(k, k)): item for k, item in value.items()}
        rows.append(CaseRow(_shape(fields, from_csv=False, where=Location(source, number)), number))
    return rows


# Far beyond any real case, and far below the depth at which hashing, storing or
# rendering a value would exhaust Python's recursion limit.
MAX_DEPTH = 100


def too_deep(value: Any) -> bool:
    """Whether lists/objects in `value` nest more than MAX_DEPTH levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep_error(where: Location, field: str) -> SpecError:
    return SpecError.single(
        where, field, f"a value is nested more than {MAX_DEPTH} levels deep; flatten it"
    )


def table_rows(
    data: list[dict[str, Any]], source: str, renames: dict[str, str], map_at: tuple[Location, str]
) -> list[CaseRow]:
    """Rows of a Parquet file or a dataset as cases, numbered from 1 (like JSONL lines)."""
    renamed = rename(data, renames, source, map_at)
    rows: list[CaseRow] = []
    for n, row in enumerate(renamed, start=1):
        if too_deep(row):  # a nested Parquet column deeper than JSONL allows
            raise _too_deep_error(Location(source, n), "")
        rows.append(CaseRow(_shape(row, from_csv=False, where=Location(source, n)), n))
    return rows


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads object_pairs_hook: a repeated key is an error, not a silent overwrite."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key}' in a JSON object; keep one of them")
        result[key] = value
    return result


def no_constants(name: str) -> Any:
    """json.loads parse_constant: NaN and Infinity are not JSON, whatever Python allows."""
    raise ValueError(f"'{name}' is not a number JSON allows; write a finite number or a string")


def _graders(value: Any, where: Location) -> list[Any] | None:
    """A row's own graders: a list of mappings, one mapping, or either as JSON text."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(
                value, object_pairs_hook=no_duplicate_keys, parse_constant=no_constants
            )
        except ValueError as exc:
            raise SpecError.single(
                where,
                "graders",
                f"the graders column is not JSON ({exc}); write "
                '[{"type": "contains", "value": "refund"}]',
            ) from None
        except RecursionError:
            raise _too_deep_error(where, "graders") from None  # deeper than Python parses
        # One level for the row itself, as a JSONL line's graders sit inside its object.
        if too_deep([value]):
            raise _too_deep_error(where, "graders")
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise SpecError.single(
        where, "graders", 'graders must be a list of grader mappings ({"type": ...})'
    )


def _shape(fields: dict[str, Any], *, from_csv: bool, where: Location) -> dict[str, Any]:
    """Sort a row's columns into case fields, metadata and vars."""
    case: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for name, value in fields.items():
        # An empty CSV cell in a case or metadata field means "not given"; vars keep "".
        if from_csv and value == "" and (name in CASE_COLUMNS or name.startswith(METADATA_PREFIX)):
            continue
        if name == "graders" or (not from_csv and name == "assert"):
            graders = _graders(value, where)
            if graders is not None:
                case.setdefault("graders", []).extend(graders)
        elif name == "tags" and isinstance(value, str):
            case["tags"] = [t.strip() for t in _TAG_SEPARATORS.split(value) if t.strip()]
        elif name in CASE_COLUMNS:
            case[name] = value
        elif name.startswith(METADATA_PREFIX):
            metadata[name[len(METADATA_PREFIX) :]] = value
        elif not from_csv and name in ("vars", "metadata") and isinstance(value, dict):
            (variables if name == "vars" else metadata).update(value)
        elif not from_csv and name == "messages":
            case["messages"] = value
        else:
            variables[name] = value
    case["vars"] = variables
    case["metadata"] = metadata
    return case
