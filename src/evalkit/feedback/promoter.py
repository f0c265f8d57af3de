"""A run's failing or human-reviewed trials -> cases of a regression suite.

Trials of the same source case (several targets, prompts or epochs) become one case:
for --failing, one per source case; for --reviewed, one per source case and verdict
(a human pass and a human fail of the same question are two different expectations).
A case whose content hash is already in the suite is skipped, so promoting again is
harmless. `plan_promotion` writes nothing; the CLI writes the suite and the rows.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.feedback import expectations
from evalkit.feedback.identity import HASH_KEY, content_hash
from evalkit.feedback.suite_writer import SuiteFile, new_id
from evalkit.records import Case
from evalkit.workspace.suite import load_suite

ID_PREFIX = "reg"
_LOCATION = re.compile(r"^(.+\.ya?ml):\d+(?::\d+)?$")  # where a YAML case was written
REASONS = ("failing", "reviewed")
# The order a person reads a case in.
_ORDER = ("id", "description", "vars", "messages", "expected", "context", "tags", "cluster")


@dataclass(frozen=True, slots=True)
class Selection:
    """Which trials of the run to promote."""

    reason: str  # failing | reviewed
    suites: tuple[str, ...] = ()  # globs over source suite names
    targets: tuple[str, ...] = ()  # globs over target ids

    def wants(self, trial: dict[str, Any]) -> bool:
        """Whether the trial's suite and target pass the filters."""
        return _matches(trial["suite"], self.suites) and _matches(trial["target_id"], self.targets)


@dataclass(slots=True)
class Promoted:
    """One new case and the trials it stands for."""

    case: dict[str, Any]
    kind: str  # failing | human-pass | human-fail
    trials: list[dict[str, Any]]

    @property
    def expectation(self) -> dict[str, Any]:
        """What the case expects, as the `promotions` table records it."""
        return {
            "kind": self.kind,
            "expected": self.case.get("expected"),
            "graders": self.case.get("graders", []),
        }


@dataclass(slots=True)
class PromotionPlan:
    """What a promotion adds and skips; nothing is written yet."""

    promoted: list[Promoted] = field(default_factory=list)
    selected: int = 0  # trials that matched
    duplicates: int = 0  # cases already in the suite
    errors: int = 0  # trials that errored (never promoted: infrastructure, not behaviour)


def plan_promotion(
    run_id: str,
    trials: list[dict[str, Any]],
    selection: Selection,
    suite: SuiteFile,
    labels: dict[tuple[str, int | None], Any],
    grades: dict[str, dict[int, bool | None]],
) -> PromotionPlan:
    """Decide the cases to add to `suite` from `trials` of `run_id`."""
    plan = PromotionPlan()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    verdicts: dict[str, expectations.Verdict] = {}
    for trial in trials:
        if not selection.wants(trial):
            continue
        if trial["status"] == "error":
            plan.errors += 1
            continue
        if selection.reason == "failing":
            if trial["status"] != "fail":
                continue
            kind = "failing"
        else:
            mine = {idx: lab for (tid, idx), lab in labels.items() if tid == trial["trial_id"]}
            verdict = expectations.human_verdict(mine, grades.get(trial["trial_id"], {}))
            if verdict is None:
                continue
            verdicts[trial["trial_id"]] = verdict
            kind = "human-pass" if verdict.passed else "human-fail"
        plan.selected += 1
        groups.setdefault((trial["case_hash"], kind), []).append(trial)
    known = _known(suite.cases)
    taken = suite.ids()
    thresholds = _Thresholds(suite.root)
    for (_, kind), members in groups.items():
        case = _case(run_id, kind, members, verdicts, grades)
        if kind != "human-pass":  # the source graders are kept, so is how they combine
            case["threshold"] = thresholds.of(members[0])
        checks = [case["graders"], case.get("threshold")]
        digest = content_hash(case["vars"], case.get("messages"), case.get("expected"), checks)
        if digest in known:
            plan.duplicates += 1
            continue
        known.add(digest)
        case["id"] = new_id(ID_PREFIX, digest, taken)
        taken.add(case["id"])
        case["metadata"][HASH_KEY] = digest
        plan.promoted.append(Promoted(_ordered(case), kind, members))
    return plan


def _case(
    run_id: str,
    kind: str,
    members: list[dict[str, Any]],
    verdicts: dict[str, expectations.Verdict],
    grades: dict[str, dict[int, bool | None]],
) -> dict[str, Any]:
    first = members[0]
    reason = "failing" if kind == "failing" else "reviewed"
    case = expectations.base_case(first, run_id, reason)
    if kind == "failing":
        expected, graders, extra = expectations.failing(first)
        targets = sorted({m["target_id"] for m in members})
        case["metadata"]["promoted_from"]["failed_on"] = targets
    elif kind == "human-pass":
        verdict = verdicts[first["trial_id"]]
        expected, graders, extra = expectations.approved(
            first, verdict, grades.get(first["trial_id"], {})
        )
    else:
        verdict = _merged([verdicts[m["trial_id"]] for m in members])
        expected, graders, extra = expectations.rejected(members, verdict)
    case["expected"] = expected
    case["graders"] = graders
    case["metadata"].update(extra)
    return {key: value for key, value in case.items() if value is not None}


def _merged(verdicts: list[expectations.Verdict]) -> expectations.Verdict:
    notes = list(dict.fromkeys(n for v in verdicts for n in v.notes))
    reviewers = sorted({r for v in verdicts for r in v.reviewers})
    return expectations.Verdict(False, notes, reviewers)


class _Thresholds:
    """A source case's `threshold`, which the store does not keep, read from its suite.

    Only when the case there is still the one that ran (same content hash); otherwise
    the promoted case has none and passes only when every grader passes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loaded: dict[str, dict[str, Case]] = {}

    def of(self, trial: dict[str, Any]) -> float | None:
        """The threshold of the trial's source case, when its suite still has that case."""
        found = _LOCATION.match(str(trial.get("location") or ""))
        if found is None:
            return None
        cases = self.cases(found[1])
        case = cases.get(trial["case_id"])
        if case is None or case.content_hash != trial["case_hash"]:
            return None
        return case.threshold

    def cases(self, relative: str) -> dict[str, Case]:
        """The cases of one suite file by id ({} when it is gone or does not load)."""
        if relative not in self.loaded:
            path = self.root / relative
            try:
                cases = load_suite(path, self.root).cases if path.is_file() else []
            except EvalkitError:
                cases = []
            self.loaded[relative] = {case.id: case for case in cases}
        return self.loaded[relative]


def _known(cases: list[Case]) -> set[str]:
    """Hashes of the suite's cases, computed as for a promoted case, and recorded ones."""
    found: set[str] = set()
    for case in cases:
        graders = [
            expectations.grader_yaml(
                {
                    "name": g.name,
                    "args": g.args,
                    "value": g.value,
                    "negate": g.negate,
                    "weight": g.weight,
                    "threshold": g.threshold,
                    "metric": g.metric,
                }
            )
            for g in case.graders
        ]
        checks = [graders, case.threshold]
        found.add(content_hash(case.vars, case.messages, case.expected, checks))
        recorded = case.metadata.get(HASH_KEY)
        if isinstance(recorded, str):
            found.add(recorded)
    return found


def _ordered(case: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: case[key] for key in _ORDER if key in case}
    if case.get("threshold") is not None:
        ordered["threshold"] = case["threshold"]
    ordered["graders"] = case["graders"]
    ordered["metadata"] = case["metadata"]
    return ordered


def _matches(value: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(value, glob) for glob in globs)
