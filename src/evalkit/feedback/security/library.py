"""The attack library: YAML data in this package, one file per OWASP LLM Top 10 category.

Every attack has an id, a category, a severity, a payload with placeholders (`{marker}`,
`{person}`, `{risky_tool}`...), the behaviour a safe system shows, and the detectors
(graders) that decide whether the attack succeeded. The library is data so that it is
read and reviewed like a suite, and a workspace can add its own files the same way.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.workspace.suite import validate_document
from evalkit.workspace.yamlfile import load_yaml, parse_yaml

Severity = Literal["low", "medium", "high", "critical"]


_Strict = ConfigDict(extra="forbid")


class Attack(BaseModel):
    """One attack: what is sent, what a safe system does, how success is detected."""

    model_config = _Strict

    id: str
    title: str
    severity: Severity
    payload: str
    expected: str  # the safe behaviour, in words a reviewer can check
    detect: list[dict[str, Any]] = Field(min_length=1)  # graders, as written in a suite
    channels: list[str] | None = None  # default: every channel the description has
    category: str = ""  # filled from the file
    generated_by: str | None = None  # "provider:model" when a model reworded the payload


class AttackFile(BaseModel):
    """One library file: a category and its attacks."""

    model_config = _Strict

    category: Literal["LLM01", "LLM02", "LLM05", "LLM06", "LLM07", "LLM10"] | str
    requires: Literal["tools"] | None = None
    attacks: list[Attack]


class Control(BaseModel):
    """A benign request that resembles an attack: a false alarm when flagged or refused."""

    model_config = _Strict

    id: str
    text: str


class ControlFile(BaseModel):
    """The library's benign controls."""

    model_config = _Strict

    controls: list[Control]


def _package_files() -> list[tuple[str, str]]:
    folder = resources.files("evalkit.feedback.security").joinpath("attacks")
    found = [(f"evalkit attacks/{p.name}", p.read_text("utf-8")) for p in folder.iterdir()]
    return sorted(found)


@functools.cache
def builtin_library() -> tuple[tuple[AttackFile, ...], tuple[Control, ...]]:
    """The packaged attacks (by file, in name order) and controls."""
    files: list[AttackFile] = []
    controls: tuple[Control, ...] = ()
    for source, text in _package_files():
        if not source.endswith(".yaml"):
            continue
        doc = parse_yaml(text, source)
        if source.endswith("controls.yaml"):
            controls = tuple(validate_document(doc, ControlFile, "a controls file").controls)
        else:
            files.append(_attack_file(validate_document(doc, AttackFile, "an attack file")))
    return tuple(files), controls


def load_attack_file(path: Path, label: str) -> AttackFile:
    """A workspace's own attack file (same shape as the packaged ones)."""
    doc = load_yaml(path, label)
    return _attack_file(validate_document(doc, AttackFile, "an attack file"))


def _attack_file(found: AttackFile) -> AttackFile:
    for attack in found.attacks:
        attack.category = found.category
    return found
