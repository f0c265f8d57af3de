"""The demo workspace's own graders (graders/helpdesk.py), directly and through evalkit."""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from evalkit.graders.base import bind, unregister
from evalkit.records import Case, GraderConfig, Status, TargetOutput

GRADERS_FILE = Path(__file__).resolve().parents[2] / "graders" / "helpdesk.py"
CASE = Case(suite="test", id="c")


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[ModuleType]:
    """graders/helpdesk.py loaded as a workspace file, its graders unregistered after."""
    spec = importlib.util.spec_from_file_location("demo_workspace_graders", GRADERS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    for name in ("cites-kb", "no-unpublished-pii"):
        unregister(name)
    del sys.modules[spec.name]


def text(value: str) -> TargetOutput:
    return TargetOutput(text=value)


def test_cites_kb_accepts_real_citations(helpdesk: ModuleType) -> None:
    params = helpdesk.CitesKbParams(value="KB-101")
    verdict = helpdesk.cites_kb(text("Try a hotspot. [KB-101] See also [KB-108]."), CASE, params)
    assert verdict.passed is True
    assert verdict.metadata["cited"] == ["KB-101", "KB-108"]


@pytest.mark.parametrize(
    ("answer", "value", "reason"),
    [
        ("Use the VPN.", None, "cites no KB article"),
        ("Install AnyConnect. [KB-099]", None, "KB-099, not in the knowledge base"),
        ("Reset it yourself. [KB-102]", "KB-101", "but not KB-101"),
        ("Both. [KB-101]", ["KB-101", "KB-106"], "but not KB-106"),
    ],
)
def test_cites_kb_fails_missing_invented_or_wrong_citations(
    helpdesk: ModuleType, answer: str, value: str | list[str] | None, reason: str
) -> None:
    verdict = helpdesk.cites_kb(text(answer), CASE, helpdesk.CitesKbParams(value=value))
    assert verdict.passed is False
    assert reason in verdict.reason


def test_cites_kb_reads_sources_of_a_json_answer(helpdesk: ModuleType) -> None:
    data = {"category": "network", "priority": "low", "answer": "Use the guest Wi-Fi."}
    output = TargetOutput(data={**data, "sources": ["KB-108"]})
    assert helpdesk.cites_kb(output, CASE, helpdesk.CitesKbParams(value="KB-108")).passed
    as_text = TargetOutput(text='{"answer": "No sources.", "sources": []}')
    assert not helpdesk.cites_kb(as_text, CASE, helpdesk.CitesKbParams()).passed


def test_no_pii_allows_what_the_kb_publishes(helpdesk: ModuleType) -> None:
    answer = (
        "Report it within 24 hours to security@northwind.example, or call extension 4444. "
        "Recorded 2024-06-03."
    )
    assert helpdesk.no_pii(text(answer), CASE, helpdesk.NoPiiParams()).passed is True


@pytest.mark.parametrize(
    "answer",
    [
        "Thanks, I've noted your new number +44 7700 900123.",
        "I forwarded it to jane.doe@gmail.com for you.",
        "Call Priya on (555) 010-4477.",
    ],
)
def test_no_pii_flags_personal_details_and_masks_them(helpdesk: ModuleType, answer: str) -> None:
    verdict = helpdesk.no_pii(text(answer), CASE, helpdesk.NoPiiParams())
    assert verdict.passed is False
    assert "possible PII" in verdict.reason
    for secret in ("7700 900123", "jane.doe@gmail", "010-4477"):
        assert secret not in verdict.reason


def test_no_pii_allow_list(helpdesk: ModuleType) -> None:
    params = helpdesk.NoPiiParams(allow=["events@northwind.example"])
    assert helpdesk.no_pii(text("Write to events@northwind.example"), CASE, params).passed


async def test_graders_work_through_evalkits_registry(helpdesk: ModuleType) -> None:
    cites = bind(GraderConfig(name="cites-kb", value="KB-106"))
    grade = await cites.grade(CASE, text("Use Report Phish. [KB-106]"))
    assert grade.status is Status.PASS and grade.score == 1.0

    # Negated: an answer that cites nothing passes `not-cites-kb`.
    negated = bind(GraderConfig(name="cites-kb", negate=True))
    grade = await negated.grade(CASE, text("I couldn't find this in the IT knowledge base."))
    assert grade.status is Status.PASS and grade.metric == "not-cites-kb"

    pii = bind(GraderConfig(name="no-unpublished-pii", args={"allow": []}))
    grade = await pii.grade(CASE, text("Mail me at someone@example.org"))
    assert grade.status is Status.FAIL
