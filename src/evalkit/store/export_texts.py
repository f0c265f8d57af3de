"""Outputs stored in parts, written into a CSV or JSONL export without DuckDB rebuilding them.

Reassembling each long output in SQL (`string_agg` over its parts, then a sort and the
writer's escaping of 100 KB strings) made an export of 2 GB of outputs take 44 s where
the disk writes 2 GB in about 7. So DuckDB writes every other column, and in place
of each output stored in parts a marker naming the result's rowid; `splice` copies that
file into the export and writes the output itself at each marker. The outputs come from
`long_outputs`: one query per window of results (see WINDOW_CHARS), reading only the
stretch of `large_texts` those results' parts lie in (a rowid range and the list of
their hashes), their parts joined in Python in order; Parquet's batches take the
same whole outputs (export_parquet.py). The escaping is DuckDB's own, byte for byte
(tests/store/test_export_splice.py writes the same texts both ways and compares the
files).
"""

from __future__ import annotations

import json
import mmap
import re
import secrets
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate, islice
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np

from evalkit.errors import StoreError

# Text read per query: a window ends at the first clean cut past WINDOW_CHARS / 2, and
# at 2 * WINDOW_CHARS without one. The parts of one writer batch lie in no particular
# order across its stretch of `large_texts` (stored by INSERT OR IGNORE), so a window
# cut inside a writer batch spans other windows' parts too, and DuckDB reads them all:
# at 32 MB windows cut anywhere, twice its own text. A clean cut is one past which no
# later output has a part inside the window's stretch: each part is then read once.
# Python holds one window's parts (and DuckDB its result) at a time.
WINDOW_CHARS = 32 * 1024 * 1024
# The hashes as a list, not a join: the query alone took 0.055 s instead of 0.095 s
# for a 32 MB window.
_PARTS = """
    SELECT text_hash, part, text FROM large_texts
    WHERE rowid BETWEEN $lo AND $hi AND list_contains($hashes, text_hash)
"""
# A window whose parts fill its whole rowid range (the usual case) is read by the range
# alone: DuckDB then scans instead of filtering each vector, 28% faster on 2 GB of text.
# (Either query is correct: a window's outputs take their own parts by hash; the list
# keeps other rows in a wider range from being read into Python.)
_RANGE = "SELECT text_hash, part, text FROM large_texts WHERE rowid BETWEEN $lo AND $hi"
# DuckDB's CSV writer quotes a field holding any of these ('#' too, its comment sign).
_CSV_SPECIAL = (",", '"', "\n", "\r", "#")
# The backslash first: the others' escapes hold one.
_JSON_ESCAPES = (
    (b"\\", b"\\\\"),
    (b'"', b'\\"'),
    (b"\n", b"\\n"),
    (b"\r", b"\\r"),
    (b"\t", b"\\t"),
)
# Python writes control characters as \u001f, DuckDB as \u001F: the only difference
# found writing every character 0-127 and the usual non-ASCII ones both ways.
_LOWER_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([0-9a-f][0-9a-f])")


@dataclass(slots=True)
class Stored:
    """A result whose output is stored in parts: its rowid, text hash, parts' rowid range."""

    rowid: int
    ref: str
    parts: int
    lo: int
    hi: int


@dataclass(slots=True)
class _Window:
    rows: list[Stored] = field(default_factory=list)
    chars: int = 0
    lo: int = -1
    hi: int = -1

    def add(self, row: Stored, chars: int) -> None:
        self.lo = row.lo if not self.rows else min(self.lo, row.lo)
        self.hi = row.hi if not self.rows else max(self.hi, row.hi)
        self.rows.append(row)
        self.chars += chars


def new_marker() -> str:
    """A marker no stored text holds: random per export, plain letters (never escaped)."""
    return f"evalkit-output-{secrets.token_hex(16)}-"


def long_outputs(
    con: duckdb.DuckDBPyConnection, stored: list[Stored], part_chars: int
) -> Generator[tuple[int, str]]:
    """(rowid, whole output) of each of `stored` (in rowid order), a window at a time.

    The next window is read on a second thread while this one's outputs are written:
    DuckDB reads without Python's lock, and reading and writing took about as long each.
    """
    windows = _windows(stored, part_chars)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-export") as reader:
        ahead = [reader.submit(_read_parts, con.cursor(), w) for w in islice(windows, 1)]
        while ahead:
            window, parts = ahead.pop().result()
            ahead = [reader.submit(_read_parts, con.cursor(), w) for w in islice(windows, 1)]
            yield from _in_order(window, parts)


def _windows(stored: list[Stored], part_chars: int) -> Iterator[_Window]:
    later_lo = list(accumulate(reversed([row.lo for row in stored]), min, initial=1 << 62))
    later_lo.reverse()  # later_lo[i]: the first part of any output from stored[i] on
    window = _Window()
    for i, row in enumerate(stored):
        chars = row.parts * part_chars
        if window.rows and window.chars + chars > 2 * WINDOW_CHARS:
            yield window
            window = _Window()
        window.add(row, chars)
        if window.chars >= WINDOW_CHARS // 2 and window.hi < later_lo[i + 1]:
            yield window
            window = _Window()
    if window.rows:
        yield window


