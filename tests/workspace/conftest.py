"""Fixtures for the spec tests: a scratch workspace, small graders, a fake provider."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from evalkit.graders.base import GraderDef, grader, registry, unregister
from evalkit.records import Case, TargetOutput
from evalkit.targets import base as targets_base


class Workspace:
    """A workspace folder (evals/, suites/) with a helper to write dedented files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "evals").mkdir(parents=True)
        (root / "suites").mkdir()

    def write(self, relative: str, text: str) -> Path:
        """Write `text` (dedented) to `relative` under the root and return its path."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """An empty workspace in a temporary folder."""
    return Workspace(tmp_path / "ws")


class ContainsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str | None = None
    case_sensitive: bool = True


class LengthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max: int


def _contains(output: TargetOutput, case: Case, params: ContainsParams) -> bool:
    return (params.value or str(case.expected)) in (output.text or "")


def _length(output: TargetOutput, case: Case, params: LengthParams) -> bool:
    return len(output.text or "") <= params.max


@pytest.fixture(autouse=True)
def small_graders() -> Iterator[None]:
    """Register `contains` and `length` for the test; restore whatever was there before."""
    names = ("contains", "length")
    saved: dict[str, GraderDef[Any]] = {n: registry()[n] for n in names if n in registry()}
    grader("contains", params=ContainsParams)(_contains)
    grader("length", params=LengthParams, value_field=None)(_length)
    yield
    for name in names:
        unregister(name)
        if name in saved:
            registry()[name] = saved[name]


class FakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    max_tokens: int = 100


class FakeProvider:
    """Never constructed here: plans only validate its options."""

    Options: ClassVar[type[BaseModel]] = FakeOptions


@pytest.fixture
def fake_provider() -> Iterator[str]:
    """A provider registered as "fake" for the test, removed afterwards."""
    targets_base.register("fake")(FakeProvider)
    yield "fake"
    # targets.base has no unregister (providers are registered once, at import).
    targets_base._REGISTRY.pop("fake", None)
