"""What `evalkit run` does for CI after a plan ran: `--gate` (with the baseline
comparison) and the `--junit` / `--markdown` / `--json` reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text

from evalkit.analysis.compare import Comparison
from evalkit.analysis.gate import has_comparison_rules, is_configured
from evalkit.analysis.verdict import judge, resolve_base
from evalkit.cli.console import console
from evalkit.engine.session import RunOutcome
from evalkit.errors import UsageError
from evalkit.reports import ci
from evalkit.reports.data import load as load_report
from evalkit.store.db import Store
from evalkit.workspace.loaded import LoadedPlan


@dataclass(frozen=True, slots=True)
class CiOptions:
    """`evalkit run`'s CI flags."""

    gate: bool = False
    baseline: str | None = None
    junit: Path | None = None
    markdown: Path | None = None
    json: Path | None = None

    @property
    def wanted(self) -> bool:
        """Whether any CI work was asked for."""
        return self.gate or any(p is not None for p in (self.junit, self.markdown, self.json))


def check_gates(plans: list[LoadedPlan], options: CiOptions) -> None:
    """Before running: `--gate` on a plan without gate rules is a usage error."""
    if not options.gate:
        return
    bare = [p.name for p in plans if not is_configured(p.spec.gate)]
    if bare:
        raise UsageError(
            f"--gate was given but plan {', '.join(repr(n) for n in bare)} has no `gate:` rules",
            hint="add e.g. `gate: {min_pass_rate: 0.8, max_drop: 0.02}` "
            "to the plan, or drop --gate",
        )


def after_run(
    store: Store, plan: LoadedPlan, outcome: RunOutcome, options: CiOptions, several: bool
) -> int | None:
    """Apply `--gate` and write the reports; the exit code when `--gate` decides it."""
    if not options.wanted or not outcome.recorded or outcome.totals.finished == 0:
        return None
    con = store.con
    comparison = gate = None
    notes: list[str] = []
    if options.gate:
        base, notes = resolve_base(con, outcome.run_id, options.baseline)
        comparison, gate = judge(con, outcome.run_id, base, plan.spec.gate)
        for note in notes:
            console.print(Text(note, style="dim"))
        if comparison is not None:
            console.print(
                f"compared with {comparison.base_run}: {len(comparison.regressions)} regressed, "
                f"{len(comparison.fixes)} fixed, of {len(comparison.cases)} paired cases "
                "(`evalkit compare` shows the statistics)"
            )
        assert gate is not None
        for note in gate.notes:
            console.print(Text("gate note: ", style="yellow") + Text(note))
        # an unmeasured run, or a comparison that paired nothing, passes no gate
        if gate.passed and outcome.exit_code in (0, 1) and _paired(comparison):
            console.print(Text("gate (--gate) passed", style="green"))
        shown = set(outcome.gate.reasons)  # the pass-rate reasons are printed already
        for reason in gate.reasons:
            if reason not in shown:
                console.print(Text("gate failed: ", style="red") + Text(reason))
    data = load_report(con, outcome.run_id, comparison=comparison, gate=gate, notes=notes)
    paths = ci.write(
        data,
        junit_path=_per_plan(options.junit, plan.name, several),
        markdown_path=_per_plan(options.markdown, plan.name, several),
        json_path=_per_plan(options.json, plan.name, several),
    )
    for path in paths:
        console.print(Text(f"wrote {path}", style="dim"))
    if gate is None or outcome.exit_code in (2, 3, 5):
        return None  # interrupted, unmeasured or empty: no gate can pass it
    if not _paired(comparison) and gate.passed and has_comparison_rules(plan.spec.gate):
        assert comparison is not None
        console.print(Text(f"nothing to compare: no case of {comparison.base_run} ran again here"))
        return 5
    return 0 if gate.passed else 1


def _paired(comparison: Comparison | None) -> bool:
    """Whether a comparison (if any) paired at least one case."""
    return comparison is None or bool(comparison.groups)


def _per_plan(path: Path | None, plan: str, several: bool) -> Path | None:
    # several plans in one command: one file each, named after the plan
    if path is None or not several:
        return path
    return path.with_name(f"{path.stem}-{plan}{path.suffix}")
