"""The README's schema reference, generated from the shipped migrations.

    python -m evalkit.store.schema_doc README.md   # rewrite the section in place

Column names and types come from a database migrated in memory (the truth); the
descriptions come from the `-- comment` after each column in the migration files.
A test fails when the README's section is not what this module generates.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

from evalkit.store.migrations import migrate, shipped_migrations

START = "<!-- schema:start -->"
END = "<!-- schema:end -->"
_COLUMN_COMMENT = re.compile(r"^\s+([a-z_]+)\s+[A-Z][^-]*--\s*(.+)$")
_TABLE = re.compile(r"^CREATE TABLE (\w+)")
_VIEW = re.compile(r"^CREATE VIEW (\w+)")
# A later migration adds a column with one commented `ALTER TABLE t ADD COLUMN c TYPE;` line.
_ADDED = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN ([a-z_]+)\s+[A-Z][^-]*--\s*(.+)$")
# A view documents its columns in the comment above it: `--   col, col   meaning`.
_VIEW_COMMENT = re.compile(r"^--\s{3}([a-z_]+(?:,\s*[a-z_]+)*)\s{2}(.+)$")


def _column_comments() -> dict[tuple[str, str], str]:
    comments: dict[tuple[str, str], str] = {}
    for migration in shipped_migrations():
        table = None
        pending: dict[str, str] = {}
        for line in migration.sql.splitlines():
            if found := _TABLE.match(line):
                table = found[1]
            elif added := _ADDED.match(line):
                comments[(added[1], added[2])] = added[3].strip()
            elif found := _VIEW.match(line):
                comments.update({(found[1], col): text for col, text in pending.items()})
                table, pending = None, {}
            elif view_col := _VIEW_COMMENT.match(line):
                for col in view_col[1].split(","):
                    pending[col.strip()] = view_col[2].strip()
            elif table and (col := _COLUMN_COMMENT.match(line)):
                comments[(table, col[1])] = col[2].strip()
    return comments


def render() -> str:
    """The Markdown section documenting every table and view users can query."""
    con = duckdb.connect(":memory:")
    migrate(con, ":memory:")
    comments = _column_comments()
    rows = con.execute(
        """
        SELECT c.table_name, c.column_name, c.data_type, t.table_type
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'main' AND c.table_name <> 'schema_migrations'
        ORDER BY t.table_type, c.table_name, c.ordinal_position
        """
    ).fetchall()
    version = max(m.version for m in shipped_migrations())
    out = [
        START,
        f"Schema version {version}. Tables change only through added migrations; "
        "every run, result and grade stays queryable with plain SQL.",
        "",
    ]
    current = None
    for table, column, dtype, kind in rows:
        if table != current:
            current = table
            noun = "view" if kind == "VIEW" else "table"
            out += [
                "",
                f"**`{table}`** ({noun})",
                "",
                "| column | type | meaning |",
                "| --- | --- | --- |",
            ]
        meaning = comments.get((table, column), "").replace("|", "\\|")
        out.append(f"| `{column}` | {dtype} | {meaning} |")
    out.append(END)
    return "\n".join(out) + "\n"


def rewrite(readme: Path) -> bool:
    """Replace the section between the markers; True when the file changed."""
    text = readme.read_text()
    start, end = text.index(START), text.index(END) + len(END) + 1
    updated = text[:start] + render() + text[end:]
    if updated != text:
        readme.write_text(updated)
    return updated != text


if __name__ == "__main__":
    changed = rewrite(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README schema section " + ("updated" if changed else "already current"))
