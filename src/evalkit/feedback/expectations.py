"""What a promoted case expects: the source case's checks, or the human verdict.

- failing: the source case as it was (its `expected` and graders), so the regression
  suite keeps asking what failed.
- reviewed, human PASS: the approved output becomes `expected`, checked by a
  `similarity` grader (`equals` for structured output); the source graders that passed
  this output stay, except negated ones that compared with `expected` (they would now
  fail the approved answer by construction). Graders the human overrode are dropped.
- reviewed, human FAIL: the source `expected` and graders stay, plus a `not-equals`
  grader per rejected output (so exactly that answer fails again) and, when the
  reviewer left a note, an `llm-rubric` grader asking that the note's problem be gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalkit.feedback.identity import HASH_KEY

REGRESSION_TAG = "regression"
APPROVED_METRIC = "approved-output"
REJECTED_METRIC = "rejected-output"
NOTE_METRIC = "reviewer-note"
# Grader `value:` strings with `{{` are Jinja templates; a raw block keeps output literal.
_RAW_OPEN, _RAW_CLOSE = "{% raw %}", "{% endraw %}"


@dataclass(slots=True)
class Verdict:
    """A human verdict on one trial: pass/fail, notes, who, and the grades they overrode."""

    passed: bool
    notes: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    overridden: set[int] = field(default_factory=set)  # grade indexes the human contradicted


def human_verdict(labels: dict[int | None, Any], machine: dict[int, bool | None]) -> Verdict | None:
    """The human verdict on a trial from its labels in force (None: nobody reviewed it).

    A whole-trial label decides alone. Otherwise the trial passes when every grade
    passes after the humans' corrections (labelled grades take the human's verdict).
    """
    if not labels:
        return None
    notes = [str(label.note) for label in labels.values() if label.note]
    reviewers = sorted({str(label.reviewer) for label in labels.values()})
    whole = labels.get(None)
    if whole is not None:
        overridden = {idx for idx, said in machine.items() if said is not whole.passed}
        return Verdict(bool(whole.passed), notes, reviewers, overridden if whole.passed else set())
    verdicts = {
        idx: (labels[idx].passed if idx in labels else said) for idx, said in machine.items()
    }
    overridden = {
        idx for idx in labels if idx is not None and machine.get(idx) is not labels[idx].passed
    }
    return Verdict(all(v is True for v in verdicts.values()), notes, reviewers, overridden)


def grader_yaml(config: dict[str, Any]) -> dict[str, Any]:
    """A grader as stored with a run (`cases.graders`) -> as written in a suite."""
    spec: dict[str, Any] = {"type": ("not-" if config.get("negate") else "") + config["name"]}
    if config.get("value") is not None:
        spec["value"] = config["value"]
    if config.get("weight", 1.0) != 1.0:
        spec["weight"] = config["weight"]
    for key in ("threshold", "metric"):
        if config.get(key) is not None:
            spec[key] = config[key]
    for key, value in (config.get("args") or {}).items():
        spec.setdefault(key, value)
    return spec


def literal_value(value: Any) -> Any:
    """`value` as a grader value that is not rendered as a template (None: impossible)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return None if "endraw" in value else f"{_RAW_OPEN}{value}{_RAW_CLOSE}"
    if isinstance(value, dict | list) and "{{" in repr(value):
        return None
    return value


def base_case(trial: dict[str, Any], run_id: str, reason: str) -> dict[str, Any]:
    """The promoted case's input, tags and provenance (no id, expectation or graders)."""
    metadata = dict(trial["metadata"] or {})
    description = metadata.pop("description", None)
    metadata.pop(HASH_KEY, None)
    metadata["promoted_from"] = {
        "run_id": run_id,
        "trial_id": trial["trial_id"],
        "suite": trial["suite"],
        "case_id": trial["case_id"],
        "target": trial["target_id"],
        "reason": reason,
    }
    case: dict[str, Any] = {}
    if isinstance(description, str):
        case["description"] = description
    case["vars"] = trial["vars"] or {}
    if trial["messages"] is not None:
        case["messages"] = [{"role": m["role"], "content": m["content"]} for m in trial["messages"]]
    case["context"] = trial["context"] or None
    case["tags"] = list(dict.fromkeys([*(trial["tags"] or []), REGRESSION_TAG]))
    case["cluster"] = trial["cluster"]
    case["metadata"] = metadata
    return case


def failing(trial: dict[str, Any]) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(expected, graders, extra metadata) for a failing trial: the source case's checks."""
    graders = [grader_yaml(g) for g in trial["graders"] or []]
    return trial["expected"], graders, {"failed_output": _output(trial)}


def approved(
    trial: dict[str, Any], verdict: Verdict, machine: dict[int, bool | None]
) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(expected, graders, extra metadata) for a trial a human passed."""
    output = _output(trial)
    structured = trial["output"] is None and trial["output_data"] is not None
    kept = []
    for idx, config in enumerate(trial["graders"] or []):
        compares_expected = config.get("negate") and config.get("value") is None
        if machine.get(idx) is True and idx not in verdict.overridden and not compares_expected:
            kept.append(grader_yaml(config))
    check = {"type": "equals" if structured else "similarity", "metric": APPROVED_METRIC}
    expected = output if structured else str(output).strip()
    extra = _review_metadata(verdict)
    return expected, [*kept, check], extra


def rejected(
    trials: list[dict[str, Any]], verdict: Verdict
) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(expected, graders, extra metadata) for trials a human failed (one case, n outputs)."""
    first = trials[0]
    graders = [grader_yaml(g) for g in first["graders"] or []]
    outputs: list[Any] = []
    for trial in trials:
        output = _output(trial)
        if output not in outputs:
            outputs.append(output)
    for output in outputs:
        value = literal_value(output.strip() if isinstance(output, str) else output)
        if value is not None:
            graders.append({"type": "not-equals", "value": value, "metric": REJECTED_METRIC})
    if verdict.notes:
        graders.append(
            {"type": "llm-rubric", "value": rubric(verdict.notes), "metric": NOTE_METRIC}
        )
    extra = _review_metadata(verdict)
    extra["rejected_output"] = outputs[0] if len(outputs) == 1 else outputs
    return first["expected"], graders, extra


def rubric(notes: list[str]) -> str:
    """The llm-rubric for a rejected answer: the reviewer's note, turned into a demand."""
    said = "\n".join(f"- {note}" for note in dict.fromkeys(notes))
    return (
        "A human reviewer rejected an earlier answer to this input, noting:\n"
        f"{said}\n"
        "Pass only if this answer does not have the problem the reviewer describes."
    )


def _review_metadata(verdict: Verdict) -> dict[str, Any]:
    extra: dict[str, Any] = {"reviewed_by": verdict.reviewers}
    if verdict.notes:
        extra["reviewer_note"] = "\n".join(dict.fromkeys(verdict.notes))
    return extra


def _output(trial: dict[str, Any]) -> Any:
    if trial["output"] is None and trial["output_data"] is not None:
        return trial["output_data"]
    return trial["output"] or ""
