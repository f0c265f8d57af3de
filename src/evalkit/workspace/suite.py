"""Suite files -> `LoadedSuite`: validated, defaults merged, ids derived, content hashed.

Every problem in a suite (and in the case files it reads) is collected and raised as
one SpecError, so a user fixes a whole file in one pass instead of one error per run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalkit.errors import GraderError, Location, SpecError, WorkspaceError
from evalkit.graders.base import bind, registry
from evalkit.records import (
    Case,
    GraderConfig,
    Message,
    SimulatedUser,
    ToolResultRule,
    Turn,
    conversation_json,
)
from evalkit.workspace.casefiles import read_case_file, table_rows
from evalkit.workspace.datasets import HF_PREFIX, read_dataset
from evalkit.workspace.identity import id_problem, sha256_of
from evalkit.workspace.loaded import LoadedSuite
from evalkit.workspace.models import CasesFromSpec, CaseSpec, GraderSpec, SuiteSpec, TurnSpec
from evalkit.workspace.root import inside
from evalkit.workspace.validation import Problem, field_path, validation_problems
from evalkit.workspace.yamlfile import YamlDocument, YamlPath, load_yaml, source_label

NEGATION = "not-"
DERIVED_ID_PREFIX = "case-"
DERIVED_ID_HEX = 10

Locate = Callable[[YamlPath], Location]


def load_suite(path: Path, root: Path) -> LoadedSuite:
    """Load one suite file; raises SpecError listing every problem with file:line:col."""
    doc = load_yaml(path, source_label(path, root))
    spec = validate_document(doc, SuiteSpec, "a suite: a mapping with `name:` and `cases:`")
    return _SuiteLoader(spec, doc, path, root).load()


def validate_document(doc: YamlDocument, model: type[Any], shape: str) -> Any:
    """Validate a whole document with `model`, or raise a SpecError with every problem."""
    if not isinstance(doc.data, dict):
        found = "an empty file" if doc.data is None else "a single value or a list"
        raise SpecError.single(doc.location(()), "", f"expected {shape}, found {found}")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, model, doc.location)) from None


def grader_config(spec: GraderSpec, where: str) -> GraderConfig:
    """A YAML grader -> the engine's GraderConfig (`not-x` becomes x, negated)."""
    name, negate = spec.type, False
    if name.startswith(NEGATION):
        name, negate = name[len(NEGATION) :], True
    args = dict(spec.model_extra or {})
    if spec.value is None and "value" in spec.model_fields_set:
        args["value"] = None  # `value: null` is JSON null, not "use the case's expected"
    return GraderConfig(
        name=name,
        args=args,
        value=spec.value,
        negate=negate,
        weight=float(spec.weight),
        threshold=None if spec.threshold is None else float(spec.threshold),
        metric=spec.metric,
        location=where,
    )


def derived_case_id(spec: CaseSpec) -> str:
    """An id from what the case asks and expects, so reordering cases keeps it stable.

    Only the case's own inputs count: editing suite defaults or graders must not rename
    every case and cut it off from its history.
    """
    digest = sha256_of(
        {
            "vars": spec.vars,
            "messages": _messages_json(spec),
            "expected": spec.expected,
            "context": _context(spec),
            # only when given, so the ids of one-shot cases did not change
            **({"turns": [_turn_text(t) for t in spec.turns]} if spec.turns else {}),
            **({"user": spec.user.model_dump(mode="json")} if spec.user else {}),
        }
    )
    return DERIVED_ID_PREFIX + digest.split(":", 1)[1][:DERIVED_ID_HEX]


def case_hash(case: Case) -> str:
    """`sha256:` over everything about a case that affects how a trial is graded."""
    return sha256_of(
        {
            "suite": case.suite,
            "id": case.id,
            "vars": case.vars,
            "messages": [[m.role, m.content] for m in case.messages or []],
            "has_messages": case.messages is not None,
            "expected": case.expected,
            "context": case.context,
            "graders": [g.as_json(location=False) for g in case.graders],
            "threshold": case.threshold,
            **conversation_json(case),
        }
    )


def _turn_text(turn: str | TurnSpec) -> str:
    return turn if isinstance(turn, str) else turn.content


def suite_hash(name: str, version: str | None, cases: list[Case]) -> str:
    """`sha256:` over the suite's name, version and its case hashes in order."""
    return sha256_of({"name": name, "version": version, "cases": [c.content_hash for c in cases]})


def _messages_json(spec: CaseSpec) -> list[list[str]] | None:
    if spec.messages is None:
        return None
    return [[m.role, m.content] for m in spec.messages]


