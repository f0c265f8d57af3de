"""Turning HTTP failures into TargetCallErrors the engine knows how to retry."""

from __future__ import annotations

import datetime
import email.utils
import time
from collections.abc import Mapping
from typing import Any

from evalkit.records import ErrorKind
from evalkit.targets.base import TargetCallError

# Statuses the providers' own SDKs treat as transient: retried like a server error.
_TRANSIENT_CLIENT_STATUSES = frozenset({408, 409, 425})


def kind_for_status(status: int) -> ErrorKind:
    """The ErrorKind of an HTTP error status."""
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status in (401, 403):
        return ErrorKind.AUTH
    if status >= 500 or status in _TRANSIENT_CLIENT_STATUSES:
        return ErrorKind.SERVER
    return ErrorKind.CLIENT


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" parses naive; RFC 9110 dates are GMT anyway
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0)


def status_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> TargetCallError:
    """A TargetCallError for an HTTP error response."""
    retry_after = None
    if headers is not None:
        retry_after = parse_retry_after(headers.get("retry-after"))
    return TargetCallError(
        kind_for_status(status), message, status_code=status, retry_after=retry_after
    )


def api_error_message(body: Any, fallback: str) -> str:
    """The human message inside an Anthropic/OpenAI error body, else `fallback`."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return fallback


def shorten(text: str, limit: int = 300) -> str:
    """`text` cut to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sdk_error(
    api: str,
    exc: Exception,
    base_url: str,
    *,
    status: type[Exception],
    connection: type[Exception],
    timeout: type[Exception],
) -> TargetCallError:
    """An official SDK's exception as a TargetCallError the engine can act on.

    The anthropic and openai SDKs share one error layout (a status error with the
    response, a connection error with a timeout subclass), only under their own names.
    """
    if isinstance(exc, status):
        code: int = getattr(exc, "status_code", 0)
        detail = api_error_message(getattr(exc, "body", None), str(getattr(exc, "message", exc)))
        headers = getattr(getattr(exc, "response", None), "headers", {})
        return status_error(code, f"{api} API returned HTTP {code}: {shorten(detail)}", headers)
    if isinstance(exc, connection):
        what = "timed out" if isinstance(exc, timeout) else "unreachable"
        return TargetCallError(ErrorKind.CONNECTION, f"{api} API at {base_url} {what}")
    return TargetCallError(
        ErrorKind.SERVER, f"{api} API gave an unusable response: {shorten(str(exc))}"
    )


# What an SDK raises while reading a 200 answer that is not a valid message: cut-off or
# empty JSON (ValueError, pydantic's ValidationError among them), JSON `null` or a body
# without the fields every answer has (TypeError, AttributeError, KeyError, IndexError).
PROTOCOL_FAULTS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
)


def protocol_error(api: str, exc: Exception) -> TargetCallError:
    """A 200 answer that is not a valid message: the provider's fault, retried like a 5xx."""
    detail = shorten(f"{type(exc).__name__}: {exc}", 200)
    return TargetCallError(
        ErrorKind.PROTOCOL,
        f"{api} API answered 200 with a body that is not a valid message ({detail})",
    )
