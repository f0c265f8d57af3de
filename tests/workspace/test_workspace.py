"""Finding plans, loading them by name/file/folder, and validating a whole workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.errors import SpecError, UsageError, WorkspaceError
from evalkit.workspace import find_plans, load_plans, validate_workspace
from tests.workspace.conftest import Workspace


def plan_text(name: str, suites: str = "suites/*.yaml") -> str:
    return (
        f"name: {name}\nsuites: [{suites}]\ntargets:\n  - id: t\n    provider: fake\n    model: m\n"
    )


@pytest.fixture
def two_plans(ws: Workspace, fake_provider: str) -> Workspace:
    ws.write("suites/a.yaml", "name: a\ncases:\n  - id: one\n")
    ws.write("evals/nightly.yaml", plan_text("nightly"))
    ws.write("evals/pr.yml", plan_text("pull-request"))
    ws.write("evals/notes.txt", "not a plan")
    return ws


def test_find_plans_lists_yaml_and_yml_sorted(two_plans: Workspace) -> None:
    root = two_plans.root
    assert find_plans(root) == [root / "evals/nightly.yaml", root / "evals/pr.yml"]


def test_find_plans_without_an_evals_folder(tmp_path: Path) -> None:
    assert find_plans(tmp_path) == []


def test_load_all_plans(two_plans: Workspace) -> None:
    assert [p.name for p in load_plans(two_plans.root, None)] == ["nightly", "pull-request"]


def test_load_a_plan_by_its_declared_name_or_file_stem(two_plans: Workspace) -> None:
    assert [p.name for p in load_plans(two_plans.root, "pull-request")] == ["pull-request"]
    assert [p.name for p in load_plans(two_plans.root, "nightly")] == ["nightly"]


def test_load_a_plan_by_path_relative_to_the_root(two_plans: Workspace) -> None:
    assert [p.name for p in load_plans(two_plans.root, "evals/pr.yml")] == ["pull-request"]
    absolute = str(two_plans.root / "evals/pr.yml")
    assert [p.name for p in load_plans(two_plans.root, absolute)] == ["pull-request"]


def test_load_plans_from_a_folder(two_plans: Workspace) -> None:
    root = two_plans.root
    assert len(load_plans(root, str(root))) == 2
    assert len(load_plans(root, str(root / "evals"))) == 2


def test_unknown_plan_name_suggests_one(two_plans: Workspace) -> None:
    with pytest.raises(UsageError) as exc:
        load_plans(two_plans.root, "nightley")
    assert exc.value.message == (
        "no plan named 'nightley' (did you mean 'nightly'?) (plans: nightly, pull-request)"
    )


def test_plan_file_outside_the_workspace_is_refused(two_plans: Workspace) -> None:
    outside = two_plans.root.parent / "elsewhere.yaml"
    outside.write_text(plan_text("elsewhere"))
    with pytest.raises(WorkspaceError) as exc:
        load_plans(two_plans.root, str(outside))
    assert "is outside the workspace" in exc.value.message


def test_problems_in_several_plans_are_raised_together(two_plans: Workspace) -> None:
    two_plans.write("evals/nightly.yaml", plan_text("nightly", "suites/none.yaml"))
    two_plans.write("evals/pr.yml", plan_text("pull-request") + "epochs: 0\n")
    with pytest.raises(SpecError) as exc:
        load_plans(two_plans.root, None)
    assert [str(p[0]) for p in exc.value.problems] == [
        "evals/nightly.yaml:2:10",
        "evals/pr.yml:7:1",
    ]


def test_validate_a_clean_workspace(two_plans: Workspace) -> None:
    assert validate_workspace(two_plans.root) == []


def test_validate_collects_every_problem_across_files(two_plans: Workspace) -> None:
    ws = two_plans
    ws.write("evals/pr.yml", plan_text("nightly"))  # same name as the other plan
    ws.write("evals/broken.yaml", "name: broken\nsuites: [suites/*.yaml]\ntargets: x\n")
    ws.write("suites/a.yaml", "name: a\ncases:\n  - id: one\n    expeted: 1\n")
    ws.write("suites/deep/b.yaml", "name: b\ncases:\n  - graders: [{type: nope}]\n")
    found = validate_workspace(ws.root)
    assert found[0] == (
        "evals/pr.yml:1:1 name: plan name 'nightly' is also used by evals/nightly.yaml; "
        "plan names must be unique"
    )
    assert found[1] == "evals/broken.yaml:3:1 targets: expected a list, got text 'x'"
    assert (
        found[2] == "suites/a.yaml:4:5 cases[0]: unknown key 'expeted' (did you mean 'expected'?)"
    )
    # a.yaml is loaded by both plans and by the sweep of suites/, yet reported once.
    assert sum(line.startswith("suites/deep/b.yaml:3:15") for line in found) == 1
    assert sum(line.startswith("suites/a.yaml:4:5") for line in found) == 1
    assert len(found) == 4


def test_validate_reports_unreadable_yaml(ws: Workspace) -> None:
    ws.write("suites/bad.yaml", "name: [unclosed\n")
    found = validate_workspace(ws.root)
    assert len(found) == 1
    assert found[0].startswith("suites/bad.yaml:2:1: invalid YAML: ")
