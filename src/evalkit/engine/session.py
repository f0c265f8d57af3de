"""One run from plan to stored result: build targets, record the run, drive the
engine, apply the gate. The CLI and the Python API both call `execute`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.analysis.calibration_history import judge_calibration
from evalkit.analysis.gate import GateResult, apply_rates
from evalkit.analysis.outcome import RunVerdict, run_verdict
from evalkit.analysis.security import with_security
from evalkit.analysis.summary import case_intervals
from evalkit.engine.executors import choose_executor
from evalkit.engine.plan import Selection, TrialPlan, expand, select_cases
from evalkit.engine.preflight import preflight
from evalkit.engine.resume import resume_point
from evalkit.engine.runner import Engine, EngineTotals, RunObserver, Variant
from evalkit.engine.shards import Shard, run_shard, shard_plan
from evalkit.engine.simulated_user import build_user_model
from evalkit.errors import SpecError
from evalkit.graders.judge.setup import attach, judge_for_run, judging
from evalkit.records import Case
from evalkit.store import ci_rows
from evalkit.store.db import Store
from evalkit.store.outcome_rows import OutcomeCounts, outcome_counts
from evalkit.store.runs import RunInfo, RunTarget, git_info, git_user, new_run_id
from evalkit.store.security_rows import security_trials
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetContext, TargetUnavailable
from evalkit.targets.inputs import plan_input_hashes, target_input_hashes
from evalkit.targets.limits import TargetLimits
from evalkit.targets.retry import RetryPolicy
from evalkit.workspace import secrets
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.root import grader_code_hashes
from evalkit.workspace.secrets import redact_text

# Seconds between a second Ctrl-C and a forced exit, should the orderly stop hang.
HARD_STOP_GRACE = 3.0


@dataclass(slots=True)
class RunSettings:
    """The user's choices for one run (CLI flags or API arguments)."""

    selection: Selection = field(default_factory=Selection)
    use_cache: bool = True
    concurrency: int | None = None  # overrides every target's concurrency
    labels: dict[str, str] = field(default_factory=dict)
    command: str = ""
    allow_skipped: bool = False  # count skipped grades out instead of exit 3
    max_cost: float | None = None  # USD; overrides the plan's `max_cost`
    shard: Shard | None = None  # run only this slice of the cases (--shard K/N)
    workers: int | None = None  # worker processes (--workers); None: the plan's, else auto
    executor: str | None = None  # "local" or "ray" (--executor); None: the plan's


@dataclass(slots=True)
class RunOutcome:
    """What a finished (or interrupted) run produced."""

    run_id: str
    plan: str
    status: str  # completed | interrupted | failed
    trials_planned: int
    totals: EngineTotals
    notices: list[str]
    gate: GateResult
    pass_rates: dict[tuple[str, str, str | None], tuple[int, int]]  # (suite,target,prompt)->(ok,n)
    counts: OutcomeCounts = field(default_factory=OutcomeCounts)
    verdict: RunVerdict = field(default_factory=lambda: RunVerdict(0))

    @property
    def exit_code(self) -> int:
        """pytest-style (see evalkit.analysis.outcome): 0 passed, 1 failures or a failed
        gate, 2 interrupted, 3 infrastructure, 5 nothing ran."""
        return self.verdict.exit_code

    @property
    def recorded(self) -> bool:
        """Whether the run is in the store (an empty selection is never recorded)."""
        return self.trials_planned > 0 or self.status == "interrupted"


