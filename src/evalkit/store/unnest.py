"""Columns as list parameters: the store's bulk-insert idiom.

`SELECT unnest(?::VARCHAR[]) AS a, unnest(?::INTEGER[]) AS b` with one Python list per
column turns into rows inside DuckDB (several unnests in one SELECT advance together).
"""

from __future__ import annotations


def unnest_select(columns: list[tuple[str, str]]) -> str:
    """A SELECT that turns one list parameter per (name, SQL type) column into rows."""
    return "SELECT " + ", ".join(f"unnest(?::{sql_type}[]) AS {name}" for name, sql_type in columns)
