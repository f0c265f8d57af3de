"""The review screen: untrusted text shown literally, long text cut to fit the terminal."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from evalkit.review.queue import Queue, QueueFilter
from evalkit.review.render import clip, full_text, screen
from evalkit.review.state import ReviewState
from tests.review.test_state import item

HOSTILE = "[bold red]pwned[/] [link=http://x]y[/link] \x1b[31m"


def draw(state: ReviewState, width: int, height: int | None) -> str:
    console = Console(file=io.StringIO(), width=width, height=height or 50, color_system=None)
    console.print(screen(state, width, height))
    return console.file.getvalue()  # type: ignore[attr-defined]


def state_of(*items: object) -> ReviewState:
    queue = Queue(run_id="r1", items=list(items), labels={}, filters=QueueFilter())  # type: ignore[arg-type]
    return ReviewState(queue, reviewer="ana", git_sha=None)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40), (100, 30)])
def test_a_long_item_fits_the_terminal_with_header_and_keys_in_view(
    width: int, height: int
) -> None:
    long = "\n".join(f"line {i} " + "x" * (i % 7) * 30 for i in range(300))
    big = replace(
        item("a"),
        vars={"question": long},
        expected=long,
        output=long,
        context=[long, "short"],
    )
    shown = draw(state_of(big), width, height).splitlines()
    assert len(shown) <= height
    assert shown[0].startswith("review run r1 · item 1 of 1")
    assert "?=help" in shown[-1]
    assert "(e: the full text)" in "\n".join(shown)


def test_model_text_is_shown_literally_never_as_markup() -> None:
    hostile = replace(item("a"), output=HOSTILE, vars={"q": HOSTILE})
    hostile = replace(hostile, grades=(replace(hostile.grades[0], reason=HOSTILE),))
    text = draw(state_of(hostile), 200, None)
    assert text.count("[bold red]pwned[/]") == 3 and "[link=http://x]y[/link]" in text


def test_the_header_names_where_the_case_is_written_when_it_fits() -> None:
    located = replace(item("a"), location="suites/refunds.yaml:12:3")
    assert "s/a@t#0  machine: pass 1.00  suites/refunds.yaml:12:3" in draw(
        state_of(located), 100, None
    )
    assert "suites/refunds.yaml" not in draw(state_of(located), 40, None)


def test_clip_counts_wrapped_rows_and_says_what_is_hidden() -> None:
    assert clip("a\nb", 2, 10).plain == "a\nb"
    cut = clip("x" * 100, 3, 10).plain
    assert cut.startswith("x" * 20) and cut.endswith("… more (e: the full text)")
    assert clip("1\n2\n3\n4\n5", 3, 10).plain == "1\n2\n… 3 more lines (e: the full text)"
    assert clip("x" * 5000, None, 10).plain == "x" * 5000  # expanded: whole


def test_full_text_has_everything_uncut() -> None:
    long = "word " * 3000
    text = full_text(replace(item("a"), output=long, context=["p1"])).plain
    assert long in text and "── context ──\n[1] p1" in text and "contains: pass" in text