def execute(
    plan: LoadedPlan,
    store: Store,
    settings: RunSettings,
    *,
    observer_factory: Callable[[int], RunObserver] | None = None,
    notify: Callable[[str], None] = lambda _msg: None,
    resume_run: str | None = None,
) -> RunOutcome:
    """Run `plan` with `settings`, recording everything in `store`; or continue `resume_run`."""
    notices: list[str] = []

    def notice(message: str) -> None:
        message = redact_text(message)  # an unavailable target's reason may quote its URL
        notices.append(message)
        notify(message)

    if resume_run is None and (problems := preflight(plan, select_cases(plan, settings.selection))):
        raise SpecError(problems)  # exit 4 before anything is sent or recorded
    targets, run_targets = _build_targets(plan, notice)
    variants = list(targets)
    trials = expand(plan, variants, settings.selection) if variants else TrialPlan([], [], 1)
    shard = run_shard(settings.shard, store.con, resume_run)
    trials = shard_plan(trials, shard)
    planned = len(trials)
    judge = judge_for_run(
        plan, trials.cases if trials else [], notice
    )  # before recording the run: a bad `judge:` stops it
    point = None
    if resume_run is None and planned == 0:
        # Nothing selected: no run is recorded, so it never becomes `latest`, a
        # baseline or a trend point.
        verdict = run_verdict(
            interrupted=False,
            planned=0,
            counts=OutcomeCounts(),
            gate_configured=False,
            gate_passed=False,
        )
        gate = GateResult(configured=False, passed=False)
        return RunOutcome(
            "", plan.name, "empty", 0, EngineTotals(), notices, gate, {}, verdict=verdict
        )
    if resume_run is None:
        run_id = new_run_id(datetime.now(UTC))
        store.start_run(
            _run_info(plan, settings, run_id, planned), run_targets, _cases(trials.cases)
        )
    else:  # the same run id, and only the trials it has not saved (see resume.py)
        point = resume_point(store.con, resume_run, plan, run_targets, trials)
        run_id, trials = point.run_id, point.remaining
    observer = observer_factory(len(trials)) if observer_factory else None
    engine = Engine(
        run_id=run_id,
        targets=targets,
        limits=_limits(plan, settings),
        sink=(writer := store.writer(run_id)),
        observer=observer,
        cache_lookup=store.cached_outputs if settings.use_cache and plan.spec.cache else None,
    )
    engine.max_cost = settings.max_cost or plan.spec.max_cost
    engine.on_target_stopped = lambda target, why: notice(
        f"stopped sending to target '{target}': {why}; its remaining trials were not run "
        f"(fix it, then `evalkit resume {run_id}`)"
    )
    use_cache = settings.use_cache and plan.spec.cache
    engine.conversation.user_model = build_user_model(plan, _cases(trials.cases), notice)
    attach(judge, engine.call_target, store.cached_outputs if use_cache else None, writer.put_cache)
    engine.executor = choose_executor(
        plan,
        engine,
        trials,
        workers=settings.workers,
        executor=settings.executor,
        uses_judge=judge is not None,
        notice=notice,
    )
    if point is not None:
        point.seed(engine.totals)  # the summary and exit code cover the whole run
    status = "failed"
    display = contextlib.ExitStack()
    if isinstance(observer, contextlib.AbstractContextManager):
        display.enter_context(observer)  # a progress bar lives exactly as long as the run
    hard_stop = HardStop()
    try:
        with display:
            driven = _drive(engine, trials, targets, notice, hard_stop)
            totals = asyncio.run(judging(judge, driven))
        status = "interrupted" if totals.interrupted else "completed"
    except KeyboardInterrupt:
        totals = engine.totals
        totals.interrupted = True
        status = "interrupted"
    finally:
        hard_stop.disarm()  # the loop and its threads let go: the orderly stop goes on
        writer.close()  # commits every finished trial, whatever happened above
        if status == "failed":
            store.finish_run(run_id, status, {"finished": engine.totals.finished})
    rates = ci_rows.pass_rates(store.con, run_id)
    spec = plan.spec.gate
    intervals = (
        case_intervals(store.con, run_id, spec.confidence)
        if spec.min_pass_rate_of == "lower_bound"
        else None
    )
    gate = apply_rates(spec, rates, intervals)
    gate = with_security(gate, spec, security_trials(store.con, run_id))
    if settings.selection.trial_ids is not None:
        # a rerun of the failures is a subset chosen to be bad: a pass-rate floor says
        # nothing about it, so every rerun trial passing is the verdict (exit 0)
        gate = GateResult(configured=False, passed=True)
    counts = outcome_counts(store.con, run_id)
    verdict = run_verdict(
        interrupted=status == "interrupted",
        planned=planned,
        counts=counts,
        gate_configured=gate.configured,
        gate_passed=gate.passed,
        allow_skipped=settings.allow_skipped or plan.spec.allow_skipped,
        stopped=totals.stopped_targets,
        cost_stop=totals.cost_stop,
    )
    if status == "completed" and verdict.exit_code == 3 and totals.stopped_targets:
        status = "failed"  # trials were left unsent: resumable, and never a baseline
    summary = {
        "finished": totals.finished,
        "by_status": totals.by_status,
        "cache_hits": totals.cache_hits,
        "retries": totals.retries,
        **({"judge": judge.summary()} if judge is not None else {}),
        "gate": {"configured": gate.configured, "passed": gate.passed, "reasons": gate.reasons},
        "exit_code": verdict.exit_code,
        "reasons": verdict.reasons,
    }
    if calibration := judge_calibration(store.con, run_id, plan.spec.calibration, notice):
        summary["calibration"] = calibration  # a warning only: the gate above is unchanged
    store.finish_run(run_id, status, summary)
    return RunOutcome(
        run_id, plan.name, status, planned, totals, notices, gate, rates, counts, verdict
    )


