"""`{{ canary }}`: a template variable that differs per trial and repeats for the same one."""

from __future__ import annotations

from pathlib import Path

from evalkit.records import Case
from evalkit.targets.base import TargetContext
from evalkit.targets.canary import canary_for
from evalkit.targets.prompt import PromptRenderer
from evalkit.workspace.models import PromptSpec


def test_canary_differs_by_target_and_epoch_and_a_case_var_wins(tmp_path: Path) -> None:
    ctx = TargetContext(root=tmp_path, plan_dir=tmp_path)
    spec = PromptSpec(id="p", template="{{ question }} ({{ canary }})", system="code {{ canary }}")
    a, b = PromptRenderer("a", spec, ctx), PromptRenderer("b", spec, ctx)
    case = Case(suite="s", id="c", vars={"question": "hi"})
    request = a.render(case, 0)
    assert request.system == f"code {canary_for('s', 'c', 'a', 0)}"
    assert request.messages is not None and request.messages[0].content.endswith(
        f"({canary_for('s', 'c', 'a', 0)})"
    )
    assert request.system == a.render(case, 0).system
    assert len({request.system, a.render(case, 1).system, b.render(case, 0).system}) == 3
    mine = Case(suite="s", id="c", vars={"question": "hi", "canary": "MINE"})
    assert a.render(mine, 0).system == "code MINE"
