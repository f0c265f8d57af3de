"""The demo workspace's YAML: it parses, validates, and its cross-references hold."""

import csv
import json
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from evalkit.workspace.models import CaseSpec, PlanSpec, SuiteSpec

ROOT = Path(__file__).resolve().parents[2]
SUITE_FILES = sorted((ROOT / "suites").glob("*.yaml"))
PLAN_FILES = sorted((ROOT / "evals").glob("*.yaml"))
KB_IDS = {
    m.group(1)
    for path in (ROOT / "examples" / "helpdesk_assistant" / "kb").glob("*.md")
    if (m := re.search(r"^id:\s*(KB-\d{3})$", path.read_text(encoding="utf-8"), re.MULTILINE))
}

# The grader names the demo relies on: evalkit's built-ins plus graders/helpdesk.py.
KNOWN_GRADERS = {
    "icontains",
    "icontains-all",
    "icontains-any",
    "regex",
    "length",
    "json-schema",
    "json-field",
    "cites-kb",
    "no-unpublished-pii",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def suite_cases(path: Path) -> list[CaseSpec]:
    """The suite's cases, including the rows of its `cases_from` CSV files."""
    suite = SuiteSpec.model_validate(load(path))
    cases = list(suite.cases)
    for source in suite.cases_from:
        name = source if isinstance(source, str) else source.path
        with (path.parent / name).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                cases.append(
                    CaseSpec(
                        id=row["id"],
                        vars={"question": row["question"]},
                        expected=row["expected"],
                        tags=[row["tags"]],
                    )
                )
    return cases


def test_the_demo_has_its_files() -> None:
    assert len(SUITE_FILES) >= 2
    assert [p.name for p in PLAN_FILES] == ["helpdesk.yaml"]


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.name)
def test_suite_validates(path: Path) -> None:
    suite = SuiteSpec.model_validate(load(path))
    assert suite.name == path.stem, "the suite name is its file name, so ids read the same"
    assert suite.cases or suite.cases_from


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.name)
def test_plan_validates_and_its_files_exist(path: Path) -> None:
    plan = PlanSpec.model_validate(load(path))
    for suite in plan.suites:
        assert (ROOT / suite).is_file(), suite
    for target in plan.targets:
        options = target.model_extra or {}
        if target.provider == "python":
            assert (ROOT / options["function"].split(":")[0]).is_file()
        if target.provider == "replay":
            assert (ROOT / options["path"]).is_file()
        for prompt in target.prompts:
            if prompt.file:
                assert (path.parent / prompt.file).is_file(), prompt.file


def test_plan_targets_use_only_options_their_providers_accept() -> None:
    from evalkit.targets import providers

    registered = providers()
    plan = PlanSpec.model_validate(load(ROOT / "evals" / "helpdesk.yaml"))
    assert {t.provider for t in plan.targets} == {"python", "replay", "anthropic"}
    for target in plan.targets:
        registered[target.provider].Options.model_validate(target.model_extra or {})
    claude = next(t for t in plan.targets if t.provider == "anthropic")
    assert claude.requires_env == ["ANTHROPIC_API_KEY"]  # the demo runs offline without it
    assert [p.id for p in claude.prompts] == ["concise", "detailed"]


def test_demo_size_ids_and_tags() -> None:
    every: list[tuple[str, CaseSpec]] = [
        (path.stem, case) for path in SUITE_FILES for case in suite_cases(path)
    ]
    assert 25 <= len(every) <= 40
    ids = [case.id for _, case in every]
    assert all(ids), "every case has an explicit, stable id"
    # Unique across suites, so recordings and filters can name a case by id alone.
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i or "") for i in ids)
    assert all(case.tags for _, case in every)
    assert sum(1 for _, case in every if case.cluster) >= 5
    assert sum(1 for _, case in every if case.context) >= 2


def test_graders_are_known_and_cited_articles_exist() -> None:
    for path in SUITE_FILES:
        suite = SuiteSpec.model_validate(load(path))
        graders = list(suite.defaults.graders)
        for case in suite.cases:
            graders.extend(case.graders)
        for spec in graders:
            name = spec.type.removeprefix("not-")
            assert name in KNOWN_GRADERS, f"{path.name}: unknown grader {spec.type}"
            if name == "cites-kb" and spec.value is not None:
                wanted = [spec.value] if isinstance(spec.value, str) else spec.value
                assert set(wanted) <= KB_IDS, f"{path.name}: cites-kb {wanted}"


def test_every_recording_matches_a_case_of_the_plan() -> None:
    cases = {(path.stem, case.id) for path in SUITE_FILES for case in suite_cases(path)}
    lines = (ROOT / "evals" / "recordings" / "assistant-v1.jsonl").read_text().splitlines()
    keys = []
    for number, line in enumerate(lines, 1):
        record = json.loads(line)
        assert {"suite", "case_id", "output", "latency_ms", "metadata"} <= set(record), number
        assert (record["suite"], record["case_id"]) in cases, f"line {number}: no such case"
        keys.append((record["suite"], record["case_id"]))
    assert len(keys) == len(set(keys))
    # A case added after v1 was recorded has no line: the demo shows a missing output.
    assert len(cases - set(keys)) == 1


def test_claude_knowledge_digest_names_every_article_and_nothing_else() -> None:
    plan = PlanSpec.model_validate(load(ROOT / "evals" / "helpdesk.yaml"))
    claude = next(t for t in plan.targets if t.provider == "anthropic")
    system = (claude.model_extra or {})["system"]
    assert set(re.findall(r"KB-\d{3}", system)) == KB_IDS


@pytest.mark.parametrize("name", ["concise.j2", "detailed.j2"])
def test_prompt_templates_render_for_text_and_json_cases(name: str) -> None:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = env.from_string((ROOT / "evals" / "prompts" / name).read_text())
    plain = template.render(question="How do I reset my password?")
    structured = template.render(question="VPN drops", format="json")
    assert "How do I reset my password?" in plain and "JSON" not in plain
    assert '"category"' in structured and "VPN drops" in structured
