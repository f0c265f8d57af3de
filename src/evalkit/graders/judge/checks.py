"""What `evalkit validate` checks of model judges, so a broken judge is found before a
run spends money: every workspace judge template, and every plan's `judge:`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.graders.judge.setup import plan_judge
from evalkit.graders.judge.templates import TEMPLATE_DIR, load_template
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.root import GRADER_DIR


def judge_problems(root: Path, plans: Iterable[LoadedPlan]) -> list[str]:
    """Every problem with the workspace's judge templates and the plans' judges."""
    problems: list[str] = []
    folder = root / GRADER_DIR / TEMPLATE_DIR
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            load_template(path.stem)
        except EvalkitError as exc:
            problems.append(str(exc))
    for plan in plans:
        if plan.spec.judge is None:
            continue  # $EVALKIT_JUDGE or the default: chosen where the run happens
        try:
            # an unavailable judge (no API key here) is not a problem: it is skipped
            plan_judge(plan, notify=lambda _message: None)
        except EvalkitError as exc:
            problems.append(str(exc))
    return problems
