"""`evalkit compare [BASE] [CANDIDATE]`: did the candidate get worse, or is it noise?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import duckdb
import typer
from rich.table import Table
from rich.text import Text

from evalkit.analysis.compare import FLAKY_EPOCHS, Comparison, GroupComparison
from evalkit.analysis.gate import GateResult
from evalkit.analysis.verdict import judge, resolve_base, with_human
from evalkit.cli.console import console, db_path
from evalkit.cli.limits import MAX_COUNT
from evalkit.store import ci_rows
from evalkit.store.baselines import run_plan
from evalkit.store.db import Store
from evalkit.store.queries import resolve_run

if TYPE_CHECKING:  # the workspace's pydantic models load only where a gate is read
    from evalkit.workspace.models import GateSpec

VERDICT_STYLE = {"significant regression": "red", "significant improvement": "green"}


def command(
    base: Annotated[
        str | None,
        typer.Argument(
            help="Baseline name, key=value label, run id, prefix or latest~N "
            "(default: the plan's baseline, else its previous run)."
        ),
    ] = None,
    candidate: Annotated[
        str, typer.Argument(help="The run to judge: id, prefix, `latest` or `latest~N`.")
    ] = "latest",
    gate: Annotated[
        bool, typer.Option("--gate", help="Apply the plan's gate: exit 1 when it fails.")
    ] = False,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Confidence of the intervals.")
    ] = 0.95,
    cases: Annotated[
        int, typer.Option(min=0, max=MAX_COUNT, help="Cases listed per section.")
    ] = 20,
    metric: Annotated[
        list[str] | None,
        typer.Option(help="Only these metrics in the table (e.g. pass, score); reports keep all."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Print the full metric table and every case list too."),
    ] = False,
) -> int:
    """Compare two runs case by case, with paired statistics and a verdict per suite x target."""
    database = db_path(db)
    with Store.open(database, read_only=True) as store:
        con = store.con
        cand = resolve_run(con, candidate)
        base_run, notes = resolve_base(con, cand, base)
        if base_run is None and not gate:
            for note in notes:
                console.print(Text(note, style="yellow"))
            return 5
        if base_run == cand:
            notes.append(f"the baseline is the candidate run itself ({cand}): nothing compared")
            base_run = None
        spec = _gate_spec(run_plan(con, cand)) if gate else None
        comparison, verdict = judge(con, cand, base_run, spec, confidence)
        if comparison is not None:  # reviewers' verdicts, shown beside the machine's
            comparison = with_human(con, comparison)
        for note in notes:
            console.print(Text(note, style="dim"))
        if comparison is not None and not comparison.groups:
            # Zero paired cases prove nothing: never "no change", never "gate passed".
            _print_comparison(comparison, cases, set(metric or ()), {}, full=True)
            console.print(
                Text(
                    f"nothing to compare: no case ran in both {comparison.base_run} and "
                    f"{comparison.candidate_run} with the same content",
                    style="yellow",
                )
            )
            return 5
        if comparison is not None:
            _print_comparison(
                comparison,
                cases,
                set(metric or ()),
                # why the listed regressions fail now: read for those cases alone
                failing_reasons(con, cand, [c.name for c in comparison.regressions[:cases]]),
                full=all_ or bool(metric),
            )
        if verdict is not None:
            _print_gate(verdict)
        if junit or markdown or json_out:
            from evalkit.reports import ci  # the CI reports' imports only when asked for
            from evalkit.reports.data import load as load_report

            data = load_report(con, cand, comparison=comparison, gate=verdict, notes=notes)
            for path in ci.write(
                data, junit_path=junit, markdown_path=markdown, json_path=json_out
            ):
                console.print(f"[dim]wrote {path}[/]")
    if verdict is not None and not verdict.passed:
        return 1
    return 0 if comparison is not None or verdict is not None else 5


def _gate_spec(plan: str) -> GateSpec:
    """The gate of the workspace's plan of this name, as it is written now."""
    # the workspace (and its graders) are loaded only for --gate: a plain compare of two
    # stored runs reads the database alone
    from evalkit.graders.discovery import load_all
    from evalkit.workspace import load_plans
    from evalkit.workspace.root import find_root

    root = find_root(None)
    load_all(root)
    return load_plans(root, plan)[0].spec.gate


