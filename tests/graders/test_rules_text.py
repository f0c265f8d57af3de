"""String rule graders: equals, contains family, starts/ends-with, regex, length."""

from __future__ import annotations

import pytest

from evalkit.errors import GraderError
from evalkit.records import Status, TargetOutput
from tests.graders.grading import grade


async def test_equals_compares_exact_text_unless_strip() -> None:
    # promptfoo compares String(value) === output: surrounding whitespace counts.
    assert (await grade("equals", "  Paris\n", value="Paris")).status is Status.FAIL
    assert (await grade("equals", "  Paris\n", value="Paris", strip=True)).status is Status.PASS
    failed = await grade("equals", "paris", value="Paris")
    assert failed.status is Status.FAIL
    assert failed.reason == "expected 'Paris', got 'paris'"


async def test_equals_ignore_case_and_no_strip() -> None:
    assert (await grade("equals", "PARIS", value="paris", ignore_case=True)).passed
    assert not (await grade("equals", " Paris", value="Paris", strip=False)).passed


async def test_equals_falls_back_to_expected() -> None:
    assert (await grade("equals", "Oslo", expected="Oslo")).passed
    assert not (await grade("equals", "Oslo", expected="Bergen")).passed


async def test_equals_json_expected_compares_parsed_json() -> None:
    # A JSON-looking string is text in promptfoo; `json: true` compares it as data.
    text, value = '{"b": [1, 2], "a": "x"}', '{"a": "x", "b": [1, 2]}'
    assert (await grade("equals", text, value=value)).status is Status.FAIL
    assert (await grade("equals", text, value=value, json=True)).status is Status.PASS
    assert (await grade("equals", text, value={"a": "x", "b": [1, 2]})).status is Status.PASS
    nested = await grade("equals", '{"a": {"b": 2}}', expected={"a": {"b": 3}})
    assert nested.status is Status.FAIL
    assert nested.reason == "$.a.b: expected 3, got 2"


async def test_equals_keeps_booleans_apart_from_numbers() -> None:
    assert not (await grade("equals", "true", value=1)).passed
    assert (await grade("equals", "1", value=1)).passed


async def test_equals_structured_against_non_json_output_fails_with_reason() -> None:
    failed = await grade("equals", "the answer is 4", value={"n": 4})
    assert failed.status is Status.FAIL
    assert "output is not JSON" in failed.reason


async def test_equals_bracketed_string_that_is_not_json_is_plain_text() -> None:
    assert (await grade("equals", "[citation needed]", value="[citation needed]")).passed


async def test_equals_reads_structured_output() -> None:
    output = TargetOutput(data={"label": "refund"})
    assert (await grade("equals", output, value={"label": "refund"})).passed


async def test_contains_and_negation() -> None:
    found = await grade("contains", "Reset your VPN token", value="VPN")
    assert (found.status, found.score, found.metric) == (Status.PASS, 1.0, "contains")
    negated = await grade("contains", "Reset your VPN token", value="VPN", negate=True)
    assert (negated.status, negated.score, negated.metric) == (Status.FAIL, 0.0, "not-contains")
    missing = await grade("contains", "Reset your token", value="VPN")
    assert missing.reason == "'VPN' not found in output (16 chars)"


async def test_contains_is_case_sensitive_icontains_is_not() -> None:
    assert not (await grade("contains", "vpn", value="VPN")).passed
    assert (await grade("icontains", "vpn", value="VPN")).passed
    # toLowerCase, as promptfoo: the German sharp s does not match "SS" unless casefold
    assert not (await grade("icontains", "STRASSE", value="straße")).passed
    assert (await grade("icontains", "STRASSE", value="straße", casefold=True)).passed


async def test_contains_templated_value_uses_case_vars() -> None:
    assert (await grade("contains", "Hello Ada", value="{{ name }}", vars={"name": "Ada"})).passed
    undefined = await grade("contains", "Hello", value="{{ nobody }}", vars={})
    assert undefined.status is Status.ERROR
    assert "nobody" in undefined.reason


async def test_contains_without_value_or_expected_is_refused_at_bind() -> None:
    with pytest.raises(GraderError, match=r"suites/s.yaml:7:9 grader 'contains' needs a `value:`"):
        await grade("contains", "x")


async def test_contains_all_partial_score_passes_only_when_all_found() -> None:
    result = await grade("contains-all", "Use the VPN", value=["VPN", "MFA", "SSO"])
    assert result.status is Status.FAIL
    assert result.score == pytest.approx(1 / 3)
    assert result.reason == "missing 2 of 3: 'MFA', 'SSO'"
    assert (await grade("contains-all", "VPN MFA SSO", value=["VPN", "MFA", "SSO"])).passed


