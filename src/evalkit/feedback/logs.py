"""Production logs as records: JSONL (one object per line) or CSV (a header row).

Every record keeps where it came from (line, and for CSV its row number), so each
error names the place to look, and each imported case records its provenance.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import Location, SpecError, UsageError
from evalkit.workspace.casefiles import no_constants, no_duplicate_keys
from evalkit.workspace.csvtext import csv_rows

STDIN = "-"
FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log entry: its fields, the line it starts on and (CSV) its data-row number."""

    data: dict[str, Any]
    line: int
    row: int | None = None

    def where(self, source: str) -> str:
        """`file:line` (and `row N` for CSV), as errors and provenance name it."""
        at = f"{source}:{self.line}"
        return at if self.row is None else f"{at} (row {self.row})"


@dataclass(slots=True)
class LogFile:
    """A log read into memory: its label, the sha256 of its bytes, format and header."""

    source: str
    sha256: str
    fmt: str
    text: str
    columns: list[str] | None = None  # CSV only

    def records(self) -> Iterator[LogRecord]:
        """Each record in file order; a malformed one raises a SpecError naming its line."""
        if self.fmt == "csv":
            yield from self._csv()
        else:
            yield from self._jsonl()

    def _jsonl(self) -> Iterator[LogRecord]:
        for number, line in enumerate(self.text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(
                    line, object_pairs_hook=no_duplicate_keys, parse_constant=no_constants
                )
            except json.JSONDecodeError as exc:
                raise SpecError.single(
                    Location(self.source, number, exc.colno), "", f"invalid JSON: {exc.msg}"
                ) from None
            except ValueError as exc:
                raise SpecError.single(Location(self.source, number), "", str(exc)) from None
            if not isinstance(value, dict):
                raise SpecError.single(
                    Location(self.source, number), "", "each line must be one JSON object {...}"
                )
            yield LogRecord(value, number)

    def _csv(self) -> Iterator[LogRecord]:
        reader = csv_rows(io.StringIO(self.text, newline=""), strict=True)
        header: list[str] | None = None
        last_line = 0
        row = 0
        try:
            for cells in reader:
                start, last_line = last_line + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header = [cell.strip() for cell in cells]
                    continue
                row += 1
                if len(cells) > len(header):
                    raise SpecError.single(
                        Location(self.source, start),
                        f"row {row}",
                        f"{len(cells)} fields but the header has {len(header)}; "
                        "quote fields that contain commas",
                    )
                yield LogRecord(dict(zip(header, cells, strict=False)), start, row)
        except csv.Error as exc:
            raise SpecError.single(
                Location(self.source, reader.line_num), "", f"invalid CSV: {exc}"
            ) from None


def read_log(path: str, fmt: str | None = None) -> LogFile:
    """Read a `.jsonl`/`.csv` file, or stdin for `-` (format from --format or the content)."""
    if path == STDIN:
        raw = sys.stdin.buffer.read()
        source = "<stdin>"
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        source = path
    text = _decode(raw, source)
    kind = fmt or _format_of(path, text)
    if kind not in FORMATS:
        raise UsageError(
            f"cannot tell the format of {source}", hint="name it .jsonl or .csv, or pass --format"
        )
    log = LogFile(source, "sha256:" + hashlib.sha256(raw).hexdigest(), kind, text)
    if kind == "csv":
        log.columns = _header(log)
    return log


def _format_of(path: str, text: str) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if path == STDIN:
        return "jsonl" if text.lstrip().startswith("{") else "csv"
    return None


def _header(log: LogFile) -> list[str]:
    for cells in csv_rows(io.StringIO(log.text, newline="")):
        if any(cell.strip() for cell in cells):
            names = [cell.strip() for cell in cells]
            for column, name in enumerate(names, start=1):
                if not name:
                    raise SpecError.single(
                        Location(log.source, 1), "", f"column {column} of the header has no name"
                    )
                if names.count(name) > 1:
                    raise SpecError.single(
                        Location(log.source, 1), "", f"column '{name}' appears twice"
                    )
            return names
    raise SpecError.single(Location(log.source), "", "file is empty; expected a header row")


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError.single(
            Location(source, line), "", "not valid UTF-8; save the log as UTF-8"
        ) from None
