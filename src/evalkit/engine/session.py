"""One run from plan to stored result: build targets, record the run, drive the
engine, apply the gate. The CLI and the Python API both call `execute`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.analysis.calibration_history import judge_calibration
from evalkit.analysis.gate import GateResult, apply_rates
from evalkit.engine.plan import Selection, expand
from evalkit.engine.resume import resume_point
from evalkit.engine.runner import Engine, EngineTotals, RunObserver, Variant
from evalkit.graders.judge.setup import attach, judge_for_run, judging
from evalkit.records import Status, Trial
from evalkit.store import ci_rows
from evalkit.store.db import Store
from evalkit.store.runs import RunInfo, RunTarget, git_info, git_user, new_run_id
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetContext, TargetUnavailable
from evalkit.targets.limits import TargetLimits
from evalkit.targets.retry import RetryPolicy
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.root import grader_code_hashes

# Keys never recorded with a target's config, whatever their value: the config is
# stored in DuckDB and shown in reports, and secrets must never be (DESIGN rule 8).
SECRET_KEYS = ("key", "token", "secret", "password", "authorization", "auth", "cookie")


@dataclass(slots=True)
class RunSettings:
    """The user's choices for one run (CLI flags or API arguments)."""

    selection: Selection = field(default_factory=Selection)
    use_cache: bool = True
    concurrency: int | None = None  # overrides every target's concurrency
    labels: dict[str, str] = field(default_factory=dict)
    command: str = ""


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

    @property
    def exit_code(self) -> int:
        """pytest-style: 0 passed, 1 failures or failed gate, 2 interrupted, 5 nothing ran."""
        if self.status == "interrupted":
            return 2
        if self.totals.finished == 0:
            return 5
        if self.gate.configured:
            return 0 if self.gate.passed else 1
        failing = sum(self.totals.by_status.get(s, 0) for s in (Status.FAIL, Status.ERROR))
        return 1 if failing else 0


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
        notices.append(message)
        notify(message)

    targets, run_targets = _build_targets(plan, notice)
    variants = list(targets)
    trials = expand(plan, variants, settings.selection) if variants else []
    planned = len(trials)
    judge = judge_for_run(plan, trials, notice)  # before recording the run: a bad `judge:` stops it
    point = None
    if resume_run is None:
        run_id = new_run_id(datetime.now(UTC))
        store.start_run(_run_info(plan, settings, run_id, planned), run_targets, _cases(trials))
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
    use_cache = settings.use_cache and plan.spec.cache
    attach(judge, engine.call_target, store.cached_outputs if use_cache else None, writer.put_cache)
    if point is not None:
        point.seed(engine.totals)  # the summary and exit code cover the whole run
    status = "failed"
    display = contextlib.ExitStack()
    if isinstance(observer, contextlib.AbstractContextManager):
        display.enter_context(observer)  # a progress bar lives exactly as long as the run
    try:
        with display:
            totals = asyncio.run(judging(judge, _drive(engine, trials, targets, notice)))
        status = "interrupted" if totals.interrupted else "completed"
    except KeyboardInterrupt:
        totals = engine.totals
        totals.interrupted = True
        status = "interrupted"
    finally:
        writer.close()  # commits every finished trial, whatever happened above
        if status == "failed":
            store.finish_run(run_id, status, {"finished": engine.totals.finished})
    rates = ci_rows.pass_rates(store.con, run_id)
    gate = apply_rates(plan.spec.gate, rates)
    if settings.selection.trial_ids is not None:
        # a rerun of the failures is a subset chosen to be bad: a pass-rate floor says
        # nothing about it, so every rerun trial passing is the verdict (exit 0)
        gate = GateResult(configured=False, passed=True)
    summary = {
        "finished": totals.finished,
        "by_status": totals.by_status,
        "cache_hits": totals.cache_hits,
        "retries": totals.retries,
        **({"judge": judge.summary()} if judge is not None else {}),
        "gate": {"configured": gate.configured, "passed": gate.passed, "reasons": gate.reasons},
    }
    if calibration := judge_calibration(store.con, run_id, plan.spec.calibration, notice):
        summary["calibration"] = calibration  # a warning only: the gate above is unchanged
    store.finish_run(run_id, status, summary)
    return RunOutcome(run_id, plan.name, status, planned, totals, notices, gate, rates)


async def _drive(
    engine: Engine,
    trials: list[Trial],
    targets: dict[Variant, Target],
    notice: Callable[[str], None],
) -> EngineTotals:
    """Run the engine; a first Ctrl-C drains the trials in flight, a second aborts."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_interrupt() -> None:
        if engine.stopping.is_set():
            if main is not None:
                main.cancel()
            return
        notice("interrupted: finishing the trials in flight (Ctrl-C again to stop at once)")
        engine.stop()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        return await engine.run(trials)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        for target in {id(t): t for t in targets.values()}.values():
            with contextlib.suppress(Exception):
                await target.aclose()


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
        config = redact(spec.model_dump(mode="json", exclude_none=True))
        config_hash = _hash(config)
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
        command=settings.command or " ".join(sys.argv),
        settings={
            "filters": list(selection.filters),
            "tags": list(selection.tags),
            "targets": list(selection.targets),
            "limit": selection.limit,
            "epochs": selection.epochs or plan.spec.epochs,
            "concurrency": settings.concurrency,
            "cache": settings.use_cache and plan.spec.cache,
            "grader_code": grader_code_hashes(plan.root),
        },
        trials_planned=planned,
    )


def _cases(trials: list[Trial]) -> list[Any]:
    seen: dict[str, Any] = {}
    for trial in trials:
        seen.setdefault(trial.case.content_hash, trial.case)
    return list(seen.values())


def redact(value: Any) -> Any:
    """A copy of a config with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if _is_secret_key(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    # `api_key_env` names an environment variable; the name is not the secret.
    return any(word in lowered for word in SECRET_KEYS) and not lowered.endswith("_env")


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
