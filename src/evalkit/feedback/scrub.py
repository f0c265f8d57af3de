"""Replace personal data and secrets in log text with typed placeholders (pure).

The detectors live with the security graders (`evalkit.graders.security.scrub`), which
`no-pii` shares with `evalkit import --scrub`: one definition of what counts as personal
data. This module keeps the names the importer has always used.
"""

from evalkit.graders.security.scrub import (
    KINDS,
    PLACEHOLDERS,
    luhn_valid,
    scrub_text,
    scrub_value,
)

__all__ = ["KINDS", "PLACEHOLDERS", "luhn_valid", "scrub_text", "scrub_value"]
