"""The errors evalkit raises on purpose.

Expected failures are ``EvalkitError``s: the CLI prints their message without a
traceback and exits with their ``exit_code`` (pytest's numbering, see DESIGN.md).

    EvalkitError                      exit 3 unless a subclass says otherwise
    ├── UsageError                    exit 4: bad flags or arguments
    ├── ConfigError                   exit 4: a file the user wrote is wrong
    │   ├── SpecError                 with file:line:col of the offending node
    │   └── WorkspaceError            no workspace, or a path escapes it
    ├── StoreError                    exit 3: the DuckDB database can't be used
    │   └── StoreBusyError            another process holds the database
    ├── TargetError                   exit 3: a target could not be set up
    └── GraderError                   exit 3: a grader could not be set up
"""

from __future__ import annotations

from dataclasses import dataclass


class EvalkitError(Exception):
    """Base of every error evalkit raises deliberately."""

    exit_code: int = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(EvalkitError):
    """The command line was wrong."""

    exit_code = 4


class ConfigError(EvalkitError):
    """A configuration or suite file the user wrote is wrong."""

    exit_code = 4


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a user's file something is: 1-based line and column."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


class SpecError(ConfigError):
    """One or more problems in a YAML/CSV/JSONL file, each with its location."""

    def __init__(self, problems: list[tuple[Location, str, str]]) -> None:
        # each problem: (location, field path like "cases[3].graders[0]", message)
        self.problems = problems
        lines = [_format_problem(loc, field, msg) for loc, field, msg in problems]
        super().__init__("\n".join(lines))

    @classmethod
    def single(cls, location: Location, field: str, message: str) -> SpecError:
        """A SpecError with exactly one problem."""
        return cls([(location, field, message)])


def _format_problem(location: Location, field: str, message: str) -> str:
    if field:
        return f"{location} {field}: {message}"
    return f"{location}: {message}"


class WorkspaceError(ConfigError):
    """No workspace was found, or a path points outside it."""


class StoreError(EvalkitError):
    """The results database can't be opened, migrated or written."""


class StoreBusyError(StoreError):
    """Another process holds the database's write lock."""


class TargetError(EvalkitError):
    """A target could not be constructed (bad config, missing module)."""


class GraderError(EvalkitError):
    """A grader could not be constructed (unknown name, bad arguments)."""
