"""Append cases to a suite file (or create it), keeping the user's comments and layout.

New cases go in as YAML text after the last line of the `cases:` list, found from the
parser's node positions, so nothing the user wrote moves. The result is checked twice
before it replaces the file: its data must be the old data plus exactly the new cases,
and evalkit's own loader must load it. The file is replaced atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import ConfigError, EvalkitError, SpecError, UsageError
from evalkit.feedback import yamlemit
from evalkit.records import Case
from evalkit.workspace.identity import SAFE_ID_RULE, id_problem
from evalkit.workspace.suite import load_suite
from evalkit.workspace.yamlfile import parse_yaml, source_label

_COMMENT = re.compile(r"^\s*#")


@dataclass(slots=True)
class SuiteFile:
    """A suite file about to get new cases: what it holds now (nothing, if it is new)."""

    path: Path
    root: Path
    label: str  # as messages name it (workspace-relative)
    text: str | None = None  # None: the file does not exist yet
    data: dict[str, Any] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)  # loaded (defaults merged, files read)

    @property
    def exists(self) -> bool:
        """Whether the file is there already."""
        return self.text is not None

    @property
    def name(self) -> str:
        """The suite's name: written in the file, else the file's stem."""
        return str(self.data.get("name") or self.path.stem)

    def ids(self) -> set[str]:
        """Every case id in the suite now."""
        return {case.id for case in self.cases}

    def default_vars(self) -> dict[str, Any]:
        """`defaults.vars`, which the loader merges under every case's own vars."""
        defaults = self.data.get("defaults")
        found = defaults.get("vars") if isinstance(defaults, dict) else None
        return dict(found) if isinstance(found, dict) else {}


def open_suite(path: Path, root: Path) -> SuiteFile:
    """Read the suite at `path` (it must load cleanly), or describe a new one."""
    label = source_label(path, root)
    if path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"--suite {label}: a suite file ends in .yaml or .yml")
    if not path.exists():
        if problem := id_problem("suite name", path.stem):
            raise UsageError(
                f"--suite {label}: the new suite would be named after the file, but {problem}"
            )
        return SuiteFile(path, root, label)
    loaded = load_suite(path, root)  # a broken suite is reported as it is, before any change
    text = path.read_bytes().decode("utf-8-sig")
    data = parse_yaml(text, label).data
    return SuiteFile(path, root, label, text, data, loaded.cases)


def append_cases(suite: SuiteFile, cases: list[dict[str, Any]], header: str) -> None:
    """Write `cases` (YAML-shaped dicts with ids) into the suite; `header` heads a new file."""
    if not cases:
        return
    if suite.text is None:
        text = header + yamlemit.document({"name": suite.name, "cases": cases})
    else:
        text = _inserted(suite, cases)
    _check_data(suite, text, cases)
    _replace(suite, text)


def new_id(prefix: str, content_hash: str, taken: set[str]) -> str:
    """`prefix-<hex>` from a content hash, lengthened until no case in `taken` has it."""
    digest = content_hash.split(":", 1)[-1]
    for length in range(10, len(digest) + 1, 2):
        candidate = f"{prefix}-{digest[:length]}"
        if candidate not in taken:
            return candidate
    raise EvalkitError(f"no free case id for {content_hash} ({SAFE_ID_RULE})")


