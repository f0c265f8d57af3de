"""The `python` grader: a function of the user's, from a workspace file or an installed module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, PrivateAttr, model_validator

from evalkit.errors import EvalkitError
from evalkit.graders.base import grader
from evalkit.graders.modules import import_file, workspace_root
from evalkit.graders.rules._common import Params
from evalkit.records import Case, TargetOutput
from evalkit.workspace.root import inside

CheckFn = Callable[[TargetOutput, Case, dict[str, Any]], Any]


def load_function(ref: str) -> CheckFn:
    """`graders/checks.py:func` (relative to the workspace root) or `package.module:func`."""
    where, sep, attr = ref.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        raise ValueError(
            f"{ref!r} should be 'graders/checks.py:function' or 'package.module:function'"
        )
    if where.endswith(".py"):
        root = workspace_root()
        try:
            path = inside(root, where, what="python grader file")
        except EvalkitError as exc:
            raise ValueError(exc.message) from None
        if not path.is_file():
            raise ValueError(f"no file {where!r} in the workspace {root}")
        try:
            module = import_file(root, path)
        except EvalkitError as exc:
            raise ValueError(exc.message) from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f"cannot import module {where!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"{where!r} has no function {attr!r}")
    return fn  # type: ignore[no-any-return]


class PythonParams(Params):
    """`value`: the function; every other key is passed to it as a dict of arguments."""

    model_config = ConfigDict(extra="allow")

    value: str
    _fn: CheckFn | None = PrivateAttr(default=None)
    _args: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _load(self) -> PythonParams:
        self._fn = load_function(self.value)
        self._args = dict(self.model_extra or {})
        return self


@grader("python", params=PythonParams, runs_user_code=True)
def python(output: TargetOutput, case: Case, params: PythonParams) -> Any:
    """Calls `value` ("graders/checks.py:func" or "package.module:func") with (output, case, args).

    It may return any verdict (bool, score, Score, Skip), or be async.
    """
    assert params._fn is not None  # set by the validator
    return params._fn(output, case, params._args)  # BoundGrader awaits it if it is async
