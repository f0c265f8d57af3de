"""The review queue driven as a person drives it: single keys in a real pseudo-terminal,
and one command per line through a pipe."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from evalkit.review.queue import QueueFilter, load_queue
from evalkit.review.save import LabelSaver
from evalkit.review.state import ReviewState
from evalkit.review.terminal import Ending, LineCommands, TerminalKeys, review_loop
from evalkit.store.db import Store
from tests.review.conftest import HOSTILE, Cli, JudgeWorkspace, in_force, labels

ROOT = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
WAIT = 60.0  # generous: a loaded machine may be slow to start Python; nothing is timed


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (for Ctrl-C)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A child process on a pseudo-terminal: type keys, wait for text on its screen."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        env.pop("COLUMNS", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evalkit", *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            cwd=cwd,
            env=env,
            preexec_fn=_own_terminal,
        )
        self.screen = ""
        self._seen = 0

    def read(self, timeout: float = 0.2) -> None:
        while select.select([self.master], [], [], timeout)[0]:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            self.screen += _ANSI.sub("", data.decode("utf-8", errors="replace"))
            timeout = 0.05

    def wait_for(self, text: str) -> str:
        """Everything shown since the last wait, once `text` has appeared in it."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            self.read()
            found = self.screen.find(text, self._seen)
            if found >= 0:
                shown = self.screen[self._seen : found + len(text)]
                self._seen = found + len(text)
                return shown
            if self.proc.poll() is not None:
                self.read()
                if self.screen.find(text, self._seen) < 0:
                    break
        raise AssertionError(f"{text!r} never appeared; the screen showed:\n{self.screen[-3000:]}")

    def press(self, keys: str, then: str) -> str:
        os.write(self.master, keys.encode())
        return self.wait_for(then)

    def exit_code(self) -> int:
        deadline = time.monotonic() + WAIT
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read()
        self.read()
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal(ws: JudgeWorkspace) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def start(ws: JudgeWorkspace, opened: list[Terminal], *args: str) -> Terminal:
    term = Terminal(["review", *args], ws.root)
    opened.append(term)
    return term


def test_keys_label_go_back_note_and_ctrl_c_restores_the_terminal(
    ws: JudgeWorkspace, recorded: str, terminal: list[Terminal]
) -> None:
    term = start(ws, terminal)
    term.wait_for("item 1 of 7")
    assert "Refunds within 30 days." in term.wait_for("?=help")
    term.press("a", "item 2 of 7")
    term.press("f", "item 3 of 7")
    term.press("s", "score from 0 to 1:")
    term.press("0.8\r", "item 4 of 7")
    term.press("\x1b[D", "item 3 of 7")  # the left arrow
    assert "30 days, ask Bob." in term.wait_for("human: pass 0.8 (override)")
    term.press("n", "note:")
    term.press("split grades, [b]human[/b] says fine\r", "note saved")
    term.press("j", "item 4 of 7")
    term.press("a", "no verdict here (error); press p (pass) or f (fail)")
    term.press("\x1b[C\x1b[C\x1b[C", "item 7 of 7")  # three right arrows
    assert HOSTILE in term.wait_for("human: not labelled yet")  # markup shown, not applied
    os.write(term.master, b"\x03")  # Ctrl-C
    assert term.exit_code() == 2
    tail = term.screen[term._seen :]
    assert "saved 4 label(s)" in tail and "3 of 7 item(s) labelled" in tail
    assert f"to continue: evalkit review {recorded}" in tail
    assert termios.tcgetattr(term.slave) == term.before  # echo and line mode are back

    rows = labels(ws.db)
    assert [(r["trial_id"].split("/")[1], r["action"], r["passed"], r["score"]) for r in rows] == [
        ("a-pass@sut#0", "accept", True, None),
        ("b-fail@sut#0", "accept", False, None),
        ("c-split@sut#0", "override", True, 0.8),
        ("c-split@sut#0", "override", True, 0.8),
    ]
    assert rows[-1]["note"] == "split grades, [b]human[/b] says fine"
    assert {r["source"] for r in rows} == {"terminal"}
    assert all(r["reviewer"] and r["labelled_at"] for r in rows)
    assert in_force(ws.db)[("support/c-split@sut#0", None)].note == rows[-1]["note"]

    # the same command resumes at the first item without a label
    again = start(ws, terminal, recorded)
    again.wait_for("item 4 of 7")
    assert "3 of 7 already labelled: starting at item 4" in again.wait_for("?=help")
    again.press("p", "item 5 of 7")
    again.press("q", "to continue")
    assert again.exit_code() == 0
    assert termios.tcgetattr(again.slave) == again.before
    assert in_force(ws.db)[("support/d-error@sut#0", None)].passed is True


