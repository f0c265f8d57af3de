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

# Lines per panel when the screen's height is unknown (piped output); on a terminal the
# panels share its height instead, so the header and keys always stay in view.
DEFAULT_LINES = {"input": 6, "expected": 4, "output": 12, "context": 6}
_SHARES = {"input": 0.25, "expected": 0.1, "output": 0.5, "context": 0.15}
_STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "skipped": "dim"}
_REASONING_LINES = 3


def screen(state: ReviewState, width: int = 100, height: int | None = None) -> RenderableType:
    """The whole screen for where `state` is: the item, or the end of the queue."""
    item = state.item
    parts: list[RenderableType] = [_header(state, width)]
    if item is None:
        parts.append(_end(state))
    else:
        texts = _texts(item)
        budget = None if state.expanded else _budget(state, item, texts, width, height)
        parts.extend(_panels(item, texts, budget, width - 4))
        parts.append(_grades(item, state.expanded, max(20, width - 40)))
        parts.append(_human(state.current_label, state.pending_note))
    if state.message:
        parts.append(Text(state.message, style="bold cyan"))
    parts.append(Text(KEY_HINT, style="dim"))
    return Group(*parts)


def full_text(item: Item) -> Text:
    """Everything about an item, uncut, for reading in a pager."""
    out = Text()
    for title, text in _texts(item).items():
        out.append(f"── {title} ──\n", style="bold")
        out.append(text + "\n\n")
    out.append("── grades ──\n", style="bold")
    out.append(fields.reasons_text(item) + "\n")
    return out


def clip(text: str, max_lines: int | None, width: int) -> Text:
    """`text` as literal Text cut to `max_lines` screen rows (lines wrap at `width`)."""
    if max_lines is None:
        return Text(text)
    width = max(width, 10)
    lines = text.splitlines() or [""]
    rows = [max(1, -(-len(line) // width)) for line in lines]
    if sum(rows) <= max_lines:
        return Text(text)
    room = max_lines - 1  # one row for saying what is hidden
    shown: list[str] = []
    for line, used in zip(lines, rows, strict=True):
        if room <= 0:
            break
        shown.append(line if used <= room else line[: room * width])
        room -= used
    hidden = len(lines) - len(shown)
    out = Text("\n".join(shown))
    more = f"{hidden} more lines" if hidden else "more"
    out.append(f"{chr(10) if shown else ''}… {more} (e: the full text)", style="dim italic")
    return out


def _texts(item: Item) -> dict[str, str]:
    texts = {"input": fields.input_text(item)}
    if (expected := fields.expected_text(item)) != "":
        texts["expected"] = expected
    texts["output"] = fields.output_text(item)
    if item.context:
        texts["context"] = fields.context_text(item)
    return texts


def _budget(
    state: ReviewState, item: Item, texts: dict[str, str], width: int, height: int | None
) -> dict[str, int]:
    """Screen rows for each panel's text: what the height leaves after everything else."""
    if height is None:
        return DEFAULT_LINES
    label = state.current_label
    fixed = 2 + 1 + (1 if label and label.note else 0) + (1 if state.pending_note else 0)
    fixed += (1 + len(state.message) // max(width, 1)) if state.message else 0
    fixed += 1 + len(KEY_HINT) // max(width, 1)
    fixed += (
        4
        + sum(
            1
            + (_REASONING_LINES if g.reasoning and g.reasoning != g.reason else 0)
            + (1 if g.flakiness else 0)
            for g in item.grades
        )
        + (0 if item.grades else 1)
    )
    available = height - fixed - 2 * len(texts) - 1
    total = sum(_SHARES[name] for name in texts)
    return {name: max(1, int(available * _SHARES[name] / total)) for name in texts}


def _panels(
    item: Item, texts: dict[str, str], budget: dict[str, int] | None, width: int
) -> list[RenderableType]:
    panels: list[RenderableType] = []
    for name, text in texts.items():
        border = (
            "yellow"
            if name == "output" and item.status == "error"
            else ("blue" if name == "output" else "white")
        )
        lines = None if budget is None else budget[name]
        panels.append(
            Panel(clip(text, lines, width), title=name, title_align="left", border_style=border)
        )
    return panels


def _header(state: ReviewState, width: int) -> RenderableType:
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
    # where the case is written, so a reviewer who finds it wrong can fix it; only when
    # it fits, since the screen's height was planned for a one-line header
    if item.location and len(where.plain) + len(item.location) + 2 <= width:
        where.append(f"  {item.location}", style="dim")
    return Group(head, where)


def _grades(item: Item, expanded: bool, reason_width: int) -> RenderableType:
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
            lines = None if expanded else _REASONING_LINES
            reason.append_text(clip(grade.reasoning, lines, reason_width))
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