def _read_parts(
    con: duckdb.DuckDBPyConnection, window: _Window
) -> tuple[_Window, dict[str, list[tuple[int, str]]]]:
    """The parts of `window`'s outputs, by text hash (one query on its own cursor)."""
    try:
        found = con.execute(*parts_query(window)).fetchall()
    finally:
        con.close()
    parts: dict[str, list[tuple[int, str]]] = {}
    for ref, position, text in found:
        parts.setdefault(ref, []).append((position, text))
    return window, parts


def parts_query(window: _Window) -> tuple[str, dict[str, object]]:
    """The query (and its parameters) that reads `window`'s parts: by its rowid range
    alone when its parts fill the range, else by the range and the list of its hashes."""
    counts = {row.ref: row.parts for row in window.rows}
    bounds: dict[str, object] = {"lo": window.lo, "hi": window.hi}
    # every part lies in lo..hi, and rowids are distinct: as many parts as the range has
    # rowids leaves no room in it for any other row
    if sum(counts.values()) == window.hi - window.lo + 1:
        return _RANGE, bounds
    return _PARTS, {**bounds, "hashes": sorted(counts)}


def _in_order(
    window: _Window, parts: dict[str, list[tuple[int, str]]]
) -> Iterator[tuple[int, str]]:
    uses: dict[str, int] = {}
    for row in window.rows:
        uses[row.ref] = uses.get(row.ref, 0) + 1
    for row in window.rows:
        pieces = parts.get(row.ref, [])
        if len(pieces) != row.parts:
            raise StoreError(
                f"the output of result {row.rowid} has {len(pieces)} of its {row.parts} parts"
            )
        pieces.sort()
        yield row.rowid, "".join(text for _, text in pieces)
        uses[row.ref] -= 1
        if uses[row.ref] == 0:  # a text several results share stays until its last use
            del parts[row.ref]


def csv_field(text: str) -> bytes:
    """`text` as DuckDB's CSV writer writes a non-empty string field."""
    if any(special in text for special in _CSV_SPECIAL):
        return ('"' + text.replace('"', '""') + '"').encode()
    return text.encode()


def json_string(text: str) -> bytes:
    """`text` as DuckDB's JSON writer writes a string, quotes included."""
    data = text.encode()
    if _other_controls(data):  # rare: \b, \f, \u0000 ... (Python's escaping, one fix)
        written = json.dumps(text, ensure_ascii=False)
        if "\\u00" in written:
            written = _LOWER_ESCAPE.sub(lambda m: m[1] + "\\u00" + m[2].upper(), written)
        return written.encode()
    # Only these five need escaping, each by a byte-wise replace, the UTF-8 left as is:
    # six times json.dumps's speed on 100 KB ASCII outputs, 1.4 times on prose.
    for plain, escaped in _JSON_ESCAPES:
        data = data.replace(plain, escaped)
    return b'"' + data + b'"'


def _other_controls(data: bytes) -> bool:
    """Whether `data` holds a control character other than newline, carriage return
    and tab (numpy: a vector compare and count, without Python's lock)."""
    controls = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) < 32))
    return controls > 0 and controls > data.count(b"\n") + data.count(b"\r") + data.count(b"\t")


def output_of(outputs: Iterator[tuple[int, str]], rowid: int) -> str:
    """The next of `outputs`, which must be result `rowid`'s."""
    got, text = next(outputs, (None, ""))
    if got != rowid:
        raise StoreError(f"export out of order: result {rowid} came with {got}'s output")
    return text


def all_taken(outputs: Iterator[tuple[int, str]], run_id: str) -> None:
    """Stop unless every output of `outputs` was written."""
    if next(outputs, None) is not None:
        raise StoreError(f"the export of run {run_id} missed outputs stored in parts")


def splice(
    part: Path,
    sink: BinaryIO,
    marker: str,
    outputs: Iterator[tuple[int, str]],
    escape: Callable[[str], bytes],
) -> None:
    """Copy `part` (written by DuckDB) to `sink`, each marker replaced by its output."""
    size = part.stat().st_size
    if size == 0:
        return
    token = marker.encode()
    with part.open("rb") as source, mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        done = 0
        while (at := mm.find(token, done)) >= 0:
            end = at + len(token)
            while end < size and 48 <= mm[end] <= 57:  # the rowid's digits
                end += 1
            rowid = int(mm[at + len(token) : end])
            text = output_of(outputs, rowid)
            if at > 0 and mm[at - 1] == 34 and end < size and mm[end] == 34:  # '"' around
                at, end = at - 1, end + 1
            sink.write(mm[done:at])
            sink.write(escape(text))
            done = end
        sink.write(mm[done:])