def _print_comparison(
    c: Comparison, limit: int, only: set[str], reasons: dict[str, list[str]], *, full: bool
) -> None:
    console.print(f"[bold]{c.candidate_run}[/] (candidate) vs [bold]{c.base_run}[/] (base)")
    for group in c.groups:  # the answer first: one verdict line per suite x target
        console.print(verdict_line(group, c.confidence))
    _print_reasons(c, limit, reasons)
    if not full:
        fixed = len(c.fixes)
        others = [f"{fixed} fixed"] if fixed else []
        others += [
            f"{len(items)} {what}"
            for items, what in (
                (c.added, "added"),
                (c.removed, "removed"),
                (c.changed_content, "changed"),
                (c.flaky, "flaky"),
            )
            if items
        ]
        tail = f" ({', '.join(others)})" if others else ""
        console.print(Text(f"the metric table and case lists: --all{tail}", style="dim"))
        return
    table = Table(header_style="bold", title_justify="left")
    for name, justify in [
        ("suite x target", "left"),
        ("metric", "left"),
        ("base", "right"),
        ("candidate", "right"),
        (f"difference ({c.confidence:.0%} CI)", "right"),
        ("cases fell / rose", "right"),
        ("p (test)", "right"),
        ("verdict", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for group in c.groups:
        for m in group.metrics:
            if only and m.metric not in only:
                continue
            p = m.paired
            table.add_row(
                group.name,
                m.metric,
                _num(p.base_mean),
                _num(p.candidate_mean),
                f"{_signed(p.difference)} ({_signed(p.ci_low)} to {_signed(p.ci_high)})",
                f"{m.regressed} / {m.fixed}",
                f"{_num(m.p_value)} ({m.test})",
                Text(m.verdict, style=VERDICT_STYLE.get(m.verdict, "")),
            )
    console.print(table)
    for group in c.groups:
        labels = {m.label(c.confidence) for m in group.metrics if not only or m.metric in only}
        console.print(Text(f"{group.name}: {'; '.join(sorted(labels))}", style="dim"))
    for group in c.groups:
        if max(group.base_epochs, group.candidate_epochs) > 1:
            console.print(
                f"{group.name}: within-case score variance across epochs "
                f"{_num(group.base_within_variance)} (base, {group.base_epochs} epochs) -> "
                f"{_num(group.candidate_within_variance)} "
                f"(candidate, {group.candidate_epochs} epochs)"
            )
    _print_list(
        "fixed (fail -> pass)", [x.name + c.human_note(x.name) for x in c.fixes], limit, "green"
    )
    _print_list(
        f"flaky (epochs disagreed within a run, {FLAKY_EPOCHS}+ epochs)", c.flaky, limit, "yellow"
    )
    if c.flaky:
        console.print(Text(f"flaky: {c.flaky_note}", style="dim"))
    if c.unconfirmed_flaky:
        console.print(
            f"[dim]{c.unconfirmed_flaky} cases with 2 epochs disagreed: too few epochs to call "
            f"flaky (a case that passes half the time disagrees on 2 epochs half the time)[/]"
        )
    _print_list("added cases, not compared", c.added, limit, "dim")
    _print_list("removed cases, not compared", c.removed, limit, "dim")
    _print_list("changed content, not compared", c.changed_content, limit, "dim")
    _print_list("ran in one run only, not compared", c.unpaired_variants, limit, "dim")


def failing_reasons(
    con: duckdb.DuckDBPyConnection, run_id: str, names: list[str]
) -> dict[str, list[str]]:
    """suite/case@target[prompt] -> why its trials in `run_id` failed or errored, for the
    cases `names`."""
    found: dict[str, list[str]] = {}
    for trial_id, reasons, error, status in ci_rows.failing_trial_reasons(con, run_id, names):
        name = trial_id.rsplit("#", 1)[0]
        found.setdefault(name, []).extend(reasons or [error or status])
    return found


def verdict_line(group: GroupComparison, confidence: float) -> Text:
    """`suite x target: verdict · pass 0.80 -> 0.70 (-0.100, 95% CI ...) · 3 regressed,
    1 fixed · TEST p=...`, saying in words which decided when the interval and the test
    disagree."""
    m = group.metric("pass") or (group.metrics[0] if group.metrics else None)
    line = Text(f"{group.name}: ")
    if m is None:
        return line + Text("nothing to compare")
    p = m.paired
    line += Text(m.verdict, style=VERDICT_STYLE.get(m.verdict, "bold"))
    line += Text(
        f" · {m.metric} {_num(p.base_mean)} -> {_num(p.candidate_mean)} "
        f"({_signed(p.difference)}, {confidence:.0%} CI {_signed(p.ci_low)} to "
        f"{_signed(p.ci_high)}) · {m.regressed} regressed, {m.fixed} fixed"
    )
    interval_says = p.ci_high < 0 or p.ci_low > 0
    test_says = m.p_value < 1.0 - confidence
    line += Text(f" · {m.test} p={m.p_value:.2g}", style="dim")
    if interval_says and not test_says:
        line += Text(
            f" · {m.test} decided: the interval excludes 0, but the "
            f"{m.regressed + m.fixed} cases that changed are too few to rule out chance",
            style="dim",
        )
    elif test_says and not interval_says:
        line += Text(
            f" · {m.test} decided: the change is unlikely under chance, though the "
            "interval still reaches 0",
            style="dim",
        )
    return line


def _print_reasons(c: Comparison, limit: int, reasons: dict[str, list[str]]) -> None:
    """Each regressed case with why it fails now (its failing grades in the candidate)."""
    regressions = c.regressions
    if not regressions:
        return
    console.print(Text(f"regressed (pass -> fail): {len(regressions)}", style="red"))
    for change in regressions[:limit]:
        why = "; ".join(dict.fromkeys(reasons.get(change.name, [])))
        name = change.name + c.human_note(change.name)
        console.print(Text(f"  {name}" + (f": {why}" if why else "")))
    if len(regressions) > limit:
        console.print(f"  ... and {len(regressions) - limit} more")


def _print_list(title: str, names: list[str], limit: int, style: str) -> None:
    if not names:
        return
    console.print(f"[{style}]{title}: {len(names)}[/]")
    for name in names[:limit]:
        console.print(f"  {name}", markup=False)
    if len(names) > limit:
        console.print(f"  ... and {len(names) - limit} more")


def _print_gate(gate: GateResult) -> None:
    for note in gate.notes:
        console.print(Text("gate note: ", style="yellow") + Text(note))
    if not gate.configured:
        console.print("[yellow]the plan has no gate rules: nothing to gate on[/]")
    elif gate.passed:
        console.print("[green]gate passed[/]")
    if gate.tests:
        console.print(
            f"[dim]gate: {gate.tests} comparison tests, Holm-adjusted together "
            "(family-wise false-alarm rate 1 - confidence)[/]"
        )
    for reason in gate.reasons:
        # a reason names targets like `bot[plain]`: printed as Text, never as markup
        console.print(Text("gate failed: ", style="red") + Text(reason))


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _signed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.3f}"
