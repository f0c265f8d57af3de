"""SIGTERM (how CI cancels a job) ends every command as a Ctrl-C does: exit 2,
`interrupted`, and a report or export half-written leaves nothing behind (its default
action ended the process on the spot, leaving `.NAME.partial` and an export's parts).
A Ctrl-C outside `run` exited 130, typer's code, where evalkit's is 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.reports.long_runs import build


def output_of(i: int) -> str:
    return f"answer {i} " * (i % 2 * 5_000 + 1)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("sigterm") / "runs.duckdb", 40, output_of, 10)


def evalkit(*args: str, tmp: Path, before: str = "") -> subprocess.Popen[str]:
    """`evalkit ARGS` in a process of its own, through the console entry point."""
    code = textwrap.dedent(before) + f"\nfrom evalkit.cli import main\nmain({list(args)!r})\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


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
    proc = evalkit("export", "--db", str(db), "--format", fmt, "--out", str(out),
                   tmp=tmp_path, before=before)  # fmt: skip
    text, _ = proc.communicate(timeout=60)
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
    proc = evalkit("export", "--db", str(db), "--format", "jsonl", "--out", str(fifo), tmp=scratch)
    deadline = time.monotonic() + 30
    while not any(scratch.iterdir()) and time.monotonic() < deadline:  # its parts' folder
        time.sleep(0.02)
    assert any(scratch.iterdir()), "the export never started"
    time.sleep(0.2)  # blocked opening the FIFO: no reader
    proc.send_signal(signum)
    text, _ = proc.communicate(timeout=30)
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
    proc = evalkit("report", "--db", str(db), "--out", str(out), tmp=tmp_path, before=before)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, text
    assert "interrupted" in text
    assert out.read_text() == "the last good page"
    assert [p.name for p in out.parent.iterdir()] == [out.name]
