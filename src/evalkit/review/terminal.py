"""The review loop: read a command, save what it says, draw the next screen.

Two ways in. On a terminal, single keys are read in cbreak mode (no Enter needed), and
the terminal's settings are restored on every way out, Ctrl-C and crashes included. From
a pipe or a script, one command per line (`f`, `s 0.7`, `n needs a source`). The logic
of what a command does is `ReviewState`'s; this module only reads and draws, on the
console the CLI hands it.
"""

from __future__ import annotations

import codecs
import os
import termios
import tty
from collections import deque
from collections.abc import Callable
from enum import Enum
from types import TracebackType
from typing import IO, Any, Protocol

from rich.console import Console
from rich.text import Text

from evalkit.errors import StoreError
from evalkit.review.render import full_text, screen
from evalkit.review.state import KEYS, Command, ReviewState, parse_line
from evalkit.store.labels import Label

# Escape sequences of the arrow keys (normal and application cursor mode).
_ARROWS = {
    "\x1b[C": "right",
    "\x1bOC": "right",
    "\x1b[D": "left",
    "\x1bOD": "left",
    "\x1b[B": "right",
    "\x1bOB": "right",
    "\x1b[A": "left",
    "\x1bOA": "left",
}
_PROMPTS = {"score": "score from 0 to 1: ", "note": "note: "}


class Ending(Enum):
    """How a review loop ended."""

    QUIT = "quit"  # q, or the end of piped input
    INTERRUPTED = "interrupted"  # Ctrl-C


class CommandSource(Protocol):
    """Where commands come from: a key reader or lines of text."""

    interactive: bool

    def next_command(self) -> Command | str | None:
        """The next command, a message for an unknown key, or None at the end of input."""


class LineCommands:
    """One command per line, from a pipe or a file (`a`, `s 0.7`, `n some text`)."""

    interactive = False

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def next_command(self) -> Command | str | None:
        """The next non-empty line as a command; None at the end of input."""
        while True:
            line = self._stream.readline()
            if not line:
                return None
            if not line.strip():
                continue
            command = parse_line(line)
            return command or f"unknown command {line.strip()!r}; ? lists the commands"


class TerminalKeys:
    """Single keys from a terminal in cbreak mode; a context manager that restores it."""

    interactive = True

    def __init__(self, fd: int, console: Console) -> None:
        self._fd = fd
        self._console = console
        self._saved: list[Any] | None = None
        self._pending: deque[str] = deque()
        # a read can end inside a multi-byte character; the decoder keeps the first bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __enter__(self) -> TerminalKeys:
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def next_command(self) -> Command | str | None:
        """The next key as a command, prompting for a score's number or a note's text."""
        key = self._key()
        if key is None:
            return None
        name = KEYS.get(key.lower() if len(key) == 1 else key)
        if name is None:
            shown = key.encode("unicode_escape").decode() if not key.isprintable() else key
            return f"no command on key '{shown}'; ? lists the keys"
        if name in _PROMPTS:
            return Command(name, self._prompt(_PROMPTS[name]))
        return Command(name)

    def _key(self) -> str | None:
        while not self._pending:
            data = os.read(self._fd, 64)
            if not data:
                return None
            self._pending.extend(_split_keys(self._decoder.decode(data)))
        key = self._pending.popleft()
        return None if key == "\x04" else key  # Ctrl-D ends the review like q

    def page(self, text: Text) -> None:
        """Show `text` whole in the system pager (less), then return to single keys."""
        self._restore()
        try:
            with self._console.pager(styles=False):
                self._console.print(text)
        finally:
            tty.setcbreak(self._fd)

    def _prompt(self, question: str) -> str | None:
        """A line typed with echo and line editing, then back to single keys."""
        typed = ""
        while self._pending:  # a fast typist (or a script) may have sent the line already
            key = self._pending.popleft()
            if key in ("\r", "\n"):
                return typed
            typed += key if len(key) == 1 else ""
        self._console.print(question + typed, end="", markup=False, highlight=False)
        self._console.file.flush()
        self._restore()
        try:
            data = os.read(self._fd, 4096)
        finally:
            tty.setcbreak(self._fd)
        return typed + self._decoder.decode(data).rstrip("\r\n")


def _split_keys(text: str) -> list[str]:
    """Keys in what one read returned: arrow escape sequences whole, other characters one by one."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        sequence = text[i : i + 3]
        if sequence in _ARROWS:
            keys.append(_ARROWS[sequence])
            i += 3
            continue
        keys.append(text[i])
        i += 1
    return keys


def review_loop(
    state: ReviewState,
    source: CommandSource,
    save: Callable[[Label], None],
    console: Console,
) -> Ending:
    """Draw, read, save, repeat until the reviewer quits or the input ends."""
    drawn: tuple[int, bool] | None = None
    while True:
        _draw(state, console, source.interactive, drawn)
        drawn = (state.cursor, state.expanded)
        try:
            command = source.next_command()
        except KeyboardInterrupt:
            return Ending.INTERRUPTED
        if command is None:
            return Ending.QUIT
        if isinstance(command, str):
            state.message = command
            continue
        if command.name == "expand" and isinstance(source, TerminalKeys) and state.item:
            source.page(full_text(state.item))  # a long text needs scrolling, not a taller screen
            continue
        try:
            step = state.handle(command, save)
        except KeyboardInterrupt:
            return Ending.INTERRUPTED
        except StoreError as exc:  # e.g. a run holds the database: keep reviewing, say so
            state.message = f"not saved: {exc.message} (press the key again to retry)"
            continue
        if step.quit:
            return Ending.QUIT


def _draw(
    state: ReviewState, console: Console, interactive: bool, drawn: tuple[int, bool] | None
) -> None:
    if interactive:
        console.clear()
        console.print(screen(state, console.width, console.height))
        return
    # Piped: print the item when it changes, otherwise just what the command said.
    if drawn != (state.cursor, state.expanded):
        console.rule()
        console.print(screen(state, console.width))
    elif state.message:
        console.print(state.message, markup=False, highlight=False)
