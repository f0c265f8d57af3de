"""Scrubbing: what must be replaced, and the look-alikes that must survive."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.feedback.scrub import luhn_valid, scrub_text, scrub_value


def scrubbed(text: str) -> tuple[str, dict[str, int]]:
    counts: Counter[str] = Counter()
    return scrub_text(text, counts), dict(counts)


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+billing@example.co.uk today", "write to [EMAIL] today", "email"),
        ("call +1 (555) 123-4567 now", "call [PHONE] now", "phone"),
        ("call 555-123-4567 now", "call [PHONE] now", "phone"),
        ("call (555) 123-4567 now", "call [PHONE] now", "phone"),
        ("ring +44 20 7946 0958", "ring [PHONE]", "phone"),
        ("ring 020 7946 0958", "ring [PHONE]", "phone"),
        ("ring +49 30 12345678", "ring [PHONE]", "phone"),
        ("card 4111 1111 1111 1111 ok", "card [CARD] ok", "card"),
        ("card 4111-1111-1111-1111 ok", "card [CARD] ok", "card"),
        ("card 4111111111111111 ok", "card [CARD] ok", "card"),
        ("amex 3782 822463 10005", "amex [CARD]", "card"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "key [KEY]", "key"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx1234", "key [KEY]", "key"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws [KEY] here", "key"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [KEY]", "key"),
        ("slack xoxb-123456789012-abcdefghij", "slack [KEY]", "key"),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "Authorization: Bearer [KEY]",
            "key",
        ),
        ('api_key="9f86d081884c7d659a2feaa0c55ad015"', 'api_key="[KEY]"', "key"),
        ("password: hunter22", "password: [KEY]", "key"),
        ('{"password": "hunter22"}', '{"password": "[KEY]"}', "key"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [KEY]", "key"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- end",
            "[KEY] end",
            "key",
        ),
    ],
)
def test_each_kind_is_replaced_and_counted(text: str, expected: str, kind: str) -> None:
    out, counts = scrubbed(text)
    assert out == expected
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 is not Luhn-valid",
        "number 4111111111111112",
        "on 2024-01-15 at 10:30, or 15/01/2024",
        "ISBN 978-3-16-148410-0",
        "it costs $1,299.99 (or 1.299,99 EUR)",
        "order #100234567 and ORD-2024-001234",
        "version 1.2.3.4 on 192.168.1.1",
        "tracking 1Z999AA10123456784",
        "password: required",
        "the token: abc",
        "a secret = correcthorse",
        "sk-short",
        "Basic questionnaires and bearer instruments",
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert scrubbed(text) == (text, {})


def test_every_string_in_a_nested_value_is_scrubbed_and_keys_kept() -> None:
    value = {
        "user": {"email": "a@b.io", "notes": ["call 555-123-4567", 3, None]},
        "a@b.io": True,
    }
    counts: Counter[str] = Counter()
    out = scrub_value(value, counts)
    assert out == {"user": {"email": "[EMAIL]", "notes": ["call [PHONE]", 3, None]}, "a@b.io": True}
    assert counts == {"email": 1, "phone": 1}
    assert value["user"]["email"] == "a@b.io"  # the input is not changed


def luhn_complete(prefix: str) -> str:
    for check in "0123456789":
        if luhn_valid(prefix + check):
            return prefix + check
    raise AssertionError("some check digit always fits")


@given(
    body=st.text(alphabet="0123456789", min_size=14, max_size=14),
    first=st.sampled_from("3456"),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_any_luhn_valid_card_in_print_layout_is_replaced(body: str, first: str, sep: str) -> None:
    number = luhn_complete(first + body)
    shown = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    out, counts = scrubbed(f"paid with {shown}.")
    assert out == "paid with [CARD]."
    assert counts == {"card": 1}


@given(
    user=st.from_regex(r"[a-z][a-z0-9._]{0,15}", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(com|org|io|co\.uk)", fullmatch=True),
)
def test_no_generated_address_survives(user: str, domain: str) -> None:
    out, _ = scrubbed(f"From: {user}@{domain}, re: your order")
    assert "@" not in out


@given(st.dates(), st.integers(min_value=0, max_value=10**6), st.integers(0, 99))
def test_dates_and_prices_survive(day: object, units: int, cents: int) -> None:
    text = f"on {day} we charged ${units:,}.{cents:02d} for {units} items"
    assert scrubbed(text) == (text, {})


@given(st.text())
def test_scrubbing_is_idempotent(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.sampled_from(["", " ", "-"]))
def test_a_card_shaped_number_failing_luhn_survives(body: str, sep: str) -> None:
    number = "4" + body
    if luhn_valid(number):
        number = number[:-1] + str((int(number[-1]) + 1) % 10)  # one digit off: not Luhn
    shown = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    text = f"ref {shown}."
    assert scrubbed(text) == (text, {})


@given(st.lists(st.integers(1, 6), min_size=3, max_size=3))
def test_isbn_layouts_survive(lengths: list[int]) -> None:
    # ISBN-13 as printed: 978 (or 979), then group, publisher and title, then a check digit
    digits = iter("3161484100123456789")
    groups = ["".join(next(digits) for _ in range(n)) for n in lengths]
    text = f"ISBN 978-{'-'.join(groups)}-7"
    assert scrubbed(text) == (text, {})