def test_a_grade_queue_in_the_terminal_labels_grades(
    ws: JudgeWorkspace, recorded: str, terminal: list[Terminal]
) -> None:
    term = start(ws, terminal, "--grader", "llm-rubric")
    term.wait_for("item 1 of 2")
    assert "grade 0 (llm-rubric)" in term.wait_for("flakiness 0.67")
    term.press("f", "item 2 of 2")
    term.wait_for("Courteous [b]x[/b].")  # the judge's reasoning, literally
    term.press("a", "The end of the queue")
    term.press("q", "saved 2 label(s)")
    assert term.exit_code() == 0
    current = in_force(ws.db)
    assert current[("support/e-wavering@sut#0", 0)].passed is False
    assert current[("support/e-wavering@sut#0", 0)].metric == "llm-rubric"
    assert current[("support/f-steady@sut#0", 0)].action == "accept"


def test_piped_commands_label_and_resume(
    ws: JudgeWorkspace, recorded: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "a\nf\n\nn cites [red]nothing[/red]\np\nwhat\ns 0.3\nq\nf\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    code, out = cli("review", "--failing")
    assert code == 0, out
    assert "unknown command 'what'" in out
    assert "4 of 4 item(s) labelled" in out and "to continue" not in out
    rows = labels(ws.db)
    assert [(r["trial_id"].split("/")[1], r["passed"], r["score"], r["note"]) for r in rows] == [
        ("b-fail@sut#0", False, None, None),
        ("c-split@sut#0", False, None, None),
        ("d-error@sut#0", True, None, "cites [red]nothing[/red]"),
        ("g-hostile@sut#0", False, 0.3, None),
    ]
    assert rows[0]["action"] == "accept" and rows[2]["action"] == "override"
    monkeypatch.setattr("sys.stdin", io.StringIO("a\n"))
    code, out = cli("review", "--failing")
    assert code == 0 and "all 4 item(s)" in out and "--all walks them again" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("j\nu\n"))  # end of input: like q
    code, out = cli("review", "--failing", "--all")
    assert code == 0 and "label withdrawn" in out
    assert ("support/c-split@sut#0", None) not in in_force(ws.db)
    assert "to continue: evalkit review " + recorded + " --failing\n" in out  # not --all


def test_the_terminal_is_restored_when_the_review_crashes() -> None:
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        with pytest.raises(RuntimeError), TerminalKeys(slave, Console(file=io.StringIO())):
            assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # cbreak while inside
            raise RuntimeError("boom")
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_keys_typed_faster_than_the_screen_are_all_read() -> None:
    master, slave = pty.openpty()
    try:
        with TerminalKeys(slave, Console(file=io.StringIO())) as keys:
            os.write(master, b"s0.25\r\x1b[Dq")
            commands = [keys.next_command() for _ in range(3)]
        assert [(c.name, c.arg) for c in commands if not isinstance(c, str) and c] == [
            ("score", "0.25"),
            ("back", None),
            ("quit", None),
        ]
    finally:
        os.close(master)
        os.close(slave)


def test_a_run_holding_the_database_delays_a_save_without_losing_the_review(
    ws: JudgeWorkspace, recorded: str
) -> None:
    with Store.open(ws.db, read_only=True) as store:
        queue = load_queue(store.con, recorded, QueueFilter())
    state = ReviewState(queue, reviewer="ana", git_sha=None)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(ws.db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        out = io.StringIO()
        ending = review_loop(
            state,
            LineCommands(io.StringIO("f\nq\n")),
            LabelSaver(ws.db, wait=0.2),
            Console(file=out, width=200),
        )
        assert ending is Ending.QUIT
        assert "not saved: the results database" in out.getvalue()
        assert "in use by another evalkit process" in out.getvalue()
        assert state.cursor == 0 and state.saved == 0  # still on the item, nothing lost
    finally:
        holder.kill()
        holder.wait()
    review_loop(
        state, LineCommands(io.StringIO("f\n")), LabelSaver(ws.db), Console(file=io.StringIO())
    )
    assert state.saved == 1 and labels(ws.db)[0]["passed"] is False


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""
