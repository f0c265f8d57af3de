"""`cases_from:` Parquet files and Hugging Face datasets (built on disk here, never
downloaded), with `map:` renaming columns, as for CSV and JSONL."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest

from evalkit.errors import SpecError
from evalkit.workspace import load_suite
from evalkit.workspace.loaded import LoadedSuite
from tests.workspace.conftest import Workspace

ROWS = {
    "id": ["q1", "q2"],
    "prompt": ["What is 2+2?", "Capital of France?"],
    "answer": ["4", "Paris"],
    "tags": [["math"], ["geo", "easy"]],
    "metadata.source": ["kb-1", "kb-2"],
}


def suite_with(ws: Workspace, entry: str) -> LoadedSuite:
    text = f"name: s\ndefaults: {{graders: [{{type: icontains}}]}}\ncases_from:\n  - {entry}\n"
    return load_suite(ws.write("suites/s.yaml", text), ws.root)


def check_cases(suite: LoadedSuite) -> None:
    first, second = suite.cases
    assert (first.id, first.vars, first.expected) == ("q1", {"question": "What is 2+2?"}, "4")
    assert second.tags == ["geo", "easy"] and second.metadata == {"source": "kb-2"}
    assert [g.name for g in second.graders] == ["icontains"]


def test_parquet_rows_become_cases(ws: Workspace) -> None:
    pd.DataFrame(ROWS).to_parquet(ws.root / "suites" / "rows.parquet")
    check_cases(suite_with(ws, "{path: rows.parquet, map: {prompt: question, answer: expected}}"))


def test_a_saved_dataset_folder_becomes_cases(ws: Workspace) -> None:
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(ws.root / "suites" / "qa"))
    check_cases(suite_with(ws, "{path: qa, map: {prompt: question, answer: expected}}"))


def test_a_dataset_dict_uses_its_train_split(ws: Workspace) -> None:
    splits = datasets.DatasetDict(
        train=datasets.Dataset.from_dict(ROWS),
        test=datasets.Dataset.from_dict({k: v[:1] for k, v in ROWS.items()}),
    )
    splits.save_to_disk(str(ws.root / "suites" / "qa"))
    assert len(suite_with(ws, "{path: qa, map: {prompt: question, answer: expected}}").cases) == 2


def test_a_mapped_column_the_data_lacks_is_an_error(ws: Workspace) -> None:
    pd.DataFrame(ROWS).to_parquet(ws.root / "suites" / "rows.parquet")
    with pytest.raises(SpecError) as caught:
        suite_with(ws, "{path: rows.parquet, map: {question_text: question}}")
    assert "column 'question_text' is not in suites/rows.parquet" in str(caught.value)
    assert "suites/s.yaml:4" in str(caught.value)


def test_an_unreadable_dataset_names_the_source(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # offline, as the machine is: looking the name up on the Hub would only time out
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    with pytest.raises(SpecError) as caught:
        suite_with(ws, "{path: 'hf://no-such-org/no-such-dataset-evalkit'}")
    assert "hf://no-such-org/no-such-dataset-evalkit" in str(caught.value)
    assert "cannot load the dataset" in str(caught.value)


def test_a_deeply_nested_graders_cell_in_parquet_is_refused(ws: Workspace) -> None:
    deep = "[" * 5000 + "]" * 5000
    graders = ['[{"type": "icontains", "value": "a"}]', f'[{{"type": "equals", "value": {deep}}}]']
    pd.DataFrame({"question": ["q1", "q2"], "graders": graders}).to_parquet(
        ws.root / "suites" / "rows.parquet"
    )
    with pytest.raises(SpecError) as caught:
        suite_with(ws, "rows.parquet")
    assert str(caught.value) == (
        "suites/rows.parquet:2 graders: a value is nested more than 100 levels deep; flatten it"
    )
