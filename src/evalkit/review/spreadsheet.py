"""The review queue as a spreadsheet (CSV or XLSX), and such a sheet read back.

Domain experts review where they are at home: a spreadsheet. The sheet holds the same
items as the terminal queue, in the same order, with three empty columns to fill
(`verdict`, `score`, `note`); `importer.py` turns a filled sheet back into labels.

Cells come from model output and from users, so two guards apply on the way out: a
cell starting with `=`, `+`, `-`, `@` (or tab/CR) would be run as a formula by Excel and
LibreOffice, so it is written as text (a leading `'` in CSV; a text cell with Excel's
quote-prefix in XLSX), and the `'` is removed again on import; and a cell is cut to
Excel's 32,767-character limit with a marker saying so.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.review import fields
from evalkit.review.queue import Item, Queue
from evalkit.workspace.csvtext import csv_rows

COLUMNS = (
    "run_id",
    "trial_id",
    "case_hash",
    "grade_idx",
    "metric",
    "suite",
    "case_id",
    "target",
    "prompt",
    "epoch",
    "input",
    "expected",
    "output",
    "context",
    "machine_status",
    "machine_score",
    "machine_reasons",
    "human_verdict",
    "human_score",
    "human_note",
    "human_reviewer",
    "verdict",
    "score",
    "note",
)
FILL_IN = ("verdict", "score", "note")  # the reviewer's columns, empty on export
VERDICTS = ("pass", "fail", "accept", "retract")
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}

CELL_LIMIT = 32_767  # Excel's maximum characters in one cell
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TRUNCATED = "\n… [cut by evalkit: {n} more characters; `evalkit show` has the full text]"
_WIDTHS = {"input": 50, "expected": 30, "output": 60, "context": 40, "machine_reasons": 50}
_WRAPPED = ("input", "expected", "output", "context", "machine_reasons", "human_note", "note")


def sheet_format(path: Path) -> str:
    """'csv' or 'xlsx' from the file's extension; a usage error otherwise."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise UsageError(
            f"{path}: a review sheet is a .csv or .xlsx file, not '{path.suffix or path.name}'",
            hint="e.g. --export review.xlsx",
        )
    return found


def guard(text: str) -> str:
    """`text` made safe for a CSV cell: formula-like starts get a leading `'`."""
    if text.startswith((*_FORMULA_STARTS, "'")):
        return "'" + text
    return text


def unguard(text: str) -> str:
    """The inverse of `guard`: drop one leading `'` that guards a formula-like start."""
    if len(text) >= 2 and text[0] == "'" and text[1] in (*_FORMULA_STARTS, "'"):
        return text[1:]
    return text


def fit(text: str) -> str:
    """`text` cut to fit one spreadsheet cell, with a marker saying how much was cut."""
    if len(text) <= CELL_LIMIT:
        return text
    keep = CELL_LIMIT - len(_TRUNCATED.format(n=len(text))) - 1  # room for the guard's '
    return text[:keep] + _TRUNCATED.format(n=len(text) - keep)


def row_values(queue: Queue, item: Item) -> dict[str, Any]:
    """One sheet row for `item`: its identity, what is reviewed, and the human verdict."""
    label = queue.labels.get(item.key)
    return {
        "run_id": item.run_id,
        "trial_id": item.trial_id,
        "case_hash": item.case_hash,
        "grade_idx": item.grade_idx,
        "metric": item.metric,
        "suite": item.suite,
        "case_id": item.case_id,
        "target": item.target,
        "prompt": item.prompt,
        "epoch": item.epoch,
        "input": fields.input_text(item),
        "expected": fields.expected_text(item),
        "output": fields.output_text(item),
        "context": fields.context_text(item),
        "machine_status": item.machine_status,
        "machine_score": item.machine_score,
        "machine_reasons": fields.reasons_text(item),
        "human_verdict": None if label is None else ("pass" if label.passed else "fail"),
        "human_score": None if label is None else label.score,
        "human_note": None if label is None else label.note,
        "human_reviewer": None if label is None else label.reviewer,
        "verdict": None,
        "score": None,
        "note": None,
    }


def export_sheet(queue: Queue, path: Path) -> int:
    """Write `queue` to `path` (.csv or .xlsx); returns the number of rows written."""
    kind = sheet_format(path)
    rows = [row_values(queue, item) for item in queue.items]
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        _write_csv(rows, path)
    else:
        _write_xlsx(rows, path)
    return len(rows)


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    # utf-8 with a BOM: Excel otherwise reads UTF-8 CSV as the local code page
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_csv_cell(row[column]) for column in COLUMNS])


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return guard(fit(str(value)))


def _write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    from openpyxl import Workbook  # only exports and imports of .xlsx pay for openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "review"
    sheet.append(list(COLUMNS))
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    fill = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
    for r, row in enumerate(rows, start=2):
        for c, column in enumerate(COLUMNS, start=1):
            value = row[column]
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, str):
                # XML cannot carry most control characters; a model can emit them anyway
                text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", fit(value))
                cell.value = text
                cell.data_type = "s"  # never a formula, whatever the text starts with
                if text.startswith(_FORMULA_STARTS):
                    cell.quotePrefix = True  # stays text when someone edits the cell
            else:
                cell.value = value
            cell.alignment = wrap if column in _WRAPPED else top
            if column in FILL_IN:
                cell.fill = fill
    for c, column in enumerate(COLUMNS, start=1):
        header = sheet.cell(row=1, column=c)
        header.font = Font(bold=True)
        if column in FILL_IN:
            header.fill = fill
        sheet.column_dimensions[get_column_letter(c)].width = _WIDTHS.get(column, 14)
    sheet.freeze_panes = "A2"
    last = max(len(rows) + 1, 2)
    verdict = DataValidation(type="list", formula1='"' + ",".join(VERDICTS) + '"', allow_blank=True)
    score = DataValidation(type="decimal", operator="between", formula1="0", formula2="1")
    score.allow_blank = True
    for validation, column in ((verdict, "verdict"), (score, "score")):
        letter = get_column_letter(COLUMNS.index(column) + 1)
        validation.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(validation)
    book.save(path)


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One data row of a filled sheet: its row number as the spreadsheet shows it."""

    number: int
    cells: dict[str, str]  # column name -> text, unguarded; '' when empty


def read_sheet(path: Path) -> tuple[list[str], list[SheetRow]]:
    """The header and data rows of a .csv or .xlsx review sheet."""
    kind = sheet_format(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file", hint="give the sheet written by --export")
    rows = list(_csv_rows(path) if kind == "csv" else _xlsx_rows(path))
    if not rows:
        return [], []
    header = [name.strip().lower() for name in rows[0]]
    data = []
    for number, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # a blank line, or a row a spreadsheet left empty at the end
        cells = {
            name: unguard(values[i]) if i < len(values) else "" for i, name in enumerate(header)
        }
        data.append(SheetRow(number=number, cells=cells))
    return header, data


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as src:
        first = src.readline()
        src.seek(0)
        # A spreadsheet saving CSV in a locale with decimal commas uses ';' between cells
        delimiter = max((",", ";", "\t"), key=first.count)
        yield from csv_rows(src, delimiter=delimiter)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        sheet = book.active
        if sheet is None:
            return
        for values in sheet.iter_rows(values_only=True):
            yield [_xlsx_text(value) for value in values]
    finally:
        book.close()


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
