"""Replace personal data and secrets in log text with typed placeholders (pure).

A best-effort filter, not a guarantee: it knows the common shapes of e-mail addresses,
phone numbers, payment cards and credentials, and leaves look-alikes alone where a
false positive would ruin a case (dates, prices, order numbers, ISBNs). Kinds run in a
fixed order (keys, e-mails, cards, phones) so that a key's digits are never taken for
a card, and placeholders hold no digits or `@` for a later kind to match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

# The key detectors are shared with the redaction of everything evalkit writes.
from evalkit.workspace.secrets import (
    ASSIGNED,
    BEARER,
    PRIVATE_KEY,
    TOKENS,
    assigned_secret,
    bearer_secret,
)

KINDS = ("key", "email", "card", "phone")
PLACEHOLDERS = {"key": "[KEY]", "email": "[EMAIL]", "card": "[CARD]", "phone": "[PHONE]"}

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?![\w-])"
)
# Grouped like printed cards (4-4-4-4, 4-6-5 Amex, 4-4-4-4-3) or one unbroken run.
_CARD = re.compile(
    r"(?<![\d.,+/-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{5}"
    r"|\d{13,19})(?![\d]|[.,/-]\d)"
)
# International: `+` and 8-15 digits in groups. National: 3-3-4 (North America, with a
# separator or a bracketed area code) and trunk-prefix forms (`020 7946 0958`).
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ .-])(?:"  # not the tail of a longer run of digit groups
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){2,5}"
    r"|\(\d{3}\)\s?\d{3}[ .-]\d{4}"
    r"|\d{3}([ .-])\d{3}\1\d{4}"
    r"|0\d{2,4}[ -]\d{3,4}[ -]\d{3,4}"
    r"|0\d{1,4}[ -]\d{6,8}"
    r")(?![\w]|[.,/-]\d)"
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
        return PLACEHOLDERS["card"]
    return None


def _phone(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group(0))
    return PLACEHOLDERS["phone"] if 8 <= len(digits) <= 15 else None


def _assigned(match: re.Match[str]) -> str | None:
    return assigned_secret(match, PLACEHOLDERS["key"])


def _bearer(match: re.Match[str]) -> str | None:
    return bearer_secret(match, PLACEHOLDERS["key"])


Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], str | None] | None]
_RULES: tuple[Rule, ...] = (
    ("key", PRIVATE_KEY, None),
    ("key", TOKENS, None),
    ("key", BEARER, _bearer),
    ("key", ASSIGNED, _assigned),
    ("email", _EMAIL, None),
    ("card", _CARD, _card),
    ("phone", _PHONE, _phone),
)


def scrub_text(text: str, counts: Counter[str] | None = None) -> str:
    """`text` with every recognised item replaced; adds what was replaced to `counts`."""
    for kind, pattern, decide in _RULES:

        def replace(match: re.Match[str], kind: str = kind, decide: Any = decide) -> str:
            found = PLACEHOLDERS[kind] if decide is None else decide(match)
            if found is None:
                return match.group(0)
            if counts is not None:
                counts[kind] += 1
            return str(found)

        text = pattern.sub(replace, text)
    return text


def scrub_value(value: Any, counts: Counter[str] | None = None) -> Any:
    """A copy of a JSON-like value with every string in it scrubbed (keys are kept)."""
    if isinstance(value, str):
        return scrub_text(value, counts)
    if isinstance(value, list):
        return [scrub_value(item, counts) for item in value]
    if isinstance(value, dict):
        return {key: scrub_value(item, counts) for key, item in value.items()}
    return value
