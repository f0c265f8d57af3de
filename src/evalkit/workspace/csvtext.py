"""Reading CSV the way every evalkit reader does: cells as long as a case needs.

Python's `csv` refuses a field over 128 KiB by default, yet a retrieved document, a long
production answer or a transcript is an ordinary cell of a case file or a log export.
The limit is raised (process-wide: `csv` keeps it in one place) to a bound that still
stops a hostile file from growing one field without end.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _csv import Reader

FIELD_LIMIT = 256 * 1024 * 1024  # characters in one cell


def csv_rows(lines: Iterable[str], **options: Any) -> Reader:
    """`csv.reader(lines, **options)` with cells of up to FIELD_LIMIT characters."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    return csv.reader(lines, **options)
