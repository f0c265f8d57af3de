"""Word-level diffs as (op, text) segments; the template escapes and marks them up."""

from __future__ import annotations

import difflib
import re

_TOKENS = re.compile(r"\s+|[^\s]+")
# SequenceMatcher is quadratic in the worst case: past this many words a side, no diff
MAX_TOKENS = 4000

Segment = tuple[str, str]  # ("=" | "-" | "+", text)


def word_diff(old: str, new: str) -> list[Segment] | None:
    """Segments turning `old` into `new` word by word; None when the texts are too long."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if len(a) > MAX_TOKENS or len(b) > MAX_TOKENS:
        return None
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("=", "".join(a[a0:a1])))
            continue
        if a1 > a0:
            segments.append(("-", "".join(a[a0:a1])))
        if b1 > b0:
            segments.append(("+", "".join(b[b0:b1])))
    return segments
