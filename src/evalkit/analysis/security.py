"""Attack success rates: per category, strategy and channel, with intervals, worst first.

An attack *succeeds* on a trial when the trial fails (a detector saw the leak, the
obeyed injection, the unsafe output); a benign control that fails is a *false alarm*.
Errored trials are neither: the system never answered, so they are counted apart.
Every rate carries the 95% interval every pass rate uses (`stats.case_rate_interval`):
over cases, not trials, because epochs of one attack are not independent attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evalkit.analysis.gate import GateResult, has_security_rules
from evalkit.analysis.stats import CaseInterval, case_rate_interval

if TYPE_CHECKING:  # the workspace's pydantic models load only where a gate is read
    from evalkit.workspace.models import GateSpec

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
OWASP_2025 = {
    "LLM01": "Prompt Injection",
    "LLM02": "Sensitive Information Disclosure",
    "LLM03": "Supply Chain",
    "LLM04": "Data and Model Poisoning",
    "LLM05": "Improper Output Handling",
    "LLM06": "Excessive Agency",
    "LLM07": "System Prompt Leakage",
    "LLM08": "Vector and Embedding Weaknesses",
    "LLM09": "Misinformation",
    "LLM10": "Unbounded Consumption",
}
WORST_SHOWN = 10


@dataclass(slots=True)
class Rate:
    """Successes among graded attempts of one group, with a 95% interval over its cases."""

    key: str
    attempts: int = 0
    successes: int = 0
    errors: int = 0
    # case -> [successes, attempts]: the interval's unit is the case
    per_case: dict[str, list[int]] = field(default_factory=dict)

    def record(self, case: str, status: str) -> None:
        """Count one trial of `case`: a failing trial is a success of the attack."""
        if status == "error":
            self.errors += 1
        elif status in ("pass", "fail"):
            self.add(case, int(status == "fail"), 1)

    def add(self, case: str, successes: int, attempts: int) -> None:
        """Count `attempts` graded trials of `case`, `successes` of them successful."""
        self.attempts += attempts
        self.successes += successes
        counts = self.per_case.setdefault(case, [0, 0])
        counts[0] += successes
        counts[1] += attempts

    @property
    def rate(self) -> float:
        """Mean over cases of each case's success share (with equal epochs, simply the
        share of graded attempts that succeeded); 0 when none were graded."""
        return self.case_interval.mean if self.attempts else 0.0

    @property
    def case_interval(self) -> CaseInterval:
        """The rate with its 95% interval over cases (epochs averaged within a case)."""
        counts = [c for c in self.per_case.values() if c[1]]
        return case_rate_interval(
            [hits / tries for hits, tries in counts],
            trials=self.attempts,
            epochs=max((tries for _, tries in counts), default=1),
        )

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% interval of `rate`, over cases."""
        found = self.case_interval
        return found.low, found.high

    @property
    def label(self) -> str:
        """`LLM01 Prompt Injection` for a category, the key itself otherwise."""
        name = OWASP_2025.get(self.key)
        return f"{self.key} {name}" if name else self.key

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the interval spelled out and what it is over."""
        found = self.case_interval
        return {
            "key": self.key,
            "label": self.label,
            "attempts": self.attempts,
            "successes": self.successes,
            "errors": self.errors,
            "rate": self.rate,
            "low": found.low,
            "high": found.high,
            "interval": found.label(),
        }


@dataclass(slots=True)
class TargetSecurity:
    """One target's (or prompt variant's) security picture in one run."""

    target: str  # `target` or `target[prompt]`
    overall: Rate
    by_category: list[Rate]
    by_strategy: list[Rate]
    by_channel: list[Rate]
    controls: Rate  # successes here are false alarms
    worst: list[dict[str, Any]] = field(default_factory=list)  # successful attacks


def _variant(row: dict[str, Any]) -> str:
    prompt = row.get("prompt_id")
    return f"{row['target_id']}[{prompt}]" if prompt else str(row["target_id"])


def case_key(row: dict[str, Any]) -> str:
    """The case a trial belongs to: the unit every security interval counts."""
    return f"{row['suite']}/{row['case_id']}"


def _count(rate: Rate, row: dict[str, Any]) -> None:
    rate.record(case_key(row), row["status"])


def _grouped(rows: Iterable[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> list[Rate]:
    """Rates by `key`, worst first (highest rate, then most successes, then name)."""
    groups: dict[str, Rate] = {}
    for row in rows:
        name = key(row)
        _count(groups.setdefault(name, Rate(name)), row)
    return sorted(groups.values(), key=lambda r: (-r.rate, -r.successes, r.key))


def summarize(trials: list[dict[str, Any]]) -> list[TargetSecurity]:
    """Per target variant: attack success by category / strategy / channel, false alarms,
    and the successful attacks, most severe first."""
    by_target: dict[str, list[dict[str, Any]]] = {}
    for row in trials:
        by_target.setdefault(_variant(row), []).append(row)
    found = []
    for target, rows in sorted(by_target.items()):
        attacks = [r for r in rows if not r["security"].get("control")]
        controls = [r for r in rows if r["security"].get("control")]
        overall, benign = Rate("all attacks"), Rate("controls")
        for row in attacks:
            _count(overall, row)
        for row in controls:
            _count(benign, row)
        worst = sorted(
            (r for r in attacks if r["status"] == "fail"),
            key=lambda r: (
                SEVERITY_RANK.get(str(r["security"].get("severity")), 9),
                str(r["security"].get("category")),
                r["case_id"],
            ),
        )
        found.append(
            TargetSecurity(
                target=target,
                overall=overall,
                by_category=_grouped(attacks, lambda r: str(r["security"].get("category"))),
                by_strategy=_grouped(attacks, lambda r: str(r["security"].get("strategy"))),
                by_channel=_grouped(attacks, lambda r: str(r["security"].get("channel"))),
                controls=benign,
                worst=worst,
            )
        )
    return found


def gate_reasons(spec: GateSpec, summaries: list[TargetSecurity]) -> list[str]:
    """Why the security gate fails (empty: it passes or is not configured)."""
    reasons: list[str] = []
    if spec.max_attack_success is not None:
        wanted = set(spec.categories)
        for target in summaries:
            for rate in target.by_category:
                if wanted and rate.key not in wanted:
                    continue
                if rate.attempts and rate.rate > spec.max_attack_success:
                    reasons.append(
                        f"{target.target}: {rate.label}: attack success {rate.rate:.1%} "
                        f"({rate.successes}/{rate.attempts}) > max_attack_success "
                        f"{spec.max_attack_success:.1%}"
                    )
    if spec.max_false_alarms is not None:
        for target in summaries:
            alarms = target.controls
            if alarms.attempts and alarms.rate > spec.max_false_alarms:
                reasons.append(
                    f"{target.target}: false alarms on benign controls {alarms.rate:.1%} "
                    f"({alarms.successes}/{alarms.attempts}) > max_false_alarms "
                    f"{spec.max_false_alarms:.1%}"
                )
    return reasons


def new_holes(base: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attacks that succeed in `candidate` but were held in `base` (same case, same target):
    a new hole is a regression whatever the rates say."""
    held = {(_variant(r), r["suite"], r["case_id"]) for r in base if r["status"] == "pass"}
    return [
        r
        for r in candidate
        if r["status"] == "fail"
        and not r["security"].get("control")
        and (_variant(r), r["suite"], r["case_id"]) in held
    ]


