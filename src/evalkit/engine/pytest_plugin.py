"""The pytest plugin (entry point `pytest11`): evalkit suites as pytest items, and the
`evalkit` fixture for checking outputs from Python tests.

`pytest --evalkit PLAN` collects one item per trial of the plan (`PLAN` is a plan file or
name, as for `evalkit run`). The first item that runs runs the whole plan through the
engine, recording it in the workspace's DuckDB store like `evalkit run` (only the trials
pytest kept after `-k`/deselection); each item then passes, fails with the reasons of
its failing grades, or is skipped with why its target did not run.

The `evalkit` fixture grades an output your test produced with evalkit's graders:
`evalkit.check(output, graders=["is-json", {"type": "icontains", "value": "refund"}])`
fails the test with every failing grade's reason. All checks of a session are recorded
as one run of plan `pytest` (suite = test module, case = test), so `evalkit show`,
`compare`, `report` and `trend` work on them.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evalkit.errors import EvalkitError, WorkspaceError

_OPTION = "evalkit"
_RECORDER = pytest.StashKey["Recorder"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--evalkit PLAN` (repeatable) and `--evalkit-db FILE`."""
    group = parser.getgroup("evalkit", "evalkit: language-model evals as tests")
    group.addoption(
        "--evalkit",
        action="append",
        default=[],
        metavar="PLAN",
        help="run an evalkit plan (file or name) as tests, one item per trial",
    )
    group.addoption(
        "--evalkit-db",
        default=None,
        metavar="FILE",
        help="results database (default: $EVALKIT_DB, else the workspace's)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With --evalkit and no test paths, collect only the plans."""
    if config.getoption(_OPTION) and config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    return None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one item per trial of every --evalkit plan."""
    for ref in config.getoption(_OPTION):
        collector = PlanCollector.from_parent(session, name=ref, nodeid=ref)
        items.extend(collector.collect())


def pytest_configure(config: pytest.Config) -> None:
    """One recorder per session for the `evalkit` fixture's checks."""
    config.stash[_RECORDER] = Recorder(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the fixture's checks (if any) to the store as one run."""
    recorder = session.config.stash.get(_RECORDER, None)
    if recorder is not None:
        recorder.save()


class TrialFailed(Exception):
    """A trial whose grades (or target) said no."""


class PlanCollector(pytest.Collector):
    """One plan's trials; runs the plan once, on the first item that needs a result."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._outcome: dict[str, tuple[str, list[str]]] | None = None
        self._notices: list[str] = []
        self._plan: Any = None
        self._root: Path | None = None
        self.run_id: str | None = None

    def collect(self) -> list[pytest.Item]:
        """The plan's trials, as `evalkit run` would expand them."""
        from evalkit.engine.plan import Selection, expand
        from evalkit.graders.discovery import load_all
        from evalkit.workspace import load_plans
        from evalkit.workspace.root import find_root

        ref = self.name
        start = Path(ref).resolve().parent if Path(ref).is_file() else None
        try:
            root = find_root(start)
            load_all(root)
            (plan,) = load_plans(root, ref)
        except (EvalkitError, ValueError) as exc:
            raise pytest.UsageError(f"--evalkit {ref}: {exc}") from exc
        self._plan, self._root = plan, root
        variants: list[tuple[str, str | None]] = [
            (target.id, prompt)
            for target in plan.spec.targets
            for prompt in _prompt_ids(target.prompts)
        ]
        return [
            TrialItem.from_parent(self, name=trial.trial_id, trial_id=trial.trial_id)
            for trial in expand(plan, variants, Selection())
        ]

    def result(self, trial_id: str) -> tuple[str, list[str]] | None:
        """(status, reasons) of a trial, running the plan first if it has not run."""
        if self._outcome is None:
            self._run()
        assert self._outcome is not None
        return self._outcome.get(trial_id)

    def skip_reason(self) -> str:
        """Why a trial has no result (its target was skipped, most often)."""
        return "; ".join(self._notices) or "the trial did not run"

    def _run(self) -> None:
        from evalkit.engine.plan import Selection
        from evalkit.engine.session import RunSettings, execute
        from evalkit.store import queries
        from evalkit.store.db import Store
        from evalkit.store.reruns import trial_statuses

        assert self._root is not None
        wanted = frozenset(
            item.name
            for item in self.session.items
            if isinstance(item, TrialItem) and item.parent is self
        )
        settings = RunSettings(
            selection=Selection(trial_ids=wanted),
            labels={"runner": "pytest"},
            command=f"pytest --evalkit {self.name}",
        )
        with Store.open(_db_path(self.config, self._root)) as store:
            outcome = execute(self._plan, store, settings, notify=self._notices.append)
            statuses = trial_statuses(store.con, outcome.run_id)
            failing, _ = queries.failure_rows(store.con, outcome.run_id)
        self.run_id = outcome.run_id
        reasons = {row["trial_id"]: _reasons(row) for row in failing}
        self._outcome = {t: (s, reasons.get(t, [])) for t, s in statuses.items()}


class TrialItem(pytest.Item):
    """One trial: passes, fails with its grades' reasons, or is skipped."""

    def __init__(self, *, trial_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trial_id = trial_id

    def runtest(self) -> None:
        """Fetch the trial's result (the plan runs once, for all items)."""
        parent = self.parent
        assert isinstance(parent, PlanCollector)
        found = parent.result(self.trial_id)
        if found is None:
            pytest.skip(parent.skip_reason())
        status, reasons = found
        if status == "skipped":
            pytest.skip("; ".join(reasons) or "skipped")
        if status in ("fail", "error"):
            raise TrialFailed("\n".join([f"{self.trial_id}: {status}", *reasons]))

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        """The grade reasons, not a traceback into evalkit."""
        if isinstance(excinfo.value, TrialFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        """Where the item comes from, for pytest's report."""
        return self.path, None, f"evalkit {self.trial_id}"


def _prompt_ids(prompts: list[Any]) -> list[str | None]:
    """A target's prompt variants; [None] for a target with one implicit prompt."""
    return [p.id for p in prompts] or [None]


def _reasons(row: dict[str, Any]) -> list[str]:
    lines = [f"  {reason}" for reason in row.get("reasons") or []]
    if row.get("error"):
        lines.append(f"  error ({row.get('error_kind')}): {row['error']}")
    return lines


def _db_path(config: pytest.Config, root: Path) -> Path:
    from evalkit.workspace.root import default_db_path

    given = config.getoption("evalkit_db")
    return Path(given) if given else default_db_path(root)


# -- the `evalkit` fixture ------------------------------------------------------------


@dataclass(slots=True)
class CheckResult:
    """One `evalkit.check`: the status, the combined score and every grade."""

    status: str
    score: float | None
    grades: list[Any]

    @property
    def passed(self) -> bool:
        """Whether every grade (by the case's threshold) passed."""
        return self.status == "pass"


@dataclass(slots=True)
class Recorder:
    """Every check of a session, saved at its end as one run of plan `pytest`."""

    config: pytest.Config
    results: list[Any] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def save(self) -> None:
        """Record the checks as one completed run (nothing when there were none)."""
        if not self.results:
            return
        from evalkit import __version__
        from evalkit.store.db import Store
        from evalkit.store.runs import RunInfo, RunTarget, git_info, git_user, new_run_id
        from evalkit.workspace.root import find_root

        try:
            root = find_root(self.config.rootpath)
        except WorkspaceError:
            root = self.config.rootpath
        run_id = new_run_id(self.started)
        sha, branch, dirty = git_info(root)
        cases = list({r.case.id + r.case.suite: r.case for r in self.results}.values())
        info = RunInfo(
            run_id=run_id,
            plan="pytest",
            plan_path=None,
            started_at=self.started,
            git_sha=sha,
            git_branch=branch,
            git_dirty=dirty,
            config_hash="sha256:" + "0" * 64,
            suite_hashes={},
            evalkit_version=__version__,
            labels={"runner": "pytest"},
            created_by=git_user(root),
            hostname=socket.gethostname(),
            command="pytest " + " ".join(self.config.invocation_params.args),
            settings={},
            trials_planned=len(self.results),
        )
        by_status: dict[str, int] = {}
        with Store.open(_db_path(self.config, root)) as store:
            store.start_run(info, [RunTarget("pytest", None, "python")], cases)
            writer = store.writer(run_id)
            for result in self.results:
                result.run_id = run_id
                writer.put(result)
                by_status[str(result.status)] = by_status.get(str(result.status), 0) + 1
            writer.close()
            summary = {"finished": len(self.results), "by_status": by_status}
            store.finish_run(run_id, "completed", summary)


class Evalkit:
    """The `evalkit` fixture: grade an output with evalkit's graders inside a test."""

    def __init__(self, request: pytest.FixtureRequest, recorder: Recorder) -> None:
        self._node = request.node
        self._recorder = recorder
        self._count = 0

    def check(
        self,
        output: Any,
        graders: list[str | dict[str, Any]],
        *,
        vars: dict[str, Any] | None = None,
        expected: Any = None,
        context: list[str] | None = None,
        threshold: float | None = None,
        name: str | None = None,
    ) -> CheckResult:
        """Grade `output` (text, or data that is graded as JSON); fail the test unless it passes."""
        from evalkit.graders.aggregate import bind_case, grade_output
        from evalkit.records import Case, Status, TargetOutput, TrialResult
        from evalkit.workspace.models import GraderSpec
        from evalkit.workspace.suite import grader_config

        self._count += 1
        suite = Path(str(self._node.path)).stem
        case_id = name or (
            self._node.name if self._count == 1 else f"{self._node.name}-{self._count}"
        )
        where = f"{self._node.nodeid}"
        specs = [GraderSpec(type=g) if isinstance(g, str) else GraderSpec(**g) for g in graders]
        case = Case(
            suite=suite,
            id=_safe(case_id),
            vars=dict(vars or {}),
            expected=expected,
            context=list(context or []),
            graders=[grader_config(spec, where) for spec in specs],
            threshold=threshold,
            location=where,
        )
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
        produced = TargetOutput(text=text, data=None if isinstance(output, str) else output)
        started = time.time()
        grades, status, score = asyncio.run(grade_output(bind_case(case), case, produced))
        self._recorder.results.append(
            TrialResult(
                run_id="",
                trial_id=f"{suite}/{case.id}@pytest#0",
                case=case,
                target_id="pytest",
                prompt_id=None,
                epoch=0,
                output=produced,
                grades=grades,
                status=status,
                score=score,
                started_at=started,
                finished_at=time.time(),
            )
        )
        result = CheckResult(str(status), score, grades)
        if status != Status.PASS:
            failing = [f"  {g.metric}: {g.reason or g.status}" for g in grades if not g.passed]
            raise AssertionError("\n".join([f"evalkit check {status}:", *failing]))
        return result


def _safe(text: str) -> str:
    """A test name (`test_x[param]`) as a safe case id."""
    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", text).strip("-.:")[:128] or "check"


@pytest.fixture
def evalkit(request: pytest.FixtureRequest) -> Iterator[Evalkit]:
    """Grade outputs with evalkit's graders: `evalkit.check(output, graders=[...])`."""
    yield Evalkit(request, request.config.stash[_RECORDER])
