"""Drawing one review screen: rich renderables built from the state, printed by the caller.

Everything from a case or a model is wrapped in `rich.text.Text`, never parsed as markup:
an output containing `[bold]` or `[/]` shows literally and cannot restyle the screen.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from evalkit.review import fields
from evalkit.review.queue import Item
from evalkit.review.state import KEY_HINT, ReviewState
from evalkit.store.labels import Label

MAX_LINES = 12  # per panel before "e to expand"; a screen should fit a laptop terminal
MAX_CHARS = 1500
_STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "skipped": "dim"}


def screen(state: ReviewState) -> RenderableType:
    """The whole screen for where `state` is: the item, or the end of the queue."""
    item = state.item
    parts: list[RenderableType] = [_header(state)]
    if item is None:
        parts.append(_end(state))
    else:
        parts.extend(_item(item, state.expanded))
        parts.append(_human(state.current_label, state.pending_note))
    if state.message:
        parts.append(Text(state.message, style="bold cyan"))
    parts.append(Text(KEY_HINT, style="dim"))
    return Group(*parts)


def clip(text: str, expanded: bool, max_lines: int = MAX_LINES) -> Text:
    """`text` as literal Text, cut to a few lines unless expanded, saying how much is hidden."""
    if expanded:
        return Text(text)
    lines = text.splitlines()
    shown = "\n".join(lines[:max_lines])
    hidden_lines = max(0, len(lines) - max_lines)
    if len(shown) > MAX_CHARS:
        shown = shown[:MAX_CHARS]
    hidden_chars = len(text) - len(shown)
    out = Text(shown)
    if hidden_chars > 0 and text.strip():
        more = f"{hidden_lines} more lines" if hidden_lines else f"{hidden_chars} more characters"
        out.append(f"\n… {more} (e to expand)", style="dim italic")
    return out


def _header(state: ReviewState) -> RenderableType:
    queue = state.queue
    total = len(queue.items)
    position = f"item {state.cursor + 1} of {total}" if state.item else f"end of {total} items"
    head = Text()
    head.append("review ", style="bold")
    head.append(f"run {queue.run_id}")
    head.append(f" · {position} · {queue.labelled()} labelled", style="bold")
    head.append(f" · {queue.filters.describe()}", style="dim")
    item = state.item
    if item is None:
        return head
    where = Text(item.trial_id, style="bold")
    if item.grade_idx is not None:
        where.append(f"  grade {item.grade_idx} ({item.metric})", style="bold magenta")
    where.append("  machine: ")
    status = item.machine_status
    where.append(status, style=_STATUS_STYLE.get(status, ""))
    if item.machine_score is not None:
        where.append(f" {item.machine_score:.2f}")
    return Group(head, where)


def _item(item: Item, expanded: bool) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Panel(clip(fields.input_text(item), expanded, 6), title="input", title_align="left")
    ]
    expected = fields.expected_text(item)
    if expected:
        parts.append(Panel(clip(expected, expanded, 4), title="expected", title_align="left"))
    parts.append(
        Panel(
            clip(fields.output_text(item), expanded),
            title="output",
            title_align="left",
            border_style="yellow" if item.status == "error" else "blue",
        )
    )
    if item.context:
        context = clip(fields.context_text(item), expanded, 6)
        parts.append(Panel(context, title="context", title_align="left"))
    parts.append(_grades(item, expanded))
    return parts


def _grades(item: Item, expanded: bool) -> RenderableType:
    table = Table(title=None, expand=True, show_lines=False, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("metric", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("reason", ratio=1)
    for grade in item.grades:
        reason = Text(grade.reason or "")
        if grade.reasoning and grade.reasoning != grade.reason:
            reason.append("\njudge: ", style="italic")
            reason.append_text(clip(grade.reasoning, expanded, 4))
        if grade.flakiness:
            reason.append(f"\nflakiness {grade.flakiness:.2f}", style="yellow")
        table.add_row(
            Text("▶", style="bold magenta") if grade.idx == item.grade_idx else Text(""),
            Text(grade.metric),
            Text(grade.status, style=_STATUS_STYLE.get(grade.status, "")),
            Text("-" if grade.score is None else f"{grade.score:.2f}"),
            reason,
        )
    if not item.grades:
        reason = Text(item.error or "no grades")
        table.add_row(Text(""), Text("-"), Text(item.status), Text("-"), reason)
    return table


def _human(label: Label | None, pending_note: str | None) -> RenderableType:
    line = Text("human: ", style="bold")
    if label is None:
        line.append("not labelled yet", style="dim")
    else:
        verdict = "pass" if label.passed else "fail"
        line.append(verdict, style=_STATUS_STYLE[verdict] + " bold")
        if label.score is not None:
            line.append(f" {label.score:g}")
        line.append(f" ({label.action}) by {label.reviewer} at {label.labelled_at:%Y-%m-%d %H:%M}")
        if label.note:
            line.append("\nnote: ")
            line.append(label.note)
    if pending_note:
        line.append("\nnote (saved with your verdict): ", style="cyan")
        line.append(pending_note)
    return line


def _end(state: ReviewState) -> RenderableType:
    queue = state.queue
    left = len(queue.items) - queue.labelled()
    text = Text(f"\nThe end of the queue: {queue.labelled()} of {len(queue.items)} labelled")
    text.append(f" ({state.saved} label(s) saved in this session).")
    if left:
        text.append(f"\n{left} item(s) still unlabelled: g goes to the first of them.")
    text.append("\nk goes back, q quits.\n")
    return text
