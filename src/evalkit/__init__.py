"""evalkit: measure whether language models do your work well.

The Python API mirrors the CLI: `run` executes a plan and records it in DuckDB,
`results` reads a recorded run back as pandas DataFrames.
"""

from typing import TYPE_CHECKING, Any

from evalkit._version import __version__
from evalkit.errors import EvalkitError
from evalkit.graders.base import Score, Skip, grader
from evalkit.records import Case, Grade, Status, TargetOutput

if TYPE_CHECKING:
    from evalkit.api import Results, results, run

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
    # The run API pulls in the engine, the SDKs and DuckDB; importing `evalkit` to
    # register a grader should not.
    if name in ("run", "results", "Results"):
        from evalkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