def trend(history: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Attack success over runs, per `target category` series (controls included), from
    per-case counts (`security_rows.security_history`) so each point's interval is over
    cases like every other."""
    points: dict[tuple[str, str], tuple[dict[str, Any], Rate]] = {}
    for row in history:
        rate = points.setdefault(
            (str(row["run_id"]), f"{_variant(row)} {row['category']}"),
            (row, Rate(str(row["category"]))),
        )[1]
        rate.add(case_key(row), int(row["successes"]), int(row["attempts"]))
    series: dict[str, list[dict[str, Any]]] = {}
    for (_, name), (row, rate) in points.items():
        low, high = rate.interval
        series.setdefault(name, []).append(
            {
                "run_id": row["run_id"],
                "started_at": row["started_at"],
                "rate": rate.rate,
                "low": low,
                "high": high,
                "attempts": rate.attempts,
            }
        )
    return series


def with_security(
    gate: GateResult,
    spec: GateSpec,
    trials: list[dict[str, Any]],
    base_trials: list[dict[str, Any]] | None = None,
) -> GateResult:
    """`gate` with the security rules applied to a run's security trials; with the base
    run's trials too, every new hole in a gated category is a reason of its own."""
    if not has_security_rules(spec):
        return gate
    reasons = gate_reasons(spec, summarize(trials))
    if base_trials is not None and spec.max_attack_success is not None:
        wanted = set(spec.categories)
        for row in new_holes(base_trials, trials):
            if not wanted or row["security"].get("category") in wanted:
                reasons.append(
                    f"new hole: {row['suite']}/{row['case_id']} on {_variant(row)} held in the "
                    "base run and succeeds now"
                )
    return GateResult(
        configured=True,
        passed=gate.passed and not reasons,
        reasons=[*gate.reasons, *reasons],
        notes=gate.notes,
    )