async def _drive(
    engine: Engine,
    trials: TrialPlan,
    targets: dict[Variant, Target],
    notice: Callable[[str], None],
    hard_stop: HardStop,
) -> EngineTotals:
    """Run the engine; a first Ctrl-C or SIGTERM drains the trials in flight, a second aborts."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0

    def drain(name: str) -> None:
        notice(
            f"interrupted ({name}): finishing the trials in flight (Ctrl-C again to stop at once)"
        )
        engine.stop()

    def on_signal(signum: int, _frame: object) -> None:
        # A Python-level handler, not loop.add_signal_handler: it runs even while the
        # loop is blocked (a grader spinning on it), and counts the presses itself.
        # SIGTERM is what CI systems and `kill` send on cancel: it drains like a first
        # Ctrl-C, so a cancelled job leaves an `interrupted` run that `evalkit resume` continues.
        nonlocal presses
        presses += 1
        if presses == 1:
            loop.call_soon_threadsafe(drain, signal.Signals(signum).name)
            return
        if main is not None:
            loop.call_soon_threadsafe(main.cancel)
        hard_stop.arm(HARD_STOP_GRACE)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: no signal handling
            previous[signum] = signal.signal(signum, on_signal)
    # The plan, its cases and the imports live for the whole run: moved out of the
    # collector's sight, they are not traversed again by every full collection, and
    # forked workers do not copy the pages a collection would touch.
    gc.freeze()
    try:
        return await engine.run(trials)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        gc.unfreeze()
        for number, handler in previous.items():
            signal.signal(number, handler)
        for target in {id(t): t for t in targets.values()}.values():
            with contextlib.suppress(Exception):
                await target.aclose()
        if (user := engine.conversation.user_model) is not None:
            with contextlib.suppress(Exception):
                await user.aclose()


class HardStop:
    """Exit with 2 a few seconds after a second Ctrl-C, unless the run let go by then.

    After a second Ctrl-C the run cancels its tasks and commits what it has; this is
    the backstop when something cannot be cancelled: a grader spinning on the event
    loop, or a target function that never returns (asyncio.run waits for its thread).
    Disarmed as soon as the loop has stopped, so a notebook kernel lives on. Batches
    already committed are safe; the run stays resumable.
    """

    def __init__(self) -> None:
        self._disarmed = threading.Event()
        self._armed = False

    def arm(self, seconds: float) -> None:
        """Start the countdown (once)."""
        if self._armed:
            return
        self._armed = True

        def stop() -> None:
            if not self._disarmed.wait(seconds):
                os._exit(2)

        threading.Thread(target=stop, name="evalkit-hard-stop", daemon=True).start()

    def disarm(self) -> None:
        """The orderly stop is under way: no forced exit."""
        self._disarmed.set()


def _build_targets(
    plan: LoadedPlan, notice: Callable[[str], None]
) -> tuple[dict[Variant, Target], list[RunTarget]]:
    pricing = {name: (p.input, p.output) for name, p in plan.spec.pricing.items()}
    ctx = TargetContext(
        root=plan.root, plan_dir=plan.path.parent, pricing=pricing, timeout=plan.spec.timeout
    )
    built: dict[Variant, Target] = {}
    recorded: list[RunTarget] = []
    for spec in plan.spec.targets:
        raw = spec.model_dump(mode="json", exclude_none=True)
        secrets.remember_config(raw)  # before anything about this target is written
        config = secrets.redact_config(raw)
        files = target_input_hashes(spec, plan.root, plan.path.parent)
        # The files a target reads decide its outputs as much as its config does.
        config_hash = _hash({"config": config, "files": files} if files else config)
        try:
            variants = build_targets(spec, ctx)
        except TargetUnavailable as exc:
            notice(f"skipping target '{spec.id}': {exc}")
            recorded.append(RunTarget(spec.id, None, spec.provider, config, config_hash, str(exc)))
            continue
        for target in variants:
            built[(target.id, target.prompt_id)] = target
            recorded.append(
                RunTarget(target.id, target.prompt_id, spec.provider, config, config_hash, None)
            )
    return built, recorded


def _limits(plan: LoadedPlan, settings: RunSettings) -> dict[str, TargetLimits]:
    limits = {}
    for spec in plan.spec.targets:
        concurrency = settings.concurrency or spec.concurrency or plan.spec.concurrency
        retries = spec.retries if spec.retries is not None else plan.spec.retries
        limits[spec.id] = TargetLimits(
            concurrency=max(1, concurrency),
            timeout=float(spec.timeout or plan.spec.timeout),
            retry=RetryPolicy(retries=retries),
        )
    return limits


def _run_info(plan: LoadedPlan, settings: RunSettings, run_id: str, planned: int) -> RunInfo:
    sha, branch, dirty = git_info(plan.root)
    selection = settings.selection
    return RunInfo(
        run_id=run_id,
        plan=plan.name,
        plan_path=_relative(plan.path, plan.root),
        started_at=datetime.now(UTC),
        git_sha=sha,
        git_branch=branch,
        git_dirty=dirty,
        config_hash=plan.config_hash,
        suite_hashes={s.name: s.content_hash for s in plan.suites},
        evalkit_version=__version__,
        labels={**plan.spec.labels, **settings.labels},
        created_by=git_user(plan.root),
        hostname=socket.gethostname(),
        command=redact_text(settings.command or " ".join(sys.argv)),
        settings={
            "filters": list(selection.filters),
            "tags": list(selection.tags),
            "targets": list(selection.targets),
            "limit": selection.limit,
            "epochs": selection.epochs or plan.spec.epochs,
            "concurrency": settings.concurrency,
            "cache": settings.use_cache and plan.spec.cache,
            "grader_code": grader_code_hashes(plan.root),
            "target_files": plan_input_hashes(plan),
            **({"shard": str(settings.shard)} if settings.shard else {}),
        },
        trials_planned=planned,
    )


def _cases(cases: list[Case]) -> list[Any]:
    seen: dict[str, Any] = {}
    for case in cases:
        seen.setdefault(case.content_hash, case)
    return list(seen.values())


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