def _inserted(suite: SuiteFile, cases: list[dict[str, Any]]) -> str:
    """The suite's text with `cases` added to its `cases:` list."""
    text = suite.text or ""
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text.replace("\r\n", "\n"), Loader=yaml.SafeLoader)
    lines = text.replace("\r\n", "\n").split("\n")
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise _refuse(suite, "its top level is not a block mapping (`name:` ... on lines)")
    found = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cases"]
    if not found:
        column = root.start_mark.column
        body = "".join(yamlemit.case_item(case, column + 2) for case in cases)
        kept = "\n".join(lines).rstrip("\n") + "\n"
        return _native(kept + " " * column + "cases:\n" + body, newline)
    key, value = found[0]
    if isinstance(value, yaml.SequenceNode) and not value.flow_style:
        column = value.start_mark.column
        last = _last_line(value, lines)
        body = "".join(yamlemit.case_item(case, column) for case in cases).rstrip("\n")
        lines.insert(last + 1, body)
        return _native("\n".join(lines), newline)
    # (`cases: null` never gets here: the suite would not have loaded.)
    empty_flow = isinstance(value, yaml.SequenceNode) and not value.value
    if not empty_flow or value.end_mark.line != key.start_mark.line:
        raise _refuse(
            suite,
            "`cases:` is written in flow style ([...]); write it as a block list, one `- ` "
            "item per case",
        )
    # `cases: []`: the list starts on the next line, a comment after it stays.
    line = lines[key.start_mark.line]
    rest = line[value.end_mark.column :].strip()
    head = line[: value.start_mark.column].rstrip()
    column = key.start_mark.column + 2
    body = "".join(yamlemit.case_item(case, column) for case in cases).rstrip("\n")
    lines[key.start_mark.line] = head + (f"  {rest}" if rest.startswith("#") else "")
    lines.insert(key.start_mark.line + 1, body)
    return _native("\n".join(lines), newline)


def _last_line(node: yaml.Node, lines: list[str]) -> int:
    """The 0-based last line of a block list, with the comments indented inside it."""
    last = _end_line(node)
    column = node.start_mark.column
    for number in range(last + 1, len(lines)):
        line = lines[number]
        if not line.strip():
            continue
        if not _COMMENT.match(line):
            break
        if len(line) - len(line.lstrip(" ")) >= column:
            last = number  # e.g. a commented-out case at the end of the list
    return last


def _end_line(node: yaml.Node) -> int:
    """The last line a node's own text is on (block scalars' ends point past them)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style:
        return max(_end_line(part) for pair in node.value for part in pair)
    if isinstance(node, yaml.SequenceNode) and not node.flow_style:
        return max(_end_line(item) for item in node.value)
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _native(text: str, newline: str) -> str:
    return text if newline == "\n" else text.replace("\n", newline)


def _refuse(suite: SuiteFile, why: str) -> ConfigError:
    return ConfigError(
        f"{suite.label}: cannot add cases: {why}",
        hint="change it by hand, or pass another --suite",
    )


def _check_data(suite: SuiteFile, text: str, cases: list[dict[str, Any]]) -> None:
    """The new text must hold the old data plus exactly the new cases, as written."""
    try:
        data = parse_yaml(text, suite.label).data
    except SpecError as exc:
        raise _internal(suite, exc.message) from None
    old = dict(suite.data)
    old_cases = old.pop("cases", None) or []
    new = dict(data)
    new_cases = new.pop("cases", None) or []
    if suite.exists and new != old:
        raise _internal(suite, "the suite's other keys would change")
    if new_cases[: len(old_cases)] != old_cases or new_cases[len(old_cases) :] != cases:
        raise _internal(suite, "the cases would not read back exactly as written")


def _replace(suite: SuiteFile, text: str) -> None:
    """Write beside the suite, load it with evalkit's loader, then swap it in."""
    path = suite.path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp_path = Path(temp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(temp_path, mode)
        try:
            load_suite(temp_path, suite.root)
        except SpecError as exc:
            shown = exc.message.replace(source_label(temp_path, suite.root), suite.label)
            raise _internal(suite, shown) from None
        _unchanged_since_read(suite)
        os.replace(temp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()


def _unchanged_since_read(suite: SuiteFile) -> None:
    """Refuse to overwrite edits made (in an editor, say) while the cases were prepared."""
    try:
        now: str | None = suite.path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        now = None
    if now != suite.text:
        raise ConfigError(
            f"{suite.label} changed while the cases were being prepared; nothing was written",
            hint="run the command again",
        )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _internal(suite: SuiteFile, why: str) -> EvalkitError:
    return EvalkitError(
        f"{suite.label}: the suite would not load after adding the cases, so it was left "
        f"unchanged: {why}",
        hint="if the problem is in a case evalkit wrote, please report it with the suite file",
    )
