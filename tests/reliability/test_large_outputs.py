"""Large outputs are stored out of line, whole, and a run of them fits under a memory cap.

DuckDB pins every string over ~64 KB of a row group at once to checkpoint it, so a run of
large outputs under a memory cap used to stop with DuckDB's "failed to pin block"
(measured in plain DuckDB: 100 KB strings under 256 MB failed after ~400 MB).
"""

from __future__ import annotations

import json

import pytest

from evalkit.store.large_texts import LARGE_TEXT_BYTES, PART_CHARS, LargeTexts, is_large
from tests.cli.conftest import Workspace
from tests.harness import Cli

# 2,000 distinct outputs of ~100 KB (200 MB of large strings), under a 128 MB cap
CASES = 2000
SYSTEM = """\
import hashlib

def answer(case):
    seed = hashlib.sha256(case.id.encode()).hexdigest()
    if case.id == "c0":  # four-byte characters: a part must stay under 32 KB of UTF-8
        return "\\U0001F600" * 40000
    return "answer " + (seed * 1600)
"""


def test_stash_keeps_short_texts_inline_and_splits_long_ones() -> None:
    large = LargeTexts()
    assert large.stash("short") == ("short", None)
    assert large.stash(None) == (None, None)
    text = "\U0001f600" * 20000  # 80 KB of UTF-8 in 20,000 characters
    inline, ref = large.stash(text)
    assert inline is None and ref is not None and ref.startswith("sha256:")
    hashes, positions, texts = large.parts
    assert "".join(str(t) for t in texts) == text
    assert positions == list(range(len(texts)))
    assert all(len(str(t).encode()) <= LARGE_TEXT_BYTES for t in texts)
    assert all(len(str(t)) <= PART_CHARS for t in texts)
    large.stash(text)  # the same text twice in a batch is stored once
    assert len(large.parts[0]) == len(hashes)
    assert not is_large("x" * LARGE_TEXT_BYTES) and is_large("x" * (LARGE_TEXT_BYTES + 1))


def test_a_run_of_large_outputs_fits_under_a_memory_cap_and_reads_back_whole(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = workspace.root
    (root / "system.py").write_text(SYSTEM)
    (root / "suites" / "support.yaml").write_text(
        "name: big\ncases_from: [big.jsonl]\ndefaults:\n  graders:\n    - type: icontains\n"
        "      value: answer\n"
    )
    rows = (json.dumps({"id": f"c{i}", "question": f"q{i}"}) for i in range(CASES))
    (root / "suites" / "big.jsonl").write_text("\n".join(rows) + "\n")
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "128MB")

    code, out = cli("run")
    assert code == 1, out  # c0's emoji answer fails icontains 'answer'; the rest pass
    assert workspace.sql("SELECT count(*), count(output), count(output_ref) FROM results") == [
        (CASES, 0, CASES)
    ]
    whole = workspace.sql(
        "SELECT case_id, output FROM trials WHERE case_id IN ('c0', 'c7') ORDER BY case_id"
    )
    assert whole[0] == ("c0", "\U0001f600" * 40000)
    assert whole[1][1].startswith("answer ") and len(whole[1][1]) == 7 + 64 * 1600

    code, out = cli("export", "--format", "jsonl", "--out", "all.jsonl")
    assert code == 0, out
    exported = {
        r["case_id"]: r["output"]
        for r in map(json.loads, (root / "all.jsonl").read_text().splitlines())
    }
    assert exported["c0"] == whole[0][1] and exported["c7"] == whole[1][1]
    first = json.loads((root / "all.jsonl").read_text().splitlines()[0])
    assert "output_ref" not in first  # an export shows outputs, not how they are stored


def test_cases_with_large_fields_get_room_under_the_cap(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 800 cases with a 100 KB retrieved passage each: 80 MB that DuckDB pins at once to
    # checkpoint the new cases, more than the 64 MB cap; without room made it refuses
    # the commit ("failed to pin block") and the run is lost.
    root = workspace.root
    passage = "policy text " * 8600
    files = [f"rag{n}.jsonl" for n in range(10)]  # a case file may hold 10 MB at most
    (root / "suites" / "support.yaml").write_text(
        f"name: rag\ncases_from: [{', '.join(files)}]\ndefaults:\n  graders:\n"
        "    - type: icontains\n      value: answer\n"
    )
    for n, name in enumerate(files):
        rows = (
            json.dumps({"id": f"c{i}", "question": f"q{i}", "context": f"{i} {passage}"})
            for i in range(n * 80, n * 80 + 80)
        )
        (root / "suites" / name).write_text("\n".join(rows) + "\n")
    (root / "system.py").write_text("def answer(case):\n    return 'answer ' + case.id\n")
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "64MB")
    code, out = cli("run")
    assert code == 0, out
    assert workspace.sql(
        "SELECT count(*), min(length(context->>0)) FROM cases WHERE suite = 'rag'"
    ) == [(800, len(passage) + 2)]


def test_large_structured_outputs_stored_inline_get_room_under_the_cap(
    workspace: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 800 structured outputs of ~100 KB: the text goes out of line, the JSON data stays
    # inline (80 MB that a checkpoint pins at once, over the 64 MB cap), so the writer
    # raises the cap for it rather than lose the run.
    root = workspace.root
    (root / "system.py").write_text(
        "import hashlib\n\ndef answer(case):\n"
        "    seed = hashlib.sha256(case.id.encode()).hexdigest()\n"
        "    return {'output': {'answer': 'answer ' + seed * 1600}}\n"
    )
    (root / "suites" / "support.yaml").write_text(
        "name: data\ncases_from: [data.jsonl]\ndefaults:\n  graders:\n    - type: is-json\n"
    )
    rows = (json.dumps({"id": f"c{i}", "question": f"q{i}"}) for i in range(800))
    (root / "suites" / "data.jsonl").write_text("\n".join(rows) + "\n")
    workspace.plan("  - id: local\n    provider: python\n    function: system.py:answer\n")
    monkeypatch.setenv("EVALKIT_DB_MEMORY_LIMIT", "64MB")
    code, out = cli("run")
    assert code == 0, out
    assert workspace.sql("SELECT count(*), min(length(output_data->>'answer')) FROM results") == [
        (800, 7 + 64 * 1600)
    ]
