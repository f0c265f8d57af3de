"""Regular expressions with a time budget: a pattern from a suite can never hang a run.

Python's `re` backtracks, so `^(a+)+$` against 34 `a`s and a `!` runs for minutes while
holding the GIL: no timeout, no Ctrl-C, no other trial gets a turn. Searches go to RE2
instead (linear time, no backtracking) whenever RE2 gives exactly the verdict `re`
would; the rest (backreferences, lookaround, verbose patterns, non-ASCII text where the
two engines' classes differ) run in a worker process with a budget of
`EVALKIT_REGEX_BUDGET` seconds (default 2). A worker over budget is killed and the
search raises `RegexTimeout`, which the grader turns into a grade of status `error`.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

DEFAULT_BUDGET = 2.0

# The worker answers one JSON request per line: {"p": pattern, "f": flags, "t": text}
# -> [start, matched text] or null; {"e": message} for a pattern `re` refuses.
_WORKER = r"""
import json, re, sys
def unwire(s): return s.encode("latin-1").decode("utf-8", "surrogatepass")
def wire(s): return s.encode("utf-8", "surrogatepass").decode("latin-1")
for line in sys.stdin:
    q = json.loads(line)
    try:
        m = re.compile(unwire(q["p"]), q["f"]).search(unwire(q["t"]))
        a = [m.start(), wire(m.group(0))] if m else None
    except re.error as e:
        a = {"e": str(e)}
    sys.stdout.write(json.dumps(a) + "\n")
    sys.stdout.flush()
"""

_PY_END = re.compile(r"(?<!\\)((?:\\\\)*)\\Z")  # an unescaped \Z
_RE2_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s"}


class RegexTimeout(Exception):
    """A search ran past its time budget (the pattern backtracks catastrophically)."""


@dataclass(frozen=True, slots=True)
class Found:
    """Where a search matched and what it matched."""

    start: int
    text: str


class SafePattern:
    """A compiled pattern whose `search` finishes within the budget or raises RegexTimeout."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        re.compile(pattern, flags)  # the user's error, in Python's words (re.error)
        self._re2 = _re2_compile(pattern, flags)

    def search(self, text: str) -> Found | None:
        """The first match in `text` (leftmost, as `re.search` finds it), or None."""
        if self._re2 is not None and _re2_exact(self.pattern, self.flags, text):
            match = self._re2.search(text)
            return Found(match.start(), match.group(0)) if match else None
        return _worker.search(self.pattern, self.flags, text)


@lru_cache(maxsize=256)  # templated patterns compile per case
def compile_pattern(pattern: str, flags: int = 0) -> SafePattern:
    """`pattern` ready for budgeted searches; ValueError names a pattern `re` refuses."""
    try:
        return SafePattern(pattern, flags)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _re2_compile(pattern: str, flags: int) -> Any:
    """The RE2 form of the pattern, or None when RE2 lacks a feature it uses."""
    if (
        flags & ~(re.IGNORECASE | re.MULTILINE | re.DOTALL | re.ASCII | re.UNICODE)
        or "{," in pattern
    ):
        return None  # verbose mode, and `{,n}` that RE2 reads as text
    try:
        import re2  # type: ignore[import-untyped]  # google-re2
    except ImportError:
        return None
    options = re2.Options()
    options.log_errors = False  # a refused pattern is expected; RE2 would print it
    inline = "".join(letter for flag, letter in _RE2_FLAGS.items() if flags & flag)
    # Python's \Z (end of text only) is RE2's \z; JavaScript patterns translate `$` to it.
    pattern = _PY_END.sub(r"\1\\z", pattern)
    try:
        return re2.compile(f"(?{inline}){pattern}" if inline else pattern, options)
    except Exception:  # backreferences, lookaround, ...: re2.error or a wrapper error
        return None


def _re2_exact(pattern: str, flags: int, text: str) -> bool:
    """Whether RE2's verdict on `text` is the one Python's `re` would give."""
    if not (text.isascii() and pattern.isascii()):
        return False  # \d, \w, \s, \b and case folding are Unicode in `re`, ASCII in RE2
    # Without MULTILINE, `re`'s `$` also matches before a final newline; RE2's does not.
    return not ("$" in pattern and not flags & re.MULTILINE and text.endswith("\n"))


class _Worker:
    """One long-lived `python` child that runs `re` searches; killed when over budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def search(self, pattern: str, flags: int, text: str) -> Found | None:
        budget = _budget()
        request = json.dumps({"p": _wire(pattern), "f": flags, "t": _wire(text)}).encode() + b"\n"
        with self._lock:
            try:
                stdout = self._send(request)
            except OSError:  # it died since the last search: one fresh start
                self._stop()
                stdout = self._send(request)
            ready, _, _ = select.select([stdout], [], [], budget)
            if not ready:
                self._stop()
                raise RegexTimeout(
                    f"regex /{pattern}/ ran past its {budget:g} s budget on an output of "
                    f"{len(text)} chars (catastrophic backtracking); simplify the pattern "
                    "or raise EVALKIT_REGEX_BUDGET"
                )
            answer = json.loads(stdout.readline() or b"null")
        if isinstance(answer, dict):
            raise ValueError(f"invalid regular expression {pattern!r}: {answer['e']}")
        return Found(int(answer[0]), _unwire(str(answer[1]))) if answer else None

    def _send(self, request: bytes) -> IO[bytes]:
        """Write one request to the worker (started if need be); returns its stdout."""
        process = self._start()
        stdin, stdout = process.stdin, process.stdout
        if stdin is None or stdout is None:  # never: both are pipes
            raise OSError("regex worker has no pipes")
        stdin.write(request)
        stdin.flush()
        return stdout

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-S", "-c", _WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # its own session: a Ctrl-C meant for the run does not kill it mid-search
                start_new_session=True,
            )
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def _wire(text: str) -> str:
    # JSON would join an escaped surrogate pair into one character; texts searched on
    # their UTF-16 code units (JavaScript semantics) hold such pairs on purpose. Their
    # UTF-8 bytes, one latin-1 character each, cross the pipe unchanged.
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _unwire(text: str) -> str:
    return text.encode("latin-1").decode("utf-8", "surrogatepass")


def _budget() -> float:
    try:
        value = float(os.environ.get("EVALKIT_REGEX_BUDGET", DEFAULT_BUDGET))
    except ValueError:
        return DEFAULT_BUDGET
    return value if value > 0 else DEFAULT_BUDGET


_worker = _Worker()
