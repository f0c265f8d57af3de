"""Writing a file the user named with `--out`: whole or not at all, and where they meant.

A report or export is written beside its destination as `.NAME.partial` and renamed
over it at the end, so a failure or Ctrl-C half-way leaves the last good file (and no
half file a reader could take for a whole one). Two kinds of `--out` must not
be renamed over: a symlink (the rename would replace the link, not the file it points
to) and anything that is not a regular file, e.g. /dev/null or a FIFO (the rename would
swap a device for a regular file; as root, /dev/null itself). Those are written in place.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def in_place(path: Path) -> bool:
    """Whether `path` is written in place: a device or FIFO (through links), which has no
    "beside" and no "whole or nothing"."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return False


@contextmanager
def written_whole(out: Path) -> Iterator[Path]:
    """The path to write `out` at; `out` appears (or changes) only when the block ends.
    A device or FIFO (through links) is the path itself: it has no "beside"."""
    target = Path(os.path.realpath(out))  # through every symlink, to the file meant
    try:
        if in_place(target):
            yield target
            return
        partial = target.with_name(f".{target.name}.partial")
        try:
            yield partial
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        if exc.filename is not None:
            raise
        # a failed write or close (ENOSPC on /dev/full) names no file: name the one meant
        raise OSError(exc.errno, exc.strerror, str(out)) from exc


@contextmanager
def open_out(out: Path, *, encoding: str = "utf-8", newline: str | None = None) -> Iterator[TextIO]:
    """Open `out` for writing text, whole or not at all (`written_whole`)."""
    with written_whole(out) as path, path.open("w", encoding=encoding, newline=newline) as sink:
        yield sink
