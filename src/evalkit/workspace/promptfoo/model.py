"""What a conversion produces, and the bookkeeping every converter shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import Location
from evalkit.workspace.validation import field_path
from evalkit.workspace.yamlfile import YamlDocument, YamlPath

Locate = Callable[[YamlPath], Location]


@dataclass(frozen=True, slots=True)
class Unconverted:
    """A part of the promptfoo config with no evalkit equivalent, and why."""

    location: Location
    field: str  # e.g. tests[3].assert[1]
    why: str

    def __str__(self) -> str:
        where = f"{self.location} {self.field}" if self.field else str(self.location)
        return f"{where}: {self.why}"


@dataclass(slots=True)
class Conversion:
    """An evalkit plan and suite (as YAML-ready data), files to write beside them, and
    everything left behind."""

    name: str
    plan: dict[str, Any]
    suite: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    unconverted: list[Unconverted] = field(default_factory=list)


@dataclass(slots=True)
class Source:
    """One file being read: how to name its places in messages."""

    label: str
    locate: Locate

    @classmethod
    def of_yaml(cls, doc: YamlDocument) -> Source:
        """A YAML file: every path has its own line and column."""
        return cls(doc.source, doc.location)

    @classmethod
    def whole(cls, label: str, line: int | None = None) -> Source:
        """A file (or one line of it) whose inner paths have no positions of their own."""
        return cls(label, lambda _path: Location(label, line))


@dataclass(slots=True)
class Context:
    """The config's folder, the problems found so far, and the files to write."""

    base: Path  # the promptfoo config's folder: file:// paths are relative to it
    root: Path  # the evalkit workspace the result is written into
    name: str
    problems: list[Unconverted] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def skip(self, source: Source, path: YamlPath, why: str) -> None:
        """Record that the part at `path` of `source` was not converted, and why."""
        self.problems.append(Unconverted(source.locate(path), field_path(path), why))

    def relative(self, path: Path) -> str:
        """`path` relative to the workspace root (generated code and commands use it)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix() or "."
        except ValueError:
            return str(path.resolve())

    def label(self, path: Path) -> str:
        """How messages name a file the config refers to."""
        try:
            return path.resolve().relative_to(self.base.resolve()).as_posix()
        except ValueError:
            return str(path)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")


def slug(text: str, fallback: str) -> str:
    """A safe evalkit id from free text (labels, descriptions, provider ids)."""
    cleaned = _UNSAFE.sub("-", text.strip()).strip("-.:").lower()[:60].strip("-.:")
    return cleaned or fallback


def unique(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... whichever is not taken yet (then taken)."""
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}-{n}"
    taken.add(candidate)
    return candidate


def file_ref(value: Any) -> str | None:
    """The path of a `file://...` reference, else None."""
    if isinstance(value, str) and value.startswith("file://"):
        return value[len("file://") :]
    return None
