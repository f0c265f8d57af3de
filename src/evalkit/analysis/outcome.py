"""A run's outcome in one place: which exit code it earns, and the one-line reason.

The rule, in the order it is checked (DESIGN convention 2):

- 2 interrupted (Ctrl-C, SIGTERM): finished trials are saved; `evalkit resume` goes on.
- 5 nothing ran: the selection matched no case, or every target was skipped.
- 3 infrastructure: a target stopped after its key was rejected, the cost cap was
  reached, every trial failed to reach its target (auth or connection errors), or a
  grade was skipped (no judge key) and skipped grades were not allowed: a run that
  could not measure must never read as a measurement.
- 1 a failing trial, an errored trial or a failed gate (with a gate, the gate decides).
- 0 everything counted passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalkit.store.outcome_rows import OutcomeCounts

PASSED, FAILED, INTERRUPTED, INFRASTRUCTURE, NOTHING_RAN = 0, 1, 2, 3, 5


@dataclass(frozen=True, slots=True)
class RunVerdict:
    """An exit code and why: `reasons` explains any code other than 0 and 1."""

    exit_code: int
    reasons: list[str] = field(default_factory=list)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 error`, `2 errors`: the count with its noun in the right number."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def run_verdict(
    *,
    interrupted: bool,
    planned: int,
    counts: OutcomeCounts,
    gate_configured: bool,
    gate_passed: bool,
    allow_skipped: bool = False,
    stopped: dict[str, str] | None = None,
    cost_stop: str | None = None,
) -> RunVerdict:
    """The exit code of a finished or interrupted run (see the module doc)."""
    if cost_stop:  # stopped by the cost cap: an infrastructure stop, resumable
        return RunVerdict(INFRASTRUCTURE, [f"{cost_stop}; resume with `evalkit resume`"])
    if interrupted:
        return RunVerdict(INTERRUPTED, ["interrupted: resume with `evalkit resume`"])
    if planned == 0:
        return RunVerdict(NOTHING_RAN, ["nothing ran: no case x target was selected"])
    reasons = [f"target '{t}' stopped: {why}" for t, why in (stopped or {}).items()]
    if counts.trials and counts.infra_errors == counts.trials:
        errors = plural(counts.infra_errors, "auth or connection error")
        reasons.append(
            f"every trial failed to reach its target ({errors}): check the keys and base URLs"
        )
    if counts.skipped_grades and not allow_skipped:
        reasons.append(
            f"{plural(counts.skipped_grades, 'grade')} skipped in "
            f"{plural(counts.trials_with_skipped_grades, 'trial')} (no judge could run): a run "
            "with ungraded trials cannot pass; set the key, or count them out with "
            "--allow-skipped (plan: `allow_skipped: true`)"
        )
    if reasons:
        return RunVerdict(INFRASTRUCTURE, reasons)
    counted = counts.passed + counts.failed + counts.errors
    if counted == 0:
        return RunVerdict(NOTHING_RAN, ["nothing was graded: every trial was skipped"])
    if gate_configured:
        return RunVerdict(PASSED if gate_passed else FAILED)
    return RunVerdict(FAILED if counts.failed or counts.errors else PASSED)
