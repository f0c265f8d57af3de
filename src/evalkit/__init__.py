"""evalkit: measure whether language models do your work well.

The Python API mirrors the CLI: `run` executes a plan and records it in DuckDB,
`results` reads a recorded run back as pandas DataFrames.
"""

from typing import TYPE_CHECKING, Any

from evalkit.errors import EvalkitError
from evalkit.records import Case, Grade, Status, TargetOutput

if TYPE_CHECKING:
    from evalkit._version import __version__
    from evalkit.api import Results, results, run
    from evalkit.graders.base import Score, Skip, grader

__all__ = [
    "Case",
    "EvalkitError",
    "Grade",
    "Results",
    "Score",
    "Skip",
    "Status",
    "TargetOutput",
    "__version__",
    "grader",
    "results",
    "run",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the run API pulls in the engine, the SDKs and DuckDB, the
    # graders every built-in grader. Importing `evalkit` (which pytest does in every
    # session, through the plugin) must not.
    if name == "__version__":  # reading the installed metadata costs 30 ms of start-up
        from evalkit._version import __version__

        return __version__
    if name in ("run", "results", "Results"):
        from evalkit import api

        return getattr(api, name)
    if name in ("Score", "Skip", "grader"):
        from evalkit.graders import base

        return getattr(base, name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