async def test_contains_all_min_fraction_cuts_the_fraction() -> None:
    value = ["VPN", "MFA", "SSO"]
    result = await grade("contains-all", "VPN and MFA", value=value, min_fraction=0.6)
    assert result.status is Status.PASS
    assert (await grade("contains-all", "VPN", value=value, min_fraction=0.6)).status is Status.FAIL


async def test_contains_any_and_comma_separated_values() -> None:
    hit = await grade("contains-any", "enable MFA", value="VPN, MFA")
    assert hit.passed
    assert hit.reason == "found 'MFA' (1 of 2)"
    miss = await grade("contains-any", "nothing", value=["VPN", "MFA"])
    assert miss.reason == "none of 2 found: 'VPN', 'MFA'"


async def test_icontains_any_and_all_with_expected_list() -> None:
    assert (await grade("icontains-any", "use mfa", expected=["VPN", "MFA"])).passed
    assert (await grade("icontains-all", "use mfa and vpn", expected=["VPN", "MFA"])).passed
    assert not (await grade("icontains-all", "use mfa", expected=["VPN", "MFA"])).passed


async def test_contains_any_empty_list_fails_and_contains_all_passes() -> None:
    assert (await grade("contains-any", "x", value=[])).status is Status.FAIL
    assert (await grade("contains-all", "x", value=[])).status is Status.PASS
    empty = await grade("contains-any", "x", value="")
    assert empty.status is Status.ERROR
    assert "comma-separated" in empty.reason


async def test_starts_with_and_ends_with_strip_only_when_asked() -> None:
    assert not (await grade("starts-with", "\n Dear customer,", value="Dear")).passed
    assert (await grade("starts-with", "\n Dear customer,", value="Dear", strip=True)).passed
    assert (await grade("ends-with", "Regards.\n", value="Regards.", strip=True)).passed
    failed = await grade("starts-with", "Hi there", value="Dear")
    assert failed.reason == "expected start 'Dear', got 'Hi there'"


async def test_regex_with_flags_and_unicode() -> None:
    assert (await grade("regex", "Ticket INC-0042 opened", value=r"INC-\d{4}")).passed
    assert not (await grade("regex", "ticket inc-0042", value=r"INC-\d{4}")).passed
    assert (await grade("regex", "ticket inc-0042", value=r"INC-\d{4}", flags="i")).passed
    # JavaScript's \w is ASCII: "è" is not a word character
    assert not (await grade("regex", "Café crème", value=r"cr\wme")).passed
    matched = await grade("regex", "Café crème", value=r"cr.me")
    assert matched.reason == "matched 'crème' at 5"


async def test_regex_bad_pattern_fails_both_ways_and_bad_flag_fails_at_bind() -> None:
    # As in promptfoo: an invalid pattern fails `regex` and `not-regex` alike.
    for negate in (False, True):
        failed = await grade("regex", "x", value="(unclosed", negate=negate)
        assert failed.status is Status.FAIL
        assert "invalid regular expression" in failed.reason
    with pytest.raises(GraderError, match="unknown regex flag"):
        await grade("regex", "x", value="a", flags="iq")


async def test_regex_templated_pattern() -> None:
    result = await grade("regex", "order 123", value=r"order {{ n }}\b", vars={"n": 123})
    assert result.passed


async def test_length_in_chars_and_words() -> None:
    assert (await grade("length", "héllo", max=5)).passed  # code points, not bytes
    too_long = await grade("length", "one two three", unit="words", max=2)
    assert too_long.reason == "3 words (max 2)"
    assert not (await grade("length", "hi", min=3)).passed


async def test_length_params_are_checked_strictly() -> None:
    with pytest.raises(GraderError, match="set `min`, `max` or both"):
        await grade("length", "x")
    with pytest.raises(GraderError, match="max"):
        await grade("length", "x", max=True)
    with pytest.raises(GraderError, match="greater than"):
        await grade("length", "x", min=5, max=2)
    with pytest.raises(GraderError, match="takes no `value`"):
        await grade("length", "x", value=3)


async def test_unknown_param_is_refused() -> None:
    with pytest.raises(GraderError, match="ignorecase: Extra inputs are not permitted"):
        await grade("contains", "x", value="x", ignorecase=True)


async def test_text_graders_read_structured_data_as_json_text() -> None:
    output = TargetOutput(data={"city": "Zürich"})
    # as JSON.stringify writes it: compact
    assert (await grade("contains", output, value='"city":"Zürich"')).passed


async def test_contains_a_number_looks_for_its_digits() -> None:
    assert (await grade("contains", "order 1234 shipped", value=1234)).passed
    refused = await grade("contains", "x", value=True)
    assert refused.status is Status.ERROR
    assert "non-empty string or a number" in refused.reason
