"""`evalkit report --out PATH` writes where PATH leads: through a symlink, into a device."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.store.outfile import open_out
from tests.cli.conftest import PYTHON_TARGET, Workspace
from tests.harness import char_device, root_only

CLI = Callable[..., tuple[int, str]]


def report_to(workspace: Workspace, cli: CLI, out: Path) -> tuple[int, str]:
    workspace.plan(PYTHON_TARGET)
    code, text = cli("run")
    assert code == 1, text  # the shipping case fails on purpose
    return cli("report", "--out", str(out))


def test_out_through_a_symlink_writes_the_target_and_keeps_the_link(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    target = tmp_path / "pages" / "latest-real.html"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.html"
    link.symlink_to(target)
    code, text = report_to(workspace, cli, link)
    assert code == 0, text
    assert link.is_symlink() and link.resolve() == target
    assert "<html" in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest-real.html"]


@root_only
def test_out_to_a_null_device_keeps_the_device(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    null = char_device(tmp_path / "null", 3)  # what /dev/null is
    code, text = report_to(workspace, cli, null)
    assert code == 0, text
    assert stat.S_ISCHR(null.stat().st_mode)
    assert list(tmp_path.glob(".null.partial")) == []


@root_only
def test_out_to_a_full_device_is_a_clean_environment_error(
    workspace: Workspace, cli: CLI, tmp_path: Path
) -> None:
    full = char_device(tmp_path / "full", 7)  # what /dev/full is
    code, text = report_to(workspace, cli, full)
    assert code == 3, text
    assert "No space left on device" in text and str(full) in text
    assert "Traceback" not in text
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    with open_out(fifo) as sink:
        sink.write("<html>page</html>")
    reader.join(timeout=10)
    assert got == ["<html>page</html>"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_failure_half_way_leaves_the_old_file_behind_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.html"
    target.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    with pytest.raises(RuntimeError), open_out(link) as sink:
        sink.write("half")
        raise RuntimeError("store went away")
    assert target.read_text() == "old" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "real.html"]
