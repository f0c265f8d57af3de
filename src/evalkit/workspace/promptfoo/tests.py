"""promptfoo `tests:` and `defaultTest` -> evalkit cases and suite defaults.

Tests come inline, from CSV/JSON/JSONL/YAML files, or from globs of them. A var whose
value is a list makes one case per value (promptfoo's expansion); a `file://` var is
read as text. CSV columns `__expected[N]`, `__description`, `__metadata:KEY[[]]` and
`__threshold` mean what they mean in promptfoo.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.workspace.csvtext import csv_rows
from evalkit.workspace.promptfoo.asserts import RENAMED, WHY, convert_assert, known_graders
from evalkit.workspace.promptfoo.model import Context, Source, file_ref, slug, unique
from evalkit.workspace.yamlfile import YamlPath, load_yaml

_TEST_KEYS = {"description", "vars", "assert", "threshold", "metadata", "options"}
_EXPECTED = re.compile(r"^(not-)?([a-z][a-z0-9-]*)(?:\((\d*\.?\d+)\))?:(.*)$", re.S)


class TestConverter:
    """Collects cases from every test source, applying `defaultTest` where evalkit can."""

    __test__ = False  # not a pytest class, whatever its name says

    def __init__(self, ctx: Context, templates: dict[str, Any]) -> None:
        self.ctx = ctx
        self.templates = templates
        self.cases: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.default_metadata: dict[str, Any] = {}
        self.default_transform: str | None = None

    def defaults(self, raw: Any, source: Source) -> dict[str, Any]:
        """`defaultTest` as suite defaults (graders, vars, threshold)."""
        path: YamlPath = ("defaultTest",)
        reference = file_ref(raw)
        if reference is not None:
            raw, source, path = self._load_one(self.ctx.base / reference, source, path)
        if not isinstance(raw, dict):
            return {}
        out: dict[str, Any] = {}
        for key in sorted(set(raw) - _TEST_KEYS):
            self.ctx.skip(source, (*path, key), f"defaultTest key '{key}' is not converted")
        options = raw.get("options") or {}
        self.default_transform = options.get("transform")
        self._options(options, source, (*path, "options"))
        graders = self._graders(raw.get("assert"), source, (*path, "assert"), None)
        if graders:
            out["graders"] = graders
        if isinstance(raw.get("vars"), dict):
            out["vars"] = {
                k: self._var(v, source, (*path, "vars", k)) for k, v in raw["vars"].items()
            }
        if "threshold" in raw:
            out["threshold"] = raw["threshold"]
        self.default_metadata = dict(raw.get("metadata") or {})
        return out

    def add(self, raw: Any, source: Source) -> None:
        """Every test `tests:` names (inline list, files, globs)."""
        if raw is None:
            return
        items = raw if isinstance(raw, list) else [raw]
        for i, item in enumerate(items):
            path: YamlPath = ("tests", i) if isinstance(raw, list) else ("tests",)
            if isinstance(item, str):
                self._from_files(item, source, path)
            elif isinstance(item, dict) and not {"path", "generator", "config"} & set(item):
                self.test(item, source, path)
            else:
                self.ctx.skip(
                    source,
                    path,
                    "this kind of test source (generators, datasets, "
                    "path mappings) is not converted",
                )

    def test(self, raw: dict[str, Any], source: Source, path: YamlPath) -> None:
        """One promptfoo test -> one evalkit case (or one per value of a list var)."""
        for key in sorted(set(raw) - _TEST_KEYS):
            self.ctx.skip(source, (*path, key), f"test key '{key}' is not converted")
        options = raw.get("options") or {}
        self._options(options, source, (*path, "options"))
        transform = options.get("transform", self.default_transform)
        graders = self._graders(raw.get("assert"), source, (*path, "assert"), transform)
        variables = raw.get("vars") or {}
        reference = file_ref(variables)
        if reference is not None:
            variables, _, _ = self._load_one(self.ctx.base / reference, source, (*path, "vars"))
        if not isinstance(variables, dict):
            self.ctx.skip(source, (*path, "vars"), "vars should be a mapping")
            variables = {}
        values = {k: self._var(v, source, (*path, "vars", k)) for k, v in variables.items()}
        description = raw.get("description")
        metadata = {**self.default_metadata, **(raw.get("metadata") or {})}
        for combination in _expand(values):
            case: dict[str, Any] = {}
            label = description or next((str(v) for v in combination.values()), "")
            case["id"] = unique(slug(str(label)[:40], "test"), self.ids)
            if description:
                case["description"] = description
            case["vars"] = combination
            if graders:
                case["graders"] = graders
            if "threshold" in raw:
                case["threshold"] = raw["threshold"]
            if metadata:
                case["metadata"] = metadata
            self.cases.append(case)

    def _options(self, options: Any, source: Source, path: YamlPath) -> None:
        if not isinstance(options, dict):
            return
        for key in sorted(set(options) - {"transform"}):
            self.ctx.skip(source, (*path, key), f"test option '{key}' is not converted")

    def _graders(
        self, raw: Any, source: Source, path: YamlPath, transform: str | None
    ) -> list[dict[str, Any]]:
        graders: list[dict[str, Any]] = []
        for j, item in enumerate(raw or []):
            # JSON.parse(output) is what evalkit's JSON graders do by themselves
            parse_only = transform is None or transform.strip() == "JSON.parse(output)"
            if not parse_only and isinstance(item, dict) and "transform" not in item:
                item = {**item, "transform": transform}
            grader = convert_assert(item, self.ctx, source, (*path, j), self.templates)
            if grader is not None:
                graders.append(grader)
        return graders

    def _var(self, value: Any, source: Source, path: YamlPath) -> Any:
        reference = file_ref(value)
        if reference is None:
            return value
        file = self.ctx.base / reference
        if file.is_file() and file.suffix.lower() not in (".py", ".js"):
            return file.read_text(encoding="utf-8")
        self.ctx.skip(source, path, f"var file {self.ctx.label(file)} is missing or is code")
        return value

    def _from_files(self, text: str, source: Source, path: YamlPath) -> None:
        relative = file_ref(text) or text
        if relative.startswith(("huggingface://", "http://", "https://")):
            self.ctx.skip(source, path, f"remote test source '{relative}' is not converted")
            return
        files = (
            sorted(self.ctx.base.glob(relative))
            if any(c in relative for c in "*?[")
            else [self.ctx.base / relative]
        )
        if not files:
            self.ctx.skip(source, path, f"'{relative}' matches no file")
        for file in files:
            if not file.is_file():
                self.ctx.skip(source, path, f"test file {self.ctx.label(file)} not found")
            elif file.suffix.lower() == ".csv":
                self._csv(file)
            elif file.suffix.lower() in (".py", ".js", ".ts"):
                self.ctx.skip(source, path, f"test generator {self.ctx.label(file)} is code")
            else:
                data, inner, base = self._load_one(file, source, path)
                items = data if isinstance(data, list) else [data]
                for k, item in enumerate(items):
                    where = (*base, k) if isinstance(data, list) else base
                    if isinstance(item, dict):
                        self.test(item, inner, where)
                    else:
                        self.ctx.skip(inner, where, "a test should be a mapping")

    def _load_one(self, file: Path, source: Source, path: YamlPath) -> tuple[Any, Source, YamlPath]:
        """A YAML/JSON(L) file's data, and how to name places in it."""
        label = self.ctx.label(file)
        suffix = file.suffix.lower()
        try:
            if suffix in (".yaml", ".yml"):
                doc = load_yaml(file, label)
                return doc.data, Source.of_yaml(doc), ()
            text = file.read_text(encoding="utf-8")
            if suffix == ".jsonl":
                return (
                    [json.loads(x) for x in text.splitlines() if x.strip()],
                    Source.whole(label),
                    (),
                )
            return json.loads(text), Source.whole(label), ()
        except (OSError, ValueError, EvalkitError) as exc:
            self.ctx.skip(source, path, f"cannot read {label}: {exc}")
            return None, source, path

    def _csv(self, file: Path) -> None:
        label = self.ctx.label(file)
        reader = csv_rows(io.StringIO(file.read_text(encoding="utf-8-sig")))
        rows = list(reader)
        if not rows:
            return
        header = rows[0]
        for number, row in enumerate(rows[1:], 2):
            source = Source.whole(label, number)
            test: dict[str, Any] = {"vars": {}, "assert": []}
            metadata: dict[str, Any] = {}
            for column, cell in zip(header, row, strict=False):
                if column.startswith("__expected"):
                    if cell.strip():
                        test["assert"].append(expected_assertion(cell))
                elif column == "__description":
                    test["description"] = cell
                elif column == "__threshold":
                    test["threshold"] = float(cell)
                elif column.startswith("__metadata:"):
                    key = column.removeprefix("__metadata:")
                    if key.endswith("[]"):
                        parts = re.split(r"(?<!\\),", cell)
                        metadata[key[:-2]] = [p.replace("\\,", ",").strip() for p in parts if p]
                    else:
                        metadata[key] = cell
                elif column.startswith("__"):
                    self.ctx.skip(source, (column,), f"CSV column '{column}' is not converted")
                else:
                    test["vars"][column] = cell
            if metadata:
                test["metadata"] = metadata
            self.test(test, source, ())


def expected_assertion(cell: str) -> dict[str, Any]:
    """A CSV `__expected` cell (`icontains: x`, `llm-rubric: ...`, or a plain answer)."""
    found = _EXPECTED.match(cell.strip())
    known = known_graders() | set(RENAMED) | set(WHY) | {"fn", "python"}
    if not found or found[2] not in known:
        return {"type": "equals", "value": cell}
    kind = {"fn": "javascript", "eval": "javascript", "grade": "llm-rubric"}.get(found[2], found[2])
    assertion: dict[str, Any] = {"type": f"{found[1] or ''}{kind}", "value": found[4].strip()}
    if found[3]:
        assertion["threshold"] = float(found[3])
    return assertion


def _expand(values: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo runs a test once per value of each list var (the cross product)."""
    lists = {k: v for k, v in values.items() if isinstance(v, list)}
    if not lists:
        return [values]
    keys = list(lists)
    return [
        {**values, **dict(zip(keys, combination, strict=True))}
        for combination in itertools.product(*(lists[k] for k in keys))
    ]
