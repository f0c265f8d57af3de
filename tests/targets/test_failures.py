"""HTTP statuses and Retry-After headers become retry decisions."""

from __future__ import annotations

import email.utils

import pytest

from evalkit.records import ErrorKind
from evalkit.targets.failures import kind_for_status, parse_retry_after, status_error


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, ErrorKind.RATE_LIMIT),
        (500, ErrorKind.SERVER),
        (529, ErrorKind.SERVER),
        (408, ErrorKind.SERVER),
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
        (400, ErrorKind.CLIENT),
        (404, ErrorKind.CLIENT),
        (422, ErrorKind.CLIENT),
    ],
)
def test_status_kinds(status: int, kind: ErrorKind) -> None:
    assert kind_for_status(status) is kind


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0


def test_retry_after_as_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Mon, 99 Foo 2024"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_status_error_carries_code_kind_and_wait() -> None:
    error = status_error(429, "slow down", {"retry-after": "4"})
    assert (error.kind, error.status_code, error.retry_after, error.message) == (
        ErrorKind.RATE_LIMIT,
        429,
        4.0,
        "slow down",
    )
