"""Plans: settings and ids checked at their lines, suites found, provider options checked."""

from __future__ import annotations

import pytest

from evalkit.errors import SpecError
from evalkit.workspace import load_plan
from evalkit.workspace.loaded import LoadedPlan
from tests.workspace.conftest import Workspace

SUITE_A = "name: a\ncases:\n  - id: one\n"
SUITE_B = "name: b\ncases:\n  - id: two\n"

PLAN = """
name: nightly
suites:
  - suites/*.yaml
targets:
  - id: main
    provider: fake
    model: m-1
    prompts:
      - id: plain
        template: "{{ q }}"
epochs: 2
"""


@pytest.fixture(autouse=True)
def _suites(ws: Workspace, fake_provider: str) -> None:
    ws.write("suites/a.yaml", SUITE_A)
    ws.write("suites/b.yaml", SUITE_B)


def load(ws: Workspace, text: str = PLAN) -> LoadedPlan:
    return load_plan(ws.write("evals/nightly.yaml", text), ws.root)


def problems(ws: Workspace, text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load(ws, text)
    return [str(SpecError([p])) for p in exc.value.problems]


def test_a_valid_plan_loads_its_suites_in_order(ws: Workspace) -> None:
    plan = load(ws)
    assert plan.name == "nightly"
    assert plan.root == ws.root
    assert plan.path == ws.root / "evals/nightly.yaml"
    assert [s.name for s in plan.suites] == ["a", "b"]
    assert plan.spec.epochs == 2
    assert plan.spec.targets[0].model_extra == {"model": "m-1"}


def test_config_hash_is_stable_and_tracks_settings_not_comments(ws: Workspace) -> None:
    original = load(ws).config_hash
    assert original.startswith("sha256:")
    assert load(ws, "# comment\n" + PLAN).config_hash == original
    assert load(ws, PLAN.replace("epochs: 2", "epochs: 3")).config_hash != original
    assert load(ws, PLAN.replace("model: m-1", "model: m-2")).config_hash != original


def test_a_suite_listed_twice_is_loaded_once(ws: Workspace) -> None:
    plan = load(ws, PLAN.replace("  - suites/*.yaml", "  - suites/a.yaml\n  - suites/*.yaml"))
    assert [s.name for s in plan.suites] == ["a", "b"]


def test_glob_that_matches_nothing_points_at_its_line(ws: Workspace) -> None:
    found = problems(ws, PLAN.replace("suites/*.yaml", "suites/x*.yaml"))
    assert found == [
        f"evals/nightly.yaml:3:5 suites[0]: 'suites/x*.yaml' matches no .yaml or .yml file "
        f"(globs are relative to {ws.root})"
    ]


def test_missing_suite_file(ws: Workspace) -> None:
    found = problems(ws, PLAN.replace("suites/*.yaml", "suites/c.yaml"))
    assert found == [
        f"evals/nightly.yaml:3:5 suites[0]: suite file 'suites/c.yaml' not found "
        f"(paths are relative to {ws.root})"
    ]


@pytest.mark.parametrize("entry", ["../outside.yaml", "../*.yaml"])
def test_suites_outside_the_workspace_are_refused(ws: Workspace, entry: str) -> None:
    (ws.root.parent / "outside.yaml").write_text(SUITE_A)
    found = problems(ws, PLAN.replace("suites/*.yaml", entry))
    assert len(found) == 1
    assert found[0].startswith("evals/nightly.yaml:3:5 suites[0]: suite path ")
    assert "leads outside the workspace" in found[0]


def test_absolute_suite_path_is_refused(ws: Workspace) -> None:
    found = problems(ws, PLAN.replace("suites/*.yaml", str(ws.root / "suites/a.yaml")))
    assert found[0].startswith("evals/nightly.yaml:3:5 suites[0]: suite path ")
    assert "is absolute" in found[0]


def test_duplicate_suite_names_across_files(ws: Workspace) -> None:
    ws.write("suites/c.yaml", SUITE_A.replace("one", "three"))
    found = problems(ws, PLAN)
    assert found == [
        "evals/nightly.yaml:3:5 suites[0]: suite name 'a' is used by both suites/a.yaml and "
        "suites/c.yaml; names must be unique in a plan"
    ]


def test_suite_problems_are_reported_with_the_plan(ws: Workspace) -> None:
    ws.write("suites/b.yaml", "name: b\ncases:\n  - graders: [{type: nope}]\n")
    found = problems(ws, PLAN.replace("model: m-1", "model: m-1\n    temprature: 0"))
    assert [line.split(" ")[0] for line in found] == [
        "evals/nightly.yaml:8:5",
        "suites/b.yaml:3:15",
    ]


def test_settings_out_of_range_point_at_their_lines(ws: Workspace) -> None:
    text = PLAN.replace("epochs: 2", "epochs: 0\nconcurrency: 0\ntimeout: 0\nretries: -1")
    text = text.replace("    model: m-1", "    model: m-1\n    timeout: -5\n    concurrency: 0")
    assert problems(ws, text) == [
        "evals/nightly.yaml:8:5 targets[0].timeout: timeout must be more than 0 seconds, got -5",
        "evals/nightly.yaml:9:5 targets[0].concurrency: concurrency must be at least 1, got 0",
        "evals/nightly.yaml:13:1 epochs: epochs must be at least 1, got 0",
        "evals/nightly.yaml:14:1 concurrency: concurrency must be at least 1, got 0",
        "evals/nightly.yaml:15:1 timeout: timeout must be more than 0 seconds, got 0",
        "evals/nightly.yaml:16:1 retries: retries must be 0 or more, got -1",
    ]


def test_a_boolean_timeout_is_not_a_number(ws: Workspace) -> None:
    found = problems(ws, PLAN + "timeout: true\n")
    assert found == ["evals/nightly.yaml:12:1 timeout: expected a number, got true"]


def test_duplicate_target_and_prompt_ids(ws: Workspace) -> None:
    text = PLAN.replace(
        '        template: "{{ q }}"',
        '        template: "{{ q }}"\n      - id: plain\n        file: prompts/p.j2',
    )
    text += "  - id: main\n    provider: fake\n    model: m\n"
    ws.write("evals/prompts/p.j2", "{{ q }}")
    found = problems(ws, text.replace("epochs: 2\n", "") + "epochs: 2\n")
    assert found == [
        "evals/nightly.yaml:11:9 targets[0].prompts[1].id: duplicate prompt id 'plain' "
        "in this target",
        "evals/nightly.yaml:13:5 targets[1].id: duplicate target id 'main' "
        "(first at evals/nightly.yaml:5:5)",
    ]


def test_prompt_needs_exactly_one_source_and_a_file_that_exists(ws: Workspace) -> None:
    text = PLAN.replace('        template: "{{ q }}"', "        file: ../../x.j2")
    text = text.replace("      - id: plain", "      - id: plain\n        messages: []")
    found = problems(ws, text)
    assert found[0] == (
        "evals/nightly.yaml:9:9 targets[0].prompts[0]: give exactly one of template, file or "
        "messages (got file, messages)"
    )
    assert found[1].startswith(
        "evals/nightly.yaml:11:15 targets[0].prompts[0].file: prompt file '../../x.j2' leads "
        "outside the workspace"
    )


def test_unknown_provider_suggests_a_registered_one(ws: Workspace) -> None:
    found = problems(ws, PLAN.replace("provider: fake", "provider: fakr"))
    assert len(found) == 1
    assert found[0].startswith(
        "evals/nightly.yaml:6:15 targets[0].provider: unknown provider 'fakr' "
        "(did you mean 'fake'?) (known providers: "
    )


def test_misspelt_builtin_provider(ws: Workspace) -> None:
    # The built-in providers register when evalkit.targets is imported.
    found = problems(ws, PLAN.replace("provider: fake", "provider: antropic"))
    assert "unknown provider 'antropic' (did you mean 'anthropic'?)" in found[0]


def test_provider_options_are_checked_at_their_keys(ws: Workspace) -> None:
    text = PLAN.replace("    model: m-1", "    max_tokns: 5\n    require_env: [X]")
    assert problems(ws, text) == [
        "evals/nightly.yaml:5:5 targets[0]: missing required key 'model'",
        "evals/nightly.yaml:7:5 targets[0]: unknown key 'max_tokns' (did you mean 'max_tokens'?)",
        "evals/nightly.yaml:8:5 targets[0]: unknown key 'require_env' "
        "(did you mean 'requires_env'?)",
    ]


def test_provider_option_of_the_wrong_type(ws: Workspace) -> None:
    found = problems(ws, PLAN.replace("    model: m-1", "    model: m-1\n    max_tokens: lots"))
    assert found == [
        "evals/nightly.yaml:8:5 targets[0].max_tokens: expected a whole number, got text 'lots'"
    ]


def test_unsafe_ids_in_a_plan(ws: Workspace) -> None:
    found = problems(
        ws, PLAN.replace("name: nightly", "name: my plan").replace("id: main", "id: a@b")
    )
    assert [line.split(": ", 1)[0] for line in found] == [
        "evals/nightly.yaml:1:1 name",
        "evals/nightly.yaml:5:5 targets[0].id",
    ]


def test_empty_suites_and_targets(ws: Workspace) -> None:
    assert problems(ws, "name: p\nsuites: []\ntargets: []\n") == [
        "evals/nightly.yaml:2:1 suites: a plan needs at least one suite",
        "evals/nightly.yaml:3:1 targets: a plan needs at least one target",
    ]


def test_plan_keys_get_did_you_mean(ws: Workspace) -> None:
    assert problems(ws, PLAN + "epoch: 3\n") == [
        "evals/nightly.yaml:12:1: unknown key 'epoch' (did you mean 'epochs'?)"
    ]
