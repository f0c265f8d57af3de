"""A Markdown summary fit for a pull-request comment: the verdict first, then the
paired comparison per suite x target, the cases that moved, and the run's table.

Everything that came from a model or a user's file is escaped: a comment must not
turn an output's `|`, `<` or backticks into markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from evalkit.analysis.compare import FLAKY_EPOCHS, PASS_METRIC, SCORE_METRIC, Comparison
from evalkit.reports.data import ReportData
from evalkit.reports.security_md import security_lines

HEADLINE_METRICS = (PASS_METRIC, SCORE_METRIC)  # in the comment's main table
CASES_LISTED = 25  # per list; the rest are counted, the store has them all
_ESCAPES = str.maketrans({"|": "\\|", "<": "&lt;", ">": "&gt;", "`": "\\`", "\n": " ", "\r": " "})


def render(data: ReportData, out: Path) -> Path:
    """Write `data` as a Markdown summary to `out` and return the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_markdown(data), encoding="utf-8")
    return out


def to_markdown(data: ReportData) -> str:
    """The summary as one Markdown string."""
    lines = [_headline(data), ""]
    lines += [f"> {_esc(note)}" for note in data.notes]
    if data.notes:
        lines.append("")
    if data.gate is not None and data.gate.configured:
        lines += _gate(data)
    if data.comparison is not None:
        lines += _comparison(data.comparison)
    lines += security_lines(data.trials)
    lines += _summary(data)
    return "\n".join(lines).rstrip() + "\n"


def _headline(data: ReportData) -> str:
    run = data.run
    where = f"`{_esc(run.get('run_id', '?'))}` (plan {_esc(run.get('plan', '?'))})"
    if data.gate is not None and data.gate.configured:
        mark = "✅ gate passed" if data.gate.passed else "❌ gate failed"
        return f"### evalkit: {mark} · run {where}"
    return f"### evalkit · run {where}"


def _gate(data: ReportData) -> list[str]:
    assert data.gate is not None
    lines = [f"- ❌ {_esc(reason)}" for reason in data.gate.reasons]
    lines += [f"- ⚠️ {_esc(note)}" for note in data.gate.notes]
    return [*lines, ""] if lines else []


def _comparison(c: Comparison) -> list[str]:
    lines = [f"#### Compared with `{_esc(c.base_run)}`", ""]
    lines += _metric_table(c, lambda name: name in HEADLINE_METRICS)
    graded = _metric_table(c, lambda name: name not in HEADLINE_METRICS)
    if len(graded) > 3:  # more than the header: the grade metrics, folded away
        lines += ["<details><summary>Every grade metric</summary>", "", *graded, "</details>", ""]
    epochs = [g for g in c.groups if max(g.base_epochs, g.candidate_epochs) > 1]
    if epochs:
        lines.append("Within-case variance of the score across epochs (base → candidate): ")
        lines += [
            f"- {_esc(g.name)}: {_num(g.base_within_variance)} → "
            f"{_num(g.candidate_within_variance)} ({g.base_epochs} → {g.candidate_epochs} epochs)"
            for g in epochs
        ]
        lines.append("")
    lines += _listed("Regressed (pass → fail)", [x.name for x in c.regressions], c.human_note)
    lines += _listed("Fixed (fail → pass)", [x.name for x in c.fixes], c.human_note)
    lines += _listed(f"Flaky (epochs disagreed within a run, {FLAKY_EPOCHS}+ epochs)", c.flaky)
    if c.flaky:
        lines += [f"Flaky: {_esc(c.flaky_note)}.", ""]
    lines += _listed("Added cases (not compared)", c.added)
    lines += _listed("Removed cases (not compared)", c.removed)
    lines += _listed("Changed content (not compared)", c.changed_content)
    lines += _listed("Ran in one run only (not compared)", c.unpaired_variants)
    return lines


def _metric_table(c: Comparison, wanted: Callable[[str], bool]) -> list[str]:
    lines = [
        "| suite x target | metric | base | candidate | difference "
        f"({c.confidence:.0%} CI) | cases fell / rose | p (test) | verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for group in c.groups:
        for m in group.metrics:
            if not wanted(m.metric):
                continue
            p = m.paired
            lines.append(
                f"| {_esc(group.name)} | {_esc(m.metric)} | {_num(p.base_mean)} | "
                f"{_num(p.candidate_mean)} | {_signed(p.difference)} "
                f"({_signed(p.ci_low)} to {_signed(p.ci_high)}; {m.label(c.confidence)}) | "
                f"{m.regressed} / {m.fixed} | {_num(m.p_value)} ({m.test}) | "
                f"{_verdict(m.verdict)} |"
            )
    return [*lines, ""]


def _listed(
    title: str, names: list[str], note: Callable[[str], str] = lambda _name: ""
) -> list[str]:
    if not names:
        return []
    lines = [f"<details><summary>{title}: {len(names)}</summary>", ""]
    lines += [f"- `{_esc(name)}`{_esc(note(name))}" for name in names[:CASES_LISTED]]
    if len(names) > CASES_LISTED:
        lines.append(f"- … and {len(names) - CASES_LISTED} more")
    return [*lines, "", "</details>", ""]


def _summary(data: ReportData) -> list[str]:
    if not data.summary:
        return ["Nothing ran."]
    mde = {(p.suite, p.target_id, p.prompt_id): p.detectable_drop for p in data.power}
    lines = [
        "#### This run",
        "",
        "| suite | target | trials | pass rate (95% CI) | score | errors "
        "| smallest detectable drop |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in data.summary:
        target = row["target_id"] + (f"[{row['prompt_id']}]" if row["prompt_id"] else "")
        rate = "-"
        if row["pass_rate"] is not None:
            rate = f"{row['pass_rate']:.1%} ({row['ci_low']:.1%}–{row['ci_high']:.1%})"
        drop = mde.get((row["suite"], row["target_id"], row["prompt_id"]))
        lines.append(
            f"| {_esc(row['suite'])} | {_esc(target)} | {row['trials']} | {rate} | "
            f"{_num(row['mean_score'])} | {row['errors']} | {_pct(drop)} |"
        )
    labels = sorted({str(r["ci_label"]) for r in data.summary if r.get("ci_label")})
    lines += [
        "",
        *([f"_Pass-rate intervals: {'; '.join(labels)}._", ""] if labels else []),
        "_Smallest detectable drop: of the pass rate, two-sided α = 0.05 at 80% power, "
        "for two runs of these cases assumed uncorrelated (cautious)._",
    ]
    return lines


def _esc(text: object) -> str:
    return str(text).translate(_ESCAPES)


def _num(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _signed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.3f}"


def _pct(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "-"
    return f"{value:.1%}"


def _verdict(text: str) -> str:
    icon = {"significant regression": "🔻", "significant improvement": "🔺"}.get(text, "")
    return f"{icon} {text}".strip()
