"""Large outputs stored out of line, in parts, so checkpoints need little memory.

DuckDB checkpoints a row group by pinning, all at once, every string in it larger than
about 64 KB. A run of many such outputs under a memory cap therefore fails its
checkpoint (measured: 100 KB outputs stopped after ~400 MB under a 256 MB cap), and
without a cap memory grows with the run. Texts above LARGE_TEXT_BYTES are split into
parts of at most PART_CHARS characters (at most 32 KB each, whatever the script) in
`large_texts`, keyed by the text's hash; `full_output()` in SQL joins them back.
"""

from __future__ import annotations

import hashlib

LARGE_TEXT_BYTES = 32 * 1024
PART_CHARS = 8192  # UTF-8 needs at most 4 bytes a character: a part is at most 32 KB


def text_hash(text: str) -> str:
    """The key a large text is stored under."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_large(text: str) -> bool:
    """Whether `text` is stored out of line (its UTF-8 form is over LARGE_TEXT_BYTES)."""
    # a cheap length test first: most outputs are short, and encoding them is not free
    return len(text) * 4 > LARGE_TEXT_BYTES and len(text.encode("utf-8")) > LARGE_TEXT_BYTES


class LargeTexts:
    """The parts of one writer batch's large texts, as columns for one insert."""

    def __init__(self) -> None:
        self.parts: list[list[object]] = [[], [], []]  # text_hash, part, text
        self._seen: set[str] = set()

    def stash(self, text: str | None) -> tuple[str | None, str | None]:
        """(text to store inline, reference) for `text`: one of the two is None."""
        if text is None or not is_large(text):
            return text, None
        ref = text_hash(text)
        if ref not in self._seen:
            self._seen.add(ref)
            hashes, positions, texts = self.parts
            for position, start in enumerate(range(0, len(text), PART_CHARS)):
                hashes.append(ref)
                positions.append(position)
                texts.append(text[start : start + PART_CHARS])
        return None, ref
