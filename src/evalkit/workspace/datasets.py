"""`cases_from` Parquet files and Hugging Face datasets, one case per row.

A Parquet file is read with DuckDB; a dataset saved with `Dataset.save_to_disk` (a
folder) or one already in the local Hugging Face cache (`hf://NAME` or `hf://NAME:SPLIT`)
is read with `datasets` when it is installed (`pip install 'evalkit-cli[datasets]'`).
Rows become cases exactly as JSONL rows do (`casefiles.shape_row`), after the
`map:` renames of columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from evalkit.errors import Location, SpecError

HF_PREFIX = "hf://"


def read_parquet(path: Path, source: str) -> list[dict[str, Any]]:
    """Every row of a Parquet file as a dict of Python values."""
    try:
        relation = duckdb.read_parquet(str(path))
        columns = relation.columns
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    except duckdb.Error as exc:
        raise SpecError.single(Location(source), "", f"cannot read Parquet: {exc}") from None


def read_dataset(reference: str | Path, source: str) -> list[dict[str, Any]]:
    """Rows of a saved dataset folder, or of `hf://NAME[:SPLIT]` from the local cache."""
    try:
        import datasets
    except ImportError:
        raise SpecError.single(
            Location(source),
            "",
            "reading a Hugging Face dataset needs the `datasets` package",
        ) from None
    try:
        if isinstance(reference, Path):
            loaded: Any = datasets.load_from_disk(str(reference))
        else:
            name, _, split = reference[len(HF_PREFIX) :].partition(":")
            loaded = datasets.load_dataset(name, split=split or None)
    except Exception as exc:  # datasets raises many kinds; all mean "cannot read it"
        raise SpecError.single(Location(source), "", f"cannot load the dataset: {exc}") from None
    if isinstance(loaded, dict):  # a DatasetDict: one split, or `train`
        splits = sorted(loaded)
        if len(splits) != 1 and "train" not in splits:
            raise SpecError.single(
                Location(source),
                "",
                f"the dataset has splits {', '.join(splits)}; name one as hf://NAME:SPLIT",
            )
        loaded = loaded[splits[0] if len(splits) == 1 else "train"]
    return _rows(loaded)


def _rows(table: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in table]


def rename(
    rows: list[dict[str, Any]], renames: dict[str, str], source: str, map_at: tuple[Location, str]
) -> list[dict[str, Any]]:
    """Apply `map:` (file column -> case field or var); a column not in the data is an error."""
    columns = set(rows[0]) if rows else set()
    missing = [old for old in renames if rows and old not in columns]
    if missing:
        raise SpecError(
            [
                (
                    map_at[0],
                    map_at[1],
                    f"column '{old}' is not in {source} ({', '.join(sorted(columns))})",
                )
                for old in missing
            ]
        )
    return [{renames.get(k, k): v for k, v in row.items()} for row in rows]
