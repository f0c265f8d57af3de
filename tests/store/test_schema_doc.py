"""The README's schema reference is generated from the migrations and kept current."""

from __future__ import annotations

from pathlib import Path

from evalkit.store.schema_doc import END, START, render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_schema_section_is_current() -> None:
    text = README.read_text()
    section = text[text.index(START) : text.index(END) + len(END)] + "\n"
    assert section == render(), "run: python -m evalkit.store.schema_doc README.md"


def test_every_column_users_query_is_described() -> None:
    undocumented = [line for line in render().splitlines() if line.endswith("|  |")]
    assert undocumented == []
