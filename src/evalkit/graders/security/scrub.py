"""Replace personal data and secrets in log text with typed placeholders (pure).

A best-effort filter, not a guarantee: it knows the common shapes of e-mail addresses,
phone numbers, payment cards and credentials, and leaves look-alikes alone where a
false positive would ruin a case (dates, prices, order numbers, ISBNs). Kinds run in a
fixed order (keys, e-mails, cards, phones) so that a key's digits are never taken for
a card, and placeholders hold no digits or `@` for a later kind to match.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

KINDS = ("key", "email", "card", "phone")
PLACEHOLDERS = {"key": "[KEY]", "email": "[EMAIL]", "card": "[CARD]", "phone": "[PHONE]"}

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{16,}"  # Anthropic
    r"|sk-(?:proj-|live_|test_)?[A-Za-z0-9_-]{20,}"  # OpenAI, Stripe
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r")(?![A-Za-z0-9_-])"
)
_BEARER = re.compile(r"(?i)\b((?:Bearer|Basic)\s+)([A-Za-z0-9._~+/=-]{12,})")
# `api_key = "..."`, `"token": "..."`, `password: ...`: the value is replaced, the name kept.
_ASSIGNED = re.compile(
    r"(?i)\b((?:[a-z0-9]+[_-])*(?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token"
    r"|passw(?:or)?d|pwd|client[_-]?secret)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;}]+)"
)
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


def entropy(text: str) -> float:
    """Shannon entropy in bits per character: random keys score high, words low."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _card(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
        return PLACEHOLDERS["card"]
    return None


def _phone(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group(0))
    return PLACEHOLDERS["phone"] if 8 <= len(digits) <= 15 else None


def _assigned(match: re.Match[str]) -> str | None:
    name, value = match.group(1), match.group(2)
    if value.startswith("[") or len(value) < 6:
        return None
    if re.search(r"(?i)passw|pwd", name):
        # A password needs no entropy to be secret, but `password: required` is prose.
        secret_like = re.search(r"[\d\W_]|[a-z][A-Z]", value) is not None
    else:
        secret_like = len(value) >= 16 and entropy(value) >= 3.0
    return f"{name}{PLACEHOLDERS['key']}" if secret_like else None


def _bearer(match: re.Match[str]) -> str | None:
    # "Basic questionnaires" is prose: a credential has digits or base64 padding in it.
    token = match.group(2)
    if re.search(r"[\d=+/]", token) is None or entropy(token) < 3.0:
        return None
    return f"{match.group(1)}{PLACEHOLDERS['key']}"


Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], str | None] | None]
_RULES: tuple[Rule, ...] = (
    ("key", _PRIVATE_KEY, None),
    ("key", _TOKENS, None),
    ("key", _BEARER, _bearer),
    ("key", _ASSIGNED, _assigned),
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
