"""Stable identities: safe id syntax and `sha256:` content hashes over canonical JSON."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# Ids end up inside trial ids ("suite/case@target[prompt]#epoch"), file names and
# shell commands, so they are restricted to characters that need no quoting there.
SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}")
SAFE_ID_RULE = "use letters, digits and - _ . : only (at most 128, not starting with - . :)"


def id_problem(kind: str, value: str) -> str | None:
    """A message when `value` is not a safe id for `kind` ("case id", ...), else None."""
    if SAFE_ID.fullmatch(value):
        return None
    return f"{kind} '{value}' is not a safe id: {SAFE_ID_RULE}"


def canonical_json(value: Any) -> str:
    """JSON that is identical for equal data: sorted keys, no whitespace, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_of(value: Any) -> str:
    """`sha256:<hex>` over the canonical JSON of `value`."""
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"
