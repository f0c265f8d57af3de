"""The consoles every command prints to, and shared formatting helpers."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from evalkit.workspace.root import default_db_path, find_root

LOG_WIDTH = 160  # CI logs have no terminal width; 80 columns would squash the tables


def _console(*, stderr: bool) -> Console:
    # NO_COLOR (no-color.org) means no styling at all: rich drops colours by itself,
    # and without the escape codes of bold and dim too a log or screen reader stays plain.
    plain = bool(os.environ.get("NO_COLOR"))
    made = Console(stderr=stderr, highlight=False, no_color=plain or None)
    if plain:
        made._color_system = None
    if not made.is_terminal and "COLUMNS" not in os.environ:
        made.width = LOG_WIDTH
    return made


console = _console(stderr=False)
err_console = _console(stderr=True)


def db_path(db: Path | None, workspace: Path | None = None) -> Path:
    """--db, else $EVALKIT_DB, else the workspace's `.evalkit/evalkit.duckdb`."""
    if db is not None:
        return db
    return default_db_path(find_root(workspace))


def present(value: object) -> bool:
    """False for None and NaN (DuckDB gives NaN for an average over nothing)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def text(value: object) -> str:
    """A cell as text, '' when missing."""
    return str(value) if present(value) else ""


def pct(value: Any) -> str:
    """0.8123 -> '81.2%'; missing -> '-'."""
    if not present(value):
        return "-"
    return f"{value:.1%}"


def num(value: Any, fmt: str = "{:.2f}") -> str:
    """Format a number, '-' when missing."""
    if not present(value):
        return "-"
    return fmt.format(value)


def money(value: Any) -> str:
    """USD with enough digits for cheap calls; '-' when the price is unknown (never $0)."""
    if not present(value):
        return "-"
    if 0 < value < 0.0001:
        return "<$0.0001"  # a real, tiny cost: not free
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"
