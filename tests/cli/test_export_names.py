"""`evalkit export --compression` on the command line: the default file name says how
the file is compressed, and a codec the format does not take is a usage error (exit 4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import PYTHON_TARGET, Workspace

CLI = Callable[..., tuple[int, str]]


def test_the_default_name_says_how_the_file_is_compressed(workspace: Workspace, cli: CLI) -> None:
    workspace.plan(PYTHON_TARGET)
    assert cli("run")[0] == 1  # the shipping case fails on purpose
    written = []
    for args in (["--format", "csv", "--compression", "zstd"],
                 ["--format", "jsonl", "--compression", "gzip"],
                 ["--format", "parquet", "--compression", "none"]):  # fmt: skip
        code, text = cli("export", *args)
        assert code == 0, text
        written.append(text.split("wrote ")[1].strip())
    assert [Path(w).name.split(".", 1)[1] for w in written] == ["csv.zst", "jsonl.gz", "parquet"]
    code, text = cli("export", "--format", "parquet", "--compression", "gzip")
    assert code == 4 and "cannot be compressed with gzip" in text
