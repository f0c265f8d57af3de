"""The spreadsheet round trip: export the queue, fill it as a reviewer would, import it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evalkit.review.spreadsheet import CELL_LIMIT, COLUMNS, guard, unguard
from tests.review.conftest import HOSTILE, Cli, JudgeWorkspace, in_force, labels


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as src:
        return list(csv.DictReader(src))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Save as a spreadsheet would: every column kept, the reviewer's cells filled."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fill(rows: list[dict[str, str]], **by_case: tuple[str, str, str]) -> None:
    for row in rows:
        if row["case_id"] in by_case:
            row["verdict"], row["score"], row["note"] = by_case[row["case_id"]]


def test_csv_round_trip_adds_labels_once(ws: JudgeWorkspace, recorded: str, cli: Cli) -> None:
    grades_before = ws.sql("SELECT * FROM grades ORDER BY trial_id, idx")
    sheet = ws.root / "review.csv"
    code, out = cli("review", "--failing", "--export", str(sheet))
    assert code == 0, out
    rows = read_csv(sheet)
    assert list(rows[0]) == list(COLUMNS)
    assert [r["case_id"] for r in rows] == ["b-fail", "c-split", "d-error", "g-hostile"]
    assert all(not r["verdict"] and not r["score"] and not r["note"] for r in rows)
    split = rows[1]
    assert split["machine_status"] == "fail" and "mentions-refund: fail" in split["machine_reasons"]
    assert split["context"] == "[1] Refunds: 30 days.\n[2] Shipping: 3 days."
    fill(
        rows,
        **{
            "b-fail": ("pass", "", "fine: the policy says 'no idea' is allowed"),
            "c-split": ("accept", "", ""),
            "d-error": ("fail", "0.1", ""),
        },
    )
    write_csv(sheet, rows)
    code, out = cli("review", "--import", str(sheet), "--reviewer", "Dr. Ada")
    assert code == 0, out
    assert "3 labelled, 0 unchanged (already in force), 1 blank" in out
    saved = sorted(labels(ws.db), key=lambda r: str(r["trial_id"]))
    assert [(r["trial_id"].split("/")[1], r["action"], r["passed"], r["score"]) for r in saved] == [
        ("b-fail@sut#0", "override", True, None),
        ("c-split@sut#0", "accept", False, None),
        ("d-error@sut#0", "override", False, 0.1),
    ]
    assert {r["source"] for r in saved} == {"csv"} and {r["reviewer"] for r in saved} == {"Dr. Ada"}
    assert saved[0]["note"] == "fine: the policy says 'no idea' is allowed"
    assert [r["machine_status"] for r in saved] == ["fail", "fail", "error"]
    assert all(r["case_hash"].startswith("sha256:") and r["grade_idx"] is None for r in saved)

    code, out = cli("review", "--import", str(sheet), "--reviewer", "Dr. Ada")
    assert code == 0 and "0 labelled, 3 unchanged" in out
    assert len(labels(ws.db)) == 3
    assert ws.sql("SELECT * FROM grades ORDER BY trial_id, idx") == grades_before

    # the export now shows the verdicts in force; a changed verdict appends, a retract withdraws
    code, _ = cli("review", "--failing", "--export", str(sheet))
    rows = read_csv(sheet)
    assert [r["human_verdict"] for r in rows] == ["pass", "fail", "fail", ""]
    assert rows[0]["human_note"].startswith("fine:") and rows[0]["human_reviewer"] == "Dr. Ada"
    fill(rows, **{"b-fail": ("fail", "", ""), "c-split": ("retract", "", "")})
    write_csv(sheet, rows)
    code, out = cli("review", "--import", str(sheet))
    assert code == 0 and "2 labelled" in out, out
    current = in_force(ws.db)
    assert current[("support/b-fail@sut#0", None)].passed is False
    assert ("support/c-split@sut#0", None) not in current
    assert len(labels(ws.db)) == 5  # history kept: nothing was overwritten


def test_a_note_alone_amends_the_verdict_in_force(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    sheet = ws.root / "r.csv"
    cli("review", "--export", str(sheet))
    rows = read_csv(sheet)
    fill(rows, **{"a-pass": ("accept", "", "")})
    write_csv(sheet, rows)
    assert cli("review", "--import", str(sheet))[0] == 0
    fill(rows, **{"a-pass": ("", "", "checked against the policy page")})
    write_csv(sheet, rows)
    code, out = cli("review", "--import", str(sheet))
    assert code == 0 and "1 labelled" in out, out
    label = in_force(ws.db)[("support/a-pass@sut#0", None)]
    assert (label.action, label.passed, label.note) == (
        "accept",
        True,
        "checked against the policy page",
    )
    # a score alone is a verdict: it passes at the threshold (0.5 for a whole trial)
    fill(rows, **{"a-pass": ("", "0.4", "")})
    write_csv(sheet, rows)
    assert cli("review", "--import", str(sheet))[0] == 0
    label = in_force(ws.db)[("support/a-pass@sut#0", None)]
    assert (label.action, label.passed, label.score) == ("override", False, 0.4)


def test_formula_like_cells_are_written_as_text_and_read_back(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    sheet = ws.root / "r.csv"
    cli("review", "--export", str(sheet))
    raw = sheet.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in raw
    for row in read_csv(sheet):
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    hostile = next(r for r in read_csv(sheet) if r["case_id"] == "g-hostile")
    assert unguard(hostile["output"]) == HOSTILE
    rows = read_csv(sheet)
    fill(rows, **{"g-hostile": ("fail", "", guard("=1+1 is what the reviewer typed"))})
    write_csv(sheet, rows)
    assert cli("review", "--import", str(sheet))[0] == 0
    assert labels(ws.db)[0]["note"] == "=1+1 is what the reviewer typed"


@pytest.mark.parametrize(
    "text", ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "'=x", "'plain", "plain", ""]
)
def test_guard_is_undone_by_unguard(text: str) -> None:
    assert unguard(guard(text)) == text
    assert not guard(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_round_trip(ws: JudgeWorkspace, recorded: str, cli: Cli) -> None:
    sheet = ws.root / "review.xlsx"
    code, out = cli("review", "--grader", "llm-rubric", "--export", str(sheet))
    assert code == 0 and "wrote 2 item(s)" in out, out
    book = load_workbook(sheet)
    page = book.active
    assert page is not None
    header = [c.value for c in page[1]]
    assert header == list(COLUMNS)
    assert all(c.font.bold for c in page[1]) and page.freeze_panes == "A2"
    col = {name: i + 1 for i, name in enumerate(COLUMNS)}
    assert page.cell(2, col["output"]).alignment.wrap_text
    assert page.column_dimensions["M"].width == 60  # output, the widest
    assert {str(v.sqref) for v in page.data_validations.dataValidation} == {"V2:V3", "W2:W3"}
    assert (
        page.cell(2, col["grade_idx"]).value == 0
        and page.cell(2, col["metric"]).value == "llm-rubric"
    )
    page.cell(2, col["verdict"]).value = "fail"
    page.cell(2, col["note"]).value = "not polite: 'Hi.' is curt"
    page.cell(3, col["score"]).value = 0.9
    book.save(sheet)
    code, out = cli("review", "--import", str(sheet))
    assert code == 0 and "2 labelled" in out, out
    saved = {r["trial_id"]: r for r in labels(ws.db)}
    wavering = saved["support/e-wavering@sut#0"]
    assert (wavering["grade_idx"], wavering["metric"], wavering["passed"]) == (
        0,
        "llm-rubric",
        False,
    )
    assert wavering["source"] == "xlsx" and wavering["note"] == "not polite: 'Hi.' is curt"
    steady = saved["support/f-steady@sut#0"]
    assert (steady["passed"], steady["score"], steady["action"]) == (True, 0.9, "override")
    assert cli("review", "--import", str(sheet))[1].count("0 labelled, 2 unchanged") == 1


def test_hostile_cells_in_xlsx_are_text_not_formulas(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    sheet = ws.root / "review.xlsx"
    cli("review", "--export", str(sheet))
    page = load_workbook(sheet).active
    assert page is not None
    output = page.cell(8, COLUMNS.index("output") + 1)
    assert output.value == HOSTILE and output.data_type == "s" and output.quotePrefix
    assert not any(c.data_type == "f" for row in page.iter_rows() for c in row)


def test_every_bad_cell_is_named_and_nothing_is_saved(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    sheet = ws.root / "bad.csv"
    cli("review", "--grader", "icontains", "--export", str(sheet))
    rows = read_csv(sheet)  # d-error has no grade; both of c-split's graders are icontains
    assert [r["case_id"] for r in rows] == ["a-pass", "b-fail", "c-split", "c-split", "g-hostile"]
    rows[0]["verdict"] = "pass"  # fine on its own
    rows[1]["verdict"] = "maybe"
    rows[2]["verdict"], rows[2]["score"] = "fail", "1.5"
    rows[3]["verdict"] = "accept"  # fine on its own
    rows[4]["verdict"], rows[4]["metric"] = "fail", "llm-rubric"
    extra = dict(rows[0], trial_id="support/zz@sut#0")
    other = dict(rows[0], run_id="20990101T000000-ffffff")
    changed = dict(rows[0], case_hash="sha256:00")
    write_csv(sheet, [*rows, extra, other, changed])
    code, out = cli("review", "--import", str(sheet))
    assert code == 4, out
    flat = " ".join(out.split())  # the console wraps long lines
    for expected in (
        "bad.csv:row 3 column verdict: 'maybe' is not a verdict",
        "bad.csv:row 4 column score: '1.5' is not a score from 0 to 1",
        "bad.csv:row 6 column metric: grade 0 of support/g-hostile@sut#0 is 'icontains'",
        "bad.csv:row 7 column trial_id: no trial 'support/zz@sut#0'",
        "bad.csv:row 8 column run_id: no run '20990101T000000-ffffff'",
        "bad.csv:row 9 column case_hash: the case of support/a-pass@sut#0 is",
        "nothing was saved",
    ):
        assert expected in flat, expected
    assert labels(ws.db) == []


def test_a_missing_column_or_duplicate_row_is_refused(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    sheet = ws.root / "r.csv"
    cli("review", "--export", str(sheet))
    rows = read_csv(sheet)
    rows[0]["verdict"] = "pass"
    write_csv(sheet, [rows[0], rows[0]])
    code, out = cli("review", "--import", str(sheet))
    assert code == 4 and "r.csv:row 3 column trial_id: the same item as row 2" in out, out
    write_csv(sheet, [{k: v for k, v in rows[0].items() if k != "verdict"}])
    code, out = cli("review", "--import", str(sheet))
    assert code == 4 and "r.csv:row 1 column verdict: missing column" in out
    code, out = cli("review", "latest", "--import", str(sheet))
    assert code == 4 and "--import reads the run" in out
    assert labels(ws.db) == []


def test_outputs_beyond_a_cell_are_cut_with_a_marker_and_never_imported(
    ws: JudgeWorkspace, recorded: str, cli: Cli
) -> None:
    long = "word " * 9000  # 45,000 characters
    ws.suite(
        [
            {
                "id": "long",
                "vars": {"question": "Q-long?", "answer": long},
                "graders": [{"type": "icontains", "value": "30"}],
            }
        ],
        name="support",
    )
    cli("run")
    for ext in ("csv", "xlsx"):
        sheet = ws.root / f"long.{ext}"
        assert cli("review", "--export", str(sheet))[0] == 0
        if ext == "csv":
            rows = read_csv(sheet)
            output = rows[0]["output"]
        else:
            page = load_workbook(sheet).active
            assert page is not None
            output = str(page.cell(2, COLUMNS.index("output") + 1).value)
        assert len(output) <= CELL_LIMIT and "cut by evalkit" in output
        assert output.startswith("word word")
    rows = read_csv(ws.root / "long.csv")
    fill(rows, long=("fail", "", "rambles"))
    write_csv(ws.root / "long.csv", rows)
    code, out = cli("review", "--import", str(ws.root / "long.csv"))
    assert code == 0 and "1 labelled" in out, out
