"""Text transforms that disguise an attack, and the folds that undo them for detectors.

Attack generation (`evalkit security generate`) encodes payloads with these; the
security graders fold an output back (homoglyphs to Latin, invisible characters out,
base64 and hex runs decoded) before they look for a canary or a marker, so a leak that
was disguised on the way out is still a leak. Every transform that makes a choice takes
a `random.Random`, so the same seed writes the same suite.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import unicodedata

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_ZERO_WIDTH_RE = re.compile("[" + "".join(ZERO_WIDTH) + "\u00ad\u180e]")

# Latin letters and the Cyrillic or Greek letters drawn the same in common fonts.
HOMOGLYPHS = {
    "a": "\u0430",
    "c": "\u0441",
    "e": "\u0435",
    "i": "\u0456",
    "o": "\u043e",
    "p": "\u0440",
    "x": "\u0445",
    "y": "\u0443",
    "A": "\u0391",
    "B": "\u0392",
    "C": "\u0421",
    "E": "\u0415",
    "H": "\u041d",
    "K": "\u039a",
    "M": "\u041c",
    "O": "\u041e",
    "P": "\u0420",
    "T": "\u0422",
    "X": "\u0425",
}
_FOLD = {ord(fake): real for real, fake in HOMOGLYPHS.items()}
_FOLD.update({ord("\u03bf"): "o", ord("\u0455"): "s", ord("\u0458"): "j", ord("\u0501"): "d"})

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "g": "9", "b": "8"}

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){8,}")


def to_base64(text: str) -> str:
    """UTF-8 bytes as standard base64."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def to_hex(text: str) -> str:
    """UTF-8 bytes as lowercase hex pairs separated by spaces."""
    return " ".join(f"{byte:02x}" for byte in text.encode("utf-8"))


def to_leetspeak(text: str, rng: random.Random, share: float = 0.7) -> str:
    """Replace about `share` of the replaceable letters with look-alike digits."""
    return "".join(
        LEET[ch.lower()] if ch.lower() in LEET and rng.random() < share else ch for ch in text
    )


def to_homoglyphs(text: str, rng: random.Random, share: float = 0.6) -> str:
    """Swap about `share` of the swappable Latin letters for Cyrillic/Greek twins."""
    return "".join(
        HOMOGLYPHS[ch] if ch in HOMOGLYPHS and rng.random() < share else ch for ch in text
    )


def with_zero_width(text: str, rng: random.Random) -> str:
    """Put an invisible character inside every word longer than two letters."""
    out: list[str] = []
    for word in re.split(r"(\s+)", text):
        if len(word) > 2 and not word.isspace():
            cut = rng.randint(1, len(word) - 1)
            word = word[:cut] + rng.choice(ZERO_WIDTH) + word[cut:]
        out.append(word)
    return "".join(out)


def spaced(text: str) -> str:
    """`ABC` -> `A B C`: the shape of a leak that dodges substring filters."""
    return " ".join(text)


def fold(text: str) -> str:
    """Undo visual disguises: NFKC, homoglyphs to Latin, invisible characters removed."""
    text = unicodedata.normalize("NFKC", text)
    return _ZERO_WIDTH_RE.sub("", text).translate(_FOLD)


def squeeze(text: str) -> str:
    """Letters and digits only, case-folded: what survives spacing, dashes and line breaks."""
    return "".join(ch for ch in fold(text).casefold() if ch.isalnum())


def decoded_views(text: str, limit: int = 50) -> list[str]:
    """The texts hidden in base64 and hex runs of `text` (at most `limit` runs each)."""
    views: list[str] = []
    joined = re.sub(r"\s+", "", text)
    for source in (text, joined):
        for match in list(_BASE64_RUN.finditer(source))[:limit]:
            views.extend(_from_base64(match.group(0)))
    for match in list(_HEX_RUN.finditer(text))[:limit]:
        digits = re.sub(r"[\s:]", "", match.group(0))
        try:
            views.append(bytes.fromhex(digits[: len(digits) // 2 * 2]).decode("utf-8", "replace"))
        except ValueError:
            continue
    return views


def _from_base64(run: str) -> list[str]:
    """Decode a base64 run at each of the 4 alignments a run cut from prose may start on."""
    found: list[str] = []
    alphabet_fixed = run.replace("-", "+").replace("_", "/").rstrip("=")
    for start in range(4):
        chunk = alphabet_fixed[start:]
        chunk = chunk[: len(chunk) // 4 * 4]
        if len(chunk) < 8:
            continue
        try:
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            continue
        found.append(raw.decode("utf-8", "replace"))
    return found
