"""Production log records -> new suite cases: mapped, scrubbed, validated, de-duplicated.

`plan_import` decides everything without writing; the CLI then writes the suite and
records the import, so `--dry-run` shows exactly what a real import would add.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalkit.errors import Location, SpecError
from evalkit.feedback.identity import HASH_KEY, content_hash, known_hashes
from evalkit.feedback.logs import LogFile, LogRecord
from evalkit.feedback.mapping import FieldMap, Missing, build_case
from evalkit.feedback.scrub import KINDS, scrub_value
from evalkit.feedback.suite_writer import SuiteFile, new_id
from evalkit.workspace.identity import id_problem
from evalkit.workspace.models import CaseSpec
from evalkit.workspace.validation import validation_problems

ID_PREFIX = "imp"
_SURROGATE = re.compile("[\ud800-\udfff]")
# The order a person reads a case in.
_ORDER = ("id", "description", "vars", "messages", "expected", "context", "tags", "cluster")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to turn records into cases."""

    fields: FieldMap
    scrub: bool = False
    tags: tuple[str, ...] = ()
    limit: int | None = None  # at most this many new cases
    skip_incomplete: bool = False
    output_as_expected: bool = False


@dataclass(slots=True)
class ImportPlan:
    """What an import adds and skips; nothing is written yet."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    records_read: int = 0
    duplicates: int = 0
    incomplete: int = 0
    incomplete_at: list[str] = field(default_factory=list)  # where the first few are
    scrubbed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


def plan_import(log: LogFile, suite: SuiteFile, options: ImportOptions) -> ImportPlan:
    """Read every record of `log` and decide which become new cases of `suite`."""
    _check_columns(log, options.fields)
    plan = ImportPlan()
    known = known_hashes(suite.cases)
    taken = suite.ids()
    defaults = suite.default_vars()
    for record in log.records():
        if options.limit is not None and len(plan.cases) >= options.limit:
            break
        plan.records_read += 1
        counts: Counter[str] = Counter()
        case = _case(log, record, options, counts, plan)
        if case is None:
            continue
        variables = {**defaults, **case["vars"]}
        digest = content_hash(variables, case.get("messages"), case.get("expected"))
        if digest in known:
            plan.duplicates += 1
            continue
        known.add(digest)
        case["id"] = _id(log, record, case, digest, taken)
        taken.add(case["id"])
        provenance: dict[str, Any] = {"file": Path(log.source).name, "line": record.line}
        if record.row is not None:
            provenance["row"] = record.row
        case["metadata"] = {**case.get("metadata", {}), HASH_KEY: digest}
        case["metadata"]["imported_from"] = provenance
        plan.cases.append(_ordered(case))
        for kind, n in counts.items():
            plan.scrubbed[kind] += n
    return plan


def _case(
    log: LogFile,
    record: LogRecord,
    options: ImportOptions,
    counts: Counter[str],
    plan: ImportPlan,
) -> dict[str, Any] | None:
    """One record as a checked case, or None when it is incomplete and may be skipped."""
    where = Location(log.source, record.line)
    row = f"row {record.row}" if record.row is not None else ""
    try:
        case = build_case(
            record.data,
            options.fields,
            from_csv=log.fmt == "csv",
            output_as_expected=options.output_as_expected,
        )
    except Missing as missing:
        if options.skip_incomplete:
            plan.incomplete += 1
            if len(plan.incomplete_at) < 5:
                plan.incomplete_at.append(record.where(log.source))
            return None
        raise SpecError.single(
            where, row, f"{missing.message}; pass --skip-incomplete to skip such records"
        ) from None
    case = dict(_whole_characters(case))
    if options.scrub:
        original_id = case.get("id")
        case = scrub_value(case, counts)
        if case.get("id") != original_id:
            del case["id"]  # an id that held personal data: a generated one replaces it
    if options.tags:
        case["tags"] = list(dict.fromkeys([*case.get("tags", []), *options.tags]))
    try:
        CaseSpec.model_validate(case)
    except ValidationError as exc:

        def locate(_: Any) -> Location:
            return where

        raise SpecError(validation_problems(exc, case, CaseSpec, locate)) from None
    return case


def _whole_characters(value: Any) -> Any:
    """JSON may carry half a UTF-16 pair (`"\\ud800"`); no UTF-8 file can hold one."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_characters(item) for key, item in value.items()}
    return value


def _id(log: LogFile, record: LogRecord, case: dict[str, Any], digest: str, taken: set[str]) -> str:
    given = case.get("id")
    if given is None:
        return new_id(ID_PREFIX, digest, taken)
    where = Location(log.source, record.line)
    if problem := id_problem("case id", given):
        raise SpecError.single(where, "id", f"{problem}; or leave `id` out of --map")
    if given in taken:
        raise SpecError.single(
            where,
            "id",
            f"case id '{given}' is already in the suite with other content; "
            "leave `id` out of --map to have ids generated",
        )
    return str(given)


def _ordered(case: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: case[key] for key in _ORDER if key in case}
    ordered["metadata"] = case["metadata"]
    return ordered


def _check_columns(log: LogFile, fields: FieldMap) -> None:
    """A mapped column missing from a CSV header is wrong for every row: say so once."""
    if log.columns is None:
        return
    missing = [source for source in fields.sources() if source not in log.columns]
    if missing:
        raise SpecError.single(
            Location(log.source, 1),
            "header",
            f"no column {', '.join(repr(m) for m in missing)} (columns: {', '.join(log.columns)})",
        )