def _context(spec: CaseSpec) -> list[str]:
    if spec.context is None:
        return []
    return [spec.context] if isinstance(spec.context, str) else list(spec.context)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class _SuiteLoader:
    """Resolves one validated suite, collecting problems instead of stopping at the first."""

    def __init__(self, spec: SuiteSpec, doc: YamlDocument, path: Path, root: Path) -> None:
        self.spec = spec
        self.doc = doc
        self.path = path
        self.root = root
        self.problems: list[Problem] = []
        self.cases: list[Case] = []
        self.first_seen: dict[str, str] = {}  # case id -> where it was first defined

    def load(self) -> LoadedSuite:
        spec = self.spec
        if problem := id_problem("suite name", spec.name):
            self.problems.append((self.doc.location(("name",)), "name", problem))
        self.check_threshold(spec.defaults.threshold, ("defaults", "threshold"), self.doc.location)
        defaults = [
            self.grader(g, ("defaults", "graders", j), self.doc.location)
            for j, g in enumerate(spec.defaults.graders)
        ]
        for i, case in enumerate(spec.cases):
            if not case.skip:
                self.add(case, defaults, ("cases", i), self.doc.location)
        for k, entry in enumerate(spec.cases_from):
            self.add_file(entry, ("cases_from", k), defaults)
        if self.problems:
            raise SpecError(self.problems)
        return LoadedSuite(
            name=spec.name,
            path=self.path,
            cases=self.cases,
            content_hash=suite_hash(spec.name, spec.version, self.cases),
            description=spec.description,
            version=spec.version,
            tags=list(spec.tags),
        )

    def grader(self, spec: GraderSpec, path: YamlPath, locate: Locate) -> GraderConfig:
        """Convert and check one grader; a problem is recorded at its location if it is bad."""
        where = locate(path)
        config = grader_config(spec, str(where))
        if config.weight < 0:
            self.problems.append(
                (locate((*path, "weight")), field_path(path), "weight must be 0 or more")
            )
        definition = registry().get(config.name)
        if definition is None or (definition.threshold_field is None and definition.uses_threshold):
            # levenshtein's threshold is a maximum edit distance, checked by the grader; the
            # promptfoo pass/fail graders ignore it, as promptfoo does
            self.check_threshold(spec.threshold, (*path, "threshold"), locate)
        try:
            bind(config)
        except GraderError as exc:
            message = exc.message.removeprefix(f"{where} ")
            if exc.hint and "did you mean" not in message:
                message = f"{message} ({exc.hint})"
            self.problems.append((where, field_path(path), message))
        return config

    def check_threshold(self, value: float | None, path: YamlPath, locate: Locate) -> None:
        if value is not None and not 0.0 <= value <= 1.0:
            self.problems.append(
                (locate(path), field_path(path), f"threshold must be between 0 and 1, got {value}")
            )

    def add(
        self, spec: CaseSpec, defaults: list[GraderConfig], path: YamlPath, locate: Locate
    ) -> None:
        """Resolve one case (YAML or a file row) and append it."""
        suite = self.spec
        where = str(locate(path))
        own = [self.grader(g, (*path, "graders", j), locate) for j, g in enumerate(spec.graders)]
        self.check_threshold(spec.threshold, (*path, "threshold"), locate)
        threshold = spec.threshold if spec.threshold is not None else suite.defaults.threshold
        metadata = dict(spec.metadata)
        if spec.description is not None:
            metadata.setdefault("description", spec.description)
        turns = None
        if spec.turns is not None:
            turns = [self.turn(t, (*path, "turns", k), locate) for k, t in enumerate(spec.turns)]
            if not turns:
                self.problems.append(
                    (locate((*path, "turns")), field_path((*path, "turns")), "turns is empty")
                )
        if spec.turns is not None and spec.user is not None:
            self.problems.append(
                (
                    locate((*path, "user")),
                    field_path((*path, "user")),
                    "give `turns:` (scripted) or `user:` (simulated), not both",
                )
            )
        case = Case(
            suite=suite.name,
            id=self.case_id(spec, path, locate),
            vars={**suite.defaults.vars, **spec.vars},
            messages=(
                None
                if spec.messages is None
                else [Message(m.role, m.content) for m in spec.messages]
            ),
            expected=spec.expected,
            context=_context(spec),
            tags=_unique([*suite.defaults.tags, *suite.tags, *spec.tags]),
            metadata=metadata,
            graders=[dataclasses.replace(g) for g in defaults] + own,
            cluster=spec.cluster,
            threshold=None if threshold is None else float(threshold),
            turns=turns,
            user=None if spec.user is None else self.simulated_user(spec, path, locate),
            tool_results=[ToolResultRule(**r.model_dump()) for r in spec.tool_results],
            max_steps=spec.max_steps,
            location=where,
        )
        case.content_hash = case_hash(case)
        self.cases.append(case)

    def simulated_user(self, spec: CaseSpec, path: YamlPath, locate: Locate) -> SimulatedUser:
        """The case's `user:`, its `stop_when` grader checked like any other."""
        user = spec.user
        assert user is not None
        stop: str | GraderConfig | None = None
        if isinstance(user.stop_when, GraderSpec):
            stop = self.grader(user.stop_when, (*path, "user", "stop_when"), locate)
        else:
            stop = user.stop_when
        return SimulatedUser(
            persona=user.persona,
            goal=user.goal,
            max_turns=user.max_turns,
            stop_when=stop,
            first=user.first,
        )

    def turn(self, spec: str | TurnSpec, path: YamlPath, locate: Locate) -> Turn:
        """One user turn with its own graders (checked like a case's)."""
        if isinstance(spec, str):
            return Turn(spec)
        graders = [
            self.grader(g, (*path, "graders", j), locate) for j, g in enumerate(spec.graders)
        ]
        return Turn(spec.content, graders)

    def case_id(self, spec: CaseSpec, path: YamlPath, locate: Locate) -> str:
        """The given id (checked) or one derived from the content; duplicates are problems."""
        where = locate((*path, "id")) if spec.id is not None else locate(path)
        if spec.id is not None:
            case_id = spec.id
            if problem := id_problem("case id", case_id):
                self.problems.append((where, field_path((*path, "id")), problem))
        else:
            case_id = derived_case_id(spec)
        first = self.first_seen.get(case_id)
        if first is None:
            self.first_seen[case_id] = str(where)
        elif spec.id is not None:
            self.problems.append(
                (
                    where,
                    field_path((*path, "id")),
                    f"duplicate case id '{case_id}' (first at {first})",
                )
            )
        else:
            self.problems.append(
                (
                    where,
                    field_path(path),
                    f"this case has the same content as the one at {first}, so the same "
                    f"derived id '{case_id}'; remove one, or give them distinct `id:`s",
                )
            )
        return case_id

    def add_file(
        self, entry: str | CasesFromSpec, path: YamlPath, defaults: list[GraderConfig]
    ) -> None:
        """Read a `cases_from` file beside the suite and add its rows as cases."""
        spec = entry if isinstance(entry, CasesFromSpec) else CasesFromSpec(path=entry)
        entry_path = path if isinstance(entry, str) else (*path, "path")
        if spec.path.startswith(HF_PREFIX):  # a dataset in the local Hugging Face cache
            self.add_rows(spec, path, defaults, spec.path, None)
            return
        try:
            file = inside(self.root, spec.path, base=self.path.parent, what="cases_from file")
        except WorkspaceError as exc:
            self.problems.append(
                (self.doc.location(entry_path, value=True), field_path(path), exc.message)
            )
            return
        if not file.exists():  # a file, or a folder holding a saved dataset
            self.problems.append(
                (
                    self.doc.location(entry_path, value=True),
                    field_path(path),
                    f"case file '{spec.path}' not found at {source_label(file, self.root)}",
                )
            )
            return
        self.add_rows(spec, path, defaults, source_label(file, self.root), file)

    def add_rows(
        self,
        spec: CasesFromSpec,
        path: YamlPath,
        defaults: list[GraderConfig],
        source: str,
        file: Path | None,
    ) -> None:
        """Add the rows of a case file (or, with no file, of an `hf://` dataset) as cases."""
        try:
            map_at = (self.doc.location((*path, "map")), field_path((*path, "map")))
            if file is None:
                rows = table_rows(read_dataset(source, source), source, spec.map, map_at)
            else:
                rows = read_case_file(file, source, spec.map, map_at)
        except SpecError as exc:
            self.problems.extend(exc.problems)
            return
        for row in rows:
            line = row.line

            def at_row(_: YamlPath, line: int = line) -> Location:
                return Location(source, line)

            try:
                case = CaseSpec.model_validate(row.data)
            except ValidationError as exc:
                self.problems.extend(validation_problems(exc, row.data, CaseSpec, at_row))
                continue
            self.add(case, defaults, (), at_row)
