"""SIGTERM (how CI cancels a job) ends every command as a Ctrl-C does: exit 2,
`interrupted`, and a report or export half-written leaves nothing behind (its default
action ended the process on the spot, leaving `.NAME.partial` and an export's parts).
A Ctrl-C outside `run` exited 130, typer's code, where evalkit's is 2."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.harness import finish, start_cli
from tests.reports.long_runs import build


def output_of(i: int) -> str:
    return f"answer {i} " * (i % 2 * 5_000 + 1)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("sigterm") / "runs.duckdb", 40, output_of, 10)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sigterm_half_way_through_an_export_leaves_the_last_good_file(
    db: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out" / f"trials.{fmt}"
    out.parent.mkdir()
    out.write_text("the last good export")
    writer = "write_parquet" if fmt == "parquet" else "_write_spliced"
    # the whole file written where the export writes it, then SIGTERM before it is done
    before = f"""
        import os, signal, time
        from evalkit.store import export
        real = export.{writer}
        def then_terminated(*args):
            real(*args)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        export.{writer} = then_terminated
    """
    proc = start_cli(tmp_path, "export", "--db", str(db), "--format", fmt, "--out", str(out),
                     before=before)  # fmt: skip
    text = finish(proc, 60, "the export went on after SIGTERM")
    assert proc.returncode == 2, text
    assert "interrupted" in text
    assert out.read_text() == "the last good export"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no partial, no parts


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_an_export_waits_on_a_fifo_ends_it_cleanly(
    db: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = start_cli(
        tmp_path, "export", "--db", str(db), "--format", "jsonl", "--out", str(fifo),
        env={"TMPDIR": str(scratch)},
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(scratch.iterdir()) and time.monotonic() < deadline:  # its parts' folder
        time.sleep(0.02)
    assert any(scratch.iterdir()), "the export never started"
    time.sleep(0.2)  # blocked opening the FIFO: no reader
    proc.send_signal(signum)
    text = finish(proc, 30, "the export went on after the signal")
    assert proc.returncode == 2, text
    assert "interrupted" in text
    assert list(scratch.iterdir()) == []  # its parts' folder removed


def test_sigterm_half_way_through_a_report_leaves_the_last_good_page(
    db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    out.write_text("the last good page")
    # SIGTERM at the fifth trial written into the page
    before = """
        import os, signal, time
        from evalkit.reports.html import page
        real, written = page.embed_json, []
        def then_terminated(item):
            written.append(item)
            if len(written) == 5:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
            return real(item)
        page.embed_json = then_terminated
    """
    proc = start_cli(tmp_path, "report", "--db", str(db), "--out", str(out), before=before)
    text = finish(proc, 60, "the report went on after SIGTERM")
    assert proc.returncode == 2, text
    assert "interrupted" in text
    assert out.read_text() == "the last good page"
    assert [p.name for p in out.parent.iterdir()] == [out.name]
