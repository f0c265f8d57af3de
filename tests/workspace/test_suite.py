"""Loading suites: defaults merged, graders converted, ids stable, hashes honest."""

from __future__ import annotations

from evalkit.records import GraderConfig, Message
from evalkit.workspace import load_suite
from evalkit.workspace.loaded import LoadedSuite
from tests.workspace.conftest import Workspace

SUITE = """
name: refunds
version: "2"
tags: [billing]
defaults:
  vars: {lang: en, tone: formal}
  tags: [policy, billing]
  threshold: 0.75
  graders:
    - type: not-contains
      value: lorem ipsum
      metric: no-filler
cases:
  - id: window
    description: How long refunds take
    vars: {q: How many days?, tone: casual}
    expected: "30"
    context: Refunds are accepted for 30 days.
    tags: [days]
    metadata: {owner: ana}
    cluster: timing
    threshold: 0.5
    graders:
      - type: contains
        weight: 2
        case_sensitive: false
  - vars: {q: Can I get cash back?}
    context: [one, two]
    messages:
      - {role: system, content: Be brief.}
      - {role: user, content: Cash?}
  - vars: {q: ignored}
    skip: true
"""


def load(ws: Workspace, text: str = SUITE) -> LoadedSuite:
    return load_suite(ws.write("suites/refunds.yaml", text), ws.root)


def test_suite_fields_and_case_order(ws: Workspace) -> None:
    suite = load(ws)
    assert (suite.name, suite.version, suite.tags) == ("refunds", "2", ["billing"])
    assert suite.path == ws.root / "suites/refunds.yaml"
    assert suite.cases[0].id == "window"
    assert len(suite.cases) == 2  # the skipped case is dropped


def test_defaults_merge_under_the_case(ws: Workspace) -> None:
    first, second = load(ws).cases
    assert first.vars == {"lang": "en", "tone": "casual", "q": "How many days?"}
    assert first.tags == ["policy", "billing", "days"]
    assert first.threshold == 0.5
    assert second.threshold == 0.75
    assert second.tags == ["policy", "billing"]
    assert first.metadata == {"owner": "ana", "description": "How long refunds take"}
    assert first.cluster == "timing"
    assert first.location == "suites/refunds.yaml:13:5"


def test_context_is_always_a_list_of_passages(ws: Workspace) -> None:
    first, second = load(ws).cases
    assert first.context == ["Refunds are accepted for 30 days."]
    assert second.context == ["one", "two"]


def test_messages_become_records(ws: Workspace) -> None:
    first, second = load(ws).cases
    assert first.messages is None
    assert second.messages == [Message("system", "Be brief."), Message("user", "Cash?")]


def test_graders_become_configs_defaults_first(ws: Workspace) -> None:
    first, second = load(ws).cases
    negated = GraderConfig(
        name="contains",
        value="lorem ipsum",
        negate=True,
        metric="no-filler",
        location="suites/refunds.yaml:9:7",
    )
    own = GraderConfig(
        name="contains",
        args={"case_sensitive": False},
        weight=2.0,
        location="suites/refunds.yaml:23:9",
    )
    assert first.graders == [negated, own]
    assert second.graders == [negated]
    assert first.graders[0] is not second.graders[0]  # no shared mutable config
    assert negated.metric_name == "no-filler"


def test_derived_ids_are_stable_and_survive_reordering(ws: Workspace) -> None:
    text = "name: s\ncases:\n  - vars: {q: a}\n  - vars: {q: b}\n    expected: x\n"
    ids = [c.id for c in load(ws, text).cases]
    assert all(i.startswith("case-") and len(i) == len("case-") + 10 for i in ids)
    assert [c.id for c in load(ws, text).cases] == ids
    swapped = "name: s\ncases:\n  - vars: {q: b}\n    expected: x\n  - vars: {q: a}\n"
    assert [c.id for c in load(ws, swapped).cases] == ids[::-1]


def test_derived_id_ignores_defaults_and_graders_but_not_inputs(ws: Workspace) -> None:
    base = "name: s\ncases:\n  - vars: {q: a}\n"
    original = load(ws, base).cases[0].id
    with_defaults = "name: s\ndefaults: {tags: [t], graders: [{type: contains}]}\n" + base[8:]
    assert load(ws, with_defaults).cases[0].id == original
    assert load(ws, base.replace("q: a", "q: b")).cases[0].id != original
    assert load(ws, base + "    expected: z\n").cases[0].id != original


def test_case_hash_tracks_grading_inputs_not_comments(ws: Workspace) -> None:
    base = "name: s\ncases:\n  - id: c\n    vars: {q: a}\n    expected: x\n"
    original = load(ws, base)
    commented = load(ws, "# a note\n" + base.replace("expected: x", "expected: x  # why"))
    assert commented.cases[0].content_hash == original.cases[0].content_hash
    assert commented.content_hash == original.content_hash
    changed = load(ws, base.replace("expected: x", "expected: y"))
    assert changed.cases[0].content_hash != original.cases[0].content_hash
    assert changed.content_hash != original.content_hash
    assert original.cases[0].content_hash.startswith("sha256:")
    assert len(original.cases[0].content_hash) == len("sha256:") + 64


def test_case_hash_changes_with_graders_threshold_context_and_defaults(ws: Workspace) -> None:
    base = "name: s\ncases:\n  - id: c\n    vars: {q: a}\n"
    original = load(ws, base).cases[0].content_hash
    variants = [
        base + "    graders: [{type: contains, value: a}]\n",
        base + "    threshold: 0.9\n",
        base + "    context: passage\n",
        base + "    messages: [{role: user, content: hi}]\n",
        "name: s\ndefaults: {vars: {lang: fr}}\n" + base[8:],
        base.replace("name: s", "name: t"),
        base.replace("id: c", "id: d"),
    ]
    hashes = {load(ws, text).cases[0].content_hash for text in variants}
    assert original not in hashes
    assert len(hashes) == len(variants)


def test_case_hash_ignores_tags_metadata_and_description(ws: Workspace) -> None:
    base = "name: s\ncases:\n  - id: c\n    vars: {q: a}\n"
    original = load(ws, base).cases[0].content_hash
    extra = base + "    tags: [x]\n    metadata: {k: v}\n    description: words\n"
    assert load(ws, extra).cases[0].content_hash == original


def test_suite_hash_depends_on_case_order_and_version(ws: Workspace) -> None:
    text = "name: s\nversion: '1'\ncases:\n  - id: a\n  - id: b\n"
    original = load(ws, text).content_hash
    assert (
        load(
            ws, text.replace("id: a", "id: x").replace("id: b", "id: a").replace("id: x", "id: b")
        ).content_hash
        != original
    )
    assert load(ws, text.replace("'1'", "'2'")).content_hash != original


def test_a_5000_case_suite_loads_with_distinct_derived_ids(ws: Workspace) -> None:
    cases = "".join(
        f"  - vars: {{question: 'What is {i} + {i}?', n: {i}}}\n"
        f"    expected: '{2 * i}'\n"
        f"    tags: [math]\n"
        f"    graders:\n      - type: contains\n        weight: 1\n"
        for i in range(5000)
    )
    text = "name: big\ndefaults:\n  graders: [{type: length, max: 100}]\ncases:\n" + cases
    # Load time is measured by tests/benchmarks/bench_engine.py, not asserted here.
    suite = load(ws, text)
    assert len(suite.cases) == 5000
    assert len({c.id for c in suite.cases}) == 5000
