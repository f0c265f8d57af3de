"""Point 10 of issue 6: property-based tests of the suite loader and the rule graders.

Whatever the input, the loader returns a suite or raises a clean EvalkitError (with a
location), and a rule grader returns a Grade (an `error` grade when it cannot judge):
never a raw exception, which would crash `evalkit validate` or a whole run.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evalkit.graders.rules  # noqa: F401  (registers the built-in graders)
from evalkit.errors import EvalkitError
from evalkit.graders.aggregate import bind_case
from evalkit.records import Grade, GraderConfig, Status, TargetOutput, Usage
from evalkit.workspace import load_suite, parse_yaml
from tests.graders.grading import make_case

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# YAML-looking text: the characters and tokens that steer a YAML parser
YAML_TOKENS = st.sampled_from(
    [
        "\n", "  ", "- ", ": ", "name", "cases", "id", "vars", "graders", "type", "expected",
        "{", "}", "[", "]", ",", "&a ", "*a", "!!python/object:os.system ", "!!str ", "|",
        ">", "'", '"', "#", "---", "...", "? ", "0123", "no", "true", "~", "1e9", "\t", "%YAML",
        "<<: ", "\\x00", "é", "\u2028", "cases_from: [../x.csv]", "!!binary ", "@",
    ]
)  # fmt: skip
YAMLISH = st.lists(st.one_of(YAML_TOKENS, st.text(max_size=8)), max_size=40).map("".join)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(YAMLISH)
def test_parse_yaml_accepts_or_raises_a_clean_error(text: str) -> None:
    try:
        parse_yaml(text, "suites/gen.yaml")
    except EvalkitError as exc:
        assert str(exc)


@FAST
@given(st.text(max_size=200))
def test_parse_yaml_on_any_text(text: str) -> None:
    try:
        parse_yaml(text, "suites/gen.yaml")
    except EvalkitError as exc:
        assert str(exc)


GRADER_NAMES = st.sampled_from(
    ["contains", "not-icontains", "regex", "equals", "json-field", "numeric", "length", "nope"]
)
GRADER = st.one_of(
    GRADER_NAMES,
    st.fixed_dictionaries(
        {"type": GRADER_NAMES},
        optional={
            "value": JSONISH,
            "weight": SCALARS,
            "threshold": SCALARS,
            "metric": SCALARS,
            "path": JSONISH,
            "min": SCALARS,
            "flags": JSONISH,
        },
    ),
    JSONISH,
)
CASE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=12), st.integers(), SCALARS),
            "vars": JSONISH,
            "expected": JSONISH,
            "graders": st.lists(GRADER, max_size=3),
            "tags": JSONISH,
            "context": JSONISH,
            "messages": JSONISH,
            "metadata": JSONISH,
            "cluster": SCALARS,
            "threshold": SCALARS,
            "timeout": SCALARS,
        },
    ),
    JSONISH,
)
SUITE = st.one_of(
    st.fixed_dictionaries(
        {"name": st.one_of(st.text(max_size=12), SCALARS), "cases": st.lists(CASE, max_size=4)},
        optional={
            "defaults": JSONISH,
            "version": SCALARS,
            "tags": JSONISH,
            "cases_from": JSONISH,
            "description": SCALARS,
        },
    ),
    JSONISH,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SUITE)
def test_load_suite_on_generated_structures(document: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "suites").mkdir()
        path = root / "suites" / "gen.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        try:
            suite = load_suite(path, root)
        except EvalkitError as exc:
            assert "suites/gen.yaml" in str(exc)  # says where
        else:
            assert all(c.content_hash.startswith("sha256:") for c in suite.cases)


# -- rule graders ------------------------------------------------------------------

RULES = [
    "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
    "starts-with", "ends-with", "regex", "equals", "is-json", "contains-json", "json-schema",
    "json-field", "numeric", "length", "levenshtein", "similarity", "latency", "cost",
]  # fmt: skip
ARG_NAMES = st.sampled_from(
    ["path", "min", "max", "abs_tol", "rel_tol", "unit", "flags", "schema", "equals", "in",
     "case_sensitive", "words", "threshold", "value", "contains", "one_of", "x"]
)  # fmt: skip
OUTPUT_TEXT = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(['{"a": 1}', "[1, 2", "3.5 kg", "NaN", "1e400", '{"answer": {"x": [1]}}']),
)


def as_output(text: str | None, data: Any, latency: float, cost: float | None) -> TargetOutput:
    usage = Usage(input_tokens=1, output_tokens=1)
    return TargetOutput(text=text, data=data, latency_ms=latency, cost_usd=cost, usage=usage)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(RULES),
    negate=st.booleans(),
    value=JSONISH,
    expected=JSONISH,
    args=st.dictionaries(ARG_NAMES, JSONISH, max_size=3),
    threshold=st.one_of(st.none(), st.floats(allow_nan=True)),
    text=OUTPUT_TEXT,
    data=JSONISH,
    latency=st.floats(allow_nan=True, allow_infinity=True),
    cost=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_rule_graders_grade_or_refuse_cleanly(
    name: str,
    negate: bool,
    value: Any,
    expected: Any,
    args: dict[str, Any],
    threshold: float | None,
    text: str | None,
    data: Any,
    latency: float,
    cost: float | None,
) -> None:
    config = GraderConfig(
        name=name, args=args, value=value, negate=negate, threshold=threshold,
        location="suites/s.yaml:7:9",
    )  # fmt: skip
    case = make_case(expected=expected, graders=[config])
    try:
        [bound] = bind_case(case)
    except EvalkitError as exc:  # bad params are refused before the run, with a location
        assert "suites/s.yaml:7:9" in str(exc)
        return
    grade = asyncio.run(bound.grade(case, as_output(text, data, latency, cost)))
    assert isinstance(grade, Grade)
    assert grade.status in (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED)
    if grade.status in (Status.PASS, Status.FAIL):
        assert grade.score is not None and 0.0 <= grade.score <= 1.0 and not math.isnan(grade.score)
        assert grade.passed is (grade.status is Status.PASS)
    else:
        assert grade.reason


# Plausible settings, so most examples get past binding and exercise grading itself.
TEXTS = st.text(max_size=12)
PLAUSIBLE: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "contains": st.fixed_dictionaries({"value": TEXTS}),
    "icontains": st.fixed_dictionaries({"value": TEXTS}),
    "contains-any": st.fixed_dictionaries({"value": st.lists(TEXTS, min_size=1, max_size=3)}),
    "icontains-all": st.fixed_dictionaries({"value": st.lists(TEXTS, min_size=1, max_size=3)}),
    "starts-with": st.fixed_dictionaries({"value": TEXTS}),
    "ends-with": st.fixed_dictionaries({"value": TEXTS}),
    "regex": st.fixed_dictionaries(
        {"value": st.sampled_from(["a+", "^x", r"\d{2,}", "(", "[", "é.*"])}
    ),
    "equals": st.fixed_dictionaries({"value": JSONISH}),
    "is-json": st.just({}),
    "contains-json": st.just({}),
    "json-field": st.fixed_dictionaries(
        {"path": st.sampled_from(["a", "answer.x", "a.0", "x.y.z", "0"]), "value": JSONISH}
    ),
    "numeric": st.fixed_dictionaries(
        {"value": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False))}
    ),
    "length": st.fixed_dictionaries({"max": st.integers(min_value=0, max_value=50)}),
    "levenshtein": st.fixed_dictionaries({"value": TEXTS}),
    "similarity": st.fixed_dictionaries({"value": TEXTS}),
    "latency": st.fixed_dictionaries({"value": st.floats(min_value=0, max_value=1e6)}),
    "cost": st.fixed_dictionaries({"value": st.floats(min_value=0, max_value=10)}),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=st.sampled_from(sorted(PLAUSIBLE)).flatmap(
        lambda name: st.tuples(st.just(name), PLAUSIBLE[name])
    ),
    negate=st.booleans(),
    text=st.one_of(OUTPUT_TEXT, st.text(max_size=300)),
    data=JSONISH,
    latency=st.floats(allow_nan=True, allow_infinity=True),
    cost=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_rule_graders_on_random_outputs_always_return_a_grade(
    pair: tuple[str, dict[str, Any]],
    negate: bool,
    text: str | None,
    data: Any,
    latency: float,
    cost: float | None,
) -> None:
    name, params = pair
    args = {k: v for k, v in params.items() if k != "value"}
    config = GraderConfig(
        name=name, args=args, value=params.get("value"), negate=negate, location="suites/s.yaml:7:9"
    )
    case = make_case(graders=[config], expected="x")
    try:
        [bound] = bind_case(case)
    except EvalkitError as exc:  # e.g. the regex "(": refused with its location
        assert "suites/s.yaml:7:9" in str(exc)
        return
    grade = asyncio.run(bound.grade(case, as_output(text, data, latency, cost)))
    assert isinstance(grade, Grade)
    if grade.status in (Status.PASS, Status.FAIL):
        assert grade.score is not None and 0.0 <= grade.score <= 1.0
    else:
        assert grade.reason
