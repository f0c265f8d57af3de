"""Live progress: a rich bar on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit.records import Status, TrialResult
from evalkit.reports.otel import LiveTrace
from evalkit.workspace.loaded import LoadedPlan


class Tally:
    """Running counts shared by both displays."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.passed = 0
        self.graded = 0
        self.errors = 0
        self.cost = 0.0

    def add(self, result: TrialResult) -> None:
        """Count one finished trial."""
        self.done += 1
        if result.status in (Status.PASS, Status.FAIL, Status.ERROR):
            self.graded += 1
        if result.status == Status.PASS:
            self.passed += 1
        elif result.status == Status.ERROR:
            self.errors += 1
        if result.output.cost_usd:
            self.cost += result.output.cost_usd

    def line(self) -> str:
        """`pass 81.2% · errors 0 · $0.0123` (no cost while nothing has a price)."""
        rate = f"{self.passed / self.graded:.1%}" if self.graded else "-"
        cost = f" · ${self.cost:.4f}" if self.cost else ""
        return f"pass {rate} · errors {self.errors}{cost}"


class BarProgress:
    """A rich progress bar with the live pass rate, errors and cost."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        self.tally = Tally(total)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=8,
        )
        self._task = self._progress.add_task(label, total=total, stats="")
        self._last = 0.0

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def trial_finished(self, result: TrialResult) -> None:
        """Advance the bar; refresh the text at most ten times a second."""
        self.tally.add(result)
        now = time.monotonic()
        if now - self._last > 0.1 or self.tally.done == self.tally.total:
            self._last = now
            self._progress.update(self._task, completed=self.tally.done, stats=self.tally.line())


class LineProgress:
    """For logs: a line every 10% of the trials or every 10 seconds, whichever first.

    A run that is over within two seconds prints no progress at all: its table follows.
    """

    QUIET_SECONDS = 2.0

    def __init__(self, console: Console, label: str, total: int) -> None:
        self.tally = Tally(total)
        self._console = console
        self._label = label
        self._step = max(1, total // 10)
        self._last = time.monotonic()
        self._started = self._last

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def trial_finished(self, result: TrialResult) -> None:
        """Print a progress line now and then."""
        self.tally.add(result)
        now = time.monotonic()
        done = self.tally.done
        if now - self._started < self.QUIET_SECONDS:
            return
        if done % self._step == 0 or now - self._last >= 10 or done == self.tally.total:
            self._last = now
            self._console.print(
                f"[{self._label}] {done}/{self.tally.total} trials · {self.tally.line()}"
                f" · {now - self._started:.1f}s",
                markup=False,  # "[plan]" is the plan's name, not a rich style
            )


def make_progress(console: Console, label: str, total: int) -> BarProgress | LineProgress:
    """A bar on a terminal, lines otherwise."""
    if console.is_terminal:
        return BarProgress(console, label, total)
    return LineProgress(console, label, total)


class _Both:
    """The progress display and the live trace, told about every trial alike."""

    def __init__(self, shown: BarProgress | LineProgress, trace: LiveTrace) -> None:
        self._shown = shown
        self._trace = trace

    def trial_finished(self, result: TrialResult) -> None:
        """Draw the trial, then send its spans."""
        self._shown.trial_finished(result)
        self._trace.trial_finished(result)

    def __enter__(self) -> _Both:
        self._shown.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._shown.__exit__(kind, value, traceback)


def observers(
    console: Console, label: str, trace: LiveTrace | None, total: int
) -> BarProgress | LineProgress | _Both:
    """The run's progress display, and with `--otel` the live trace beside it."""
    shown = make_progress(console, label, total)
    return shown if trace is None else _Both(shown, trace)


def live_trace(plan: LoadedPlan) -> LiveTrace:
    """A live trace for `plan`, knowing each target's provider and model."""
    targets = {t.id: (t.provider, (t.model_extra or {}).get("model")) for t in plan.spec.targets}
    return LiveTrace(plan.name, targets)
