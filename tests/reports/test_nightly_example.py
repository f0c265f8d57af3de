"""examples/nightly/nightly.sh as cron would run it: a real shell, real evalkit processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Workspace
from tests.reports.conftest import Hook
from tests.reports.test_trend_cli import nightly

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "nightly" / "nightly.sh"
CLI = Callable[..., tuple[int, str]]


def run_script(workspace: Workspace, webhook: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EVALKIT": f"{sys.executable} -m evalkit",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "EVALKIT_WEBHOOK_URL": webhook,
        "REPORT_URL": "https://ci.example/runs/42",
    }
    return subprocess.run(
        [str(SCRIPT), "support"],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_bad_night_fails_the_job_and_posts_the_alert(
    workspace: Workspace, cli: CLI, hook: Hook
) -> None:
    nightly(workspace, cli, [39, 38, 39])  # earlier nights, recorded in-process
    (workspace.root / "quality.txt").write_text("15")
    done = run_script(workspace, hook.url)
    assert done.returncode == 1, done.stdout + done.stderr
    (post,) = hook.posts
    # the night's run and the one before, together: (39 + 15) of 80
    assert "support/support@local: pass rate 67.5%" in post["text"]
    assert "Report: https://ci.example/runs/42" in post["text"]
    out = workspace.root / "reports" / "out"
    assert (out / "trend-support.html").exists()
    assert len(list(out.glob("2*.html"))) == 1  # the night's run report
    assert hook.url not in done.stdout + done.stderr
