"""Safe YAML loading that never surprises: plain data out, every node's position kept.

PyYAML's safe loader still follows YAML 1.1, where `no` is False (the Norway problem),
`0123` is an octal number, `1:30` is 90 and `2024-01-01` is a date. Suites are domain
text, so only YAML 1.2-core-like scalars become non-strings here: `true`/`false`,
`null`/`~`/empty, and decimal numbers without leading zeros. Every other tag (above all
`!!python/...`) is refused, and hostile documents (huge files, alias bombs, deep nesting)
are refused before they are expanded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import Location, SpecError

YamlPath = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based (line, column)

MAX_BYTES = 10_000_000
MAX_ALIASES = 100
MAX_NODES = 1_000_000
MAX_DEPTH = 100

_CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = f"{_CORE}map", f"{_CORE}seq", f"{_CORE}merge"

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreResolver(_BaseLoader):  # type: ignore[misc]
    """A loader whose implicit types are the small, unsurprising set described above."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 -- PyYAML's own class attribute


_RESOLVERS: list[tuple[str, str, str]] = [
    (BOOL, r"^(?i:true|false)$", "tTfF"),
    (NULL, r"^(?:~|(?i:null)|)$", "~nN"),
    (INT, r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    (FLOAT, r"^[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?$", "-+0123456789"),
    (FLOAT, r"^[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?$", "-+."),
    (MERGE, r"^<<$", "<"),
]
for _tag, _pattern, _first in _RESOLVERS:
    _CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# The empty plain scalar (`key:` with nothing after it) is null.
_CoreResolver.add_implicit_resolver(NULL, re.compile(r"^$"), [""])


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A loaded YAML file: plain Python data plus where each node was written."""

    source: str  # the file as shown in messages (workspace-relative when possible)
    data: Any
    keys: dict[YamlPath, Position]  # where each mapping key is written
    values: dict[YamlPath, Position]  # where each value starts (sequence items, the root)

    def position(self, path: YamlPath, *, value: bool = False) -> Position | None:
        """The position of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            first, second = (self.values, self.keys) if value else (self.keys, self.values)
            found = first.get(prefix) or second.get(prefix)
            if found:
                return found
        return None

    def location(self, path: YamlPath, *, value: bool = False) -> Location:
        """A Location for `path` (its key by default, its value with value=True)."""
        found = self.position(path, value=value)
        if found is None:
            return Location(self.source)
        return Location(self.source, found[0], found[1])


def source_label(path: Path, root: Path) -> str:
    """How messages name a file: relative to the workspace root when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def load_yaml(path: Path, source: str | None = None) -> YamlDocument:
    """Read and parse one YAML file safely; `source` is how messages name the file."""
    label = source or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _error(label, None, f"file is {size:,} bytes; the limit is {MAX_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError.single(Location(label), "", f"cannot read file: {exc.strerror}") from None
    return parse_yaml(decode_utf8(raw, label), label)


def decode_utf8(raw: bytes, label: str) -> str:
    """Decode a user's file as UTF-8 (a BOM is allowed), naming the line of a bad byte."""
    if len(raw) > MAX_BYTES:
        raise _error(label, None, f"file is {len(raw):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError.single(
            Location(label, line), "", "file is not valid UTF-8; save it as UTF-8"
        ) from None


def parse_yaml(text: str, source: str = "<string>") -> YamlDocument:
    """Parse YAML text (one document) into plain data and a position index."""
    if len(text) > MAX_BYTES:
        raise _error(
            source, None, f"document is {len(text):,} characters; the limit is {MAX_BYTES:,}"
        )
    loader = _CoreResolver(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(source, exc) from None
    except yaml.YAMLError as exc:
        raise _error(source, None, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _error(source, None, "document is nested too deeply") from None
    finally:
        loader.dispose()
    builder = _Builder(source)
    if root is None:
        return YamlDocument(source, None, builder.keys, builder.values)
    if "*" in text:  # an alias is written `*name`: without one, nothing can expand
        _Measure(source).check(root)
    data = builder.build(root, ())
    return YamlDocument(source, data, builder.keys, builder.values)


def _position(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _error(source: str, node: yaml.Node | None, message: str) -> SpecError:
    if node is None:
        return SpecError.single(Location(source), "", message)
    line, column = _position(node)
    return SpecError.single(Location(source, line, column), "", message)


def _yaml_error(source: str, exc: yaml.MarkedYAMLError) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    where = Location(source, mark.line + 1, mark.column + 1) if mark else Location(source)
    problem = exc.problem or "could not parse"
    context = f" ({exc.context})" if exc.context else ""
    return SpecError.single(where, "", f"invalid YAML: {problem}{context}")


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _Measure:
    """Refuses alias bombs, cycles and deep nesting before anything is expanded.

    Aliases make the node graph a DAG: sizes (nodes, and characters of scalars) are
    memoised per node, so measuring the billion-laughs document costs a few dozen steps,
    not a billion. Characters count too: 99 aliases of one 1 MB string passed the node
    count and expanded to 100 MB, then to 10 GB once copied into every case.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sizes: dict[int, tuple[int, int]] = {}  # node -> (nodes, characters)
        self.open: set[int] = set()
        self.aliases = 0

    def check(self, root: yaml.Node) -> None:
        nodes, chars = self.size(root, 0)
        if nodes > MAX_NODES:
            raise _error(
                self.source,
                root,
                f"document expands to more than {MAX_NODES:,} nodes; "
                "aliases (*name) probably repeat a large anchor",
            )
        if chars > MAX_BYTES:
            raise _error(
                self.source,
                root,
                f"document expands to more than {MAX_BYTES:,} characters; "
                "aliases (*name) probably repeat a large anchor",
            )

    def size(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in self.open:
            raise _error(self.source, node, "an alias refers to its own anchor (a cycle)")
        if key in self.sizes:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _error(
                    self.source, node, f"too many aliases (*name): the limit is {MAX_ALIASES}"
                )
            return self.sizes[key]
        if depth > MAX_DEPTH:
            raise _error(self.source, node, f"nested more than {MAX_DEPTH} levels deep")
        self.open.add(key)
        nodes, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        else:
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else list(node.value)
            )
            for child in children:
                more_nodes, more_chars = self.size(child, depth + 1)
                nodes, chars = nodes + more_nodes, chars + more_chars
                if nodes > MAX_NODES or chars > MAX_BYTES:
                    break
        self.open.discard(key)
        self.sizes[key] = (nodes, chars)
        return nodes, chars


class _Builder:
    """Turns checked nodes into plain data, recording positions as it goes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.keys: dict[YamlPath, Position] = {}
        self.count = 0
        self.values: dict[YamlPath, Position] = {}

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self.values[path] = _position(node)
        self.count += 1
        if self.count > MAX_NODES:
            raise _error(self.source, node, f"document has more than {MAX_NODES:,} nodes")
        if len(path) > MAX_DEPTH:
            raise _error(self.source, node, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            self.require_tag(node, SEQ)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if not isinstance(node, yaml.MappingNode) or node.tag != MAP:
            raise self.refuse_tag(node)
        return self.mapping(node, path)

    def require_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise self.refuse_tag(node)

    def refuse_tag(self, node: yaml.Node) -> SpecError:
        return _error(
            self.source,
            node,
            f"YAML tag '{_short_tag(node.tag)}' is not allowed: suites and plans hold plain "
            "data (text, numbers, true/false, null, lists and mappings)",
        )

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text: str = node.value
        tag: str = node.tag
        if tag == STR:
            return text
        if tag == NULL:
            return None
        if tag == BOOL:
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise _error(self.source, node, f"'{text}' is not true or false")
            return lowered == "true"
        if tag == INT:
            try:
                return int(text)
            except ValueError:
                digits = sum(c.isdigit() for c in text)
                if digits > 1000:  # past Python's limit on converting digits to int
                    raise _error(
                        self.source,
                        node,
                        f"'{text[:12]}...' is too large a number ({digits:,} digits)",
                    ) from None
                raise _error(self.source, node, f"'{text}' is not a whole number") from None
        if tag == FLOAT:
            try:
                number = float(text)
            except ValueError:
                raise _error(self.source, node, f"'{text}' is not a number") from None
            if not math.isfinite(number):
                raise _error(self.source, node, f"'{text}' is not a finite number")
            return number
        raise self.refuse_tag(node)

    def mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                self.merge_into(merged, value_node, path)
                continue
            key = self.key(key_node)
            if key in seen:
                line = seen[key][0]
                raise _error(
                    self.source,
                    key_node,
                    f"duplicate key '{key}' (first written on line {line}); keep one of them",
                )
            seen[key] = _position(key_node)
            self.keys[(*path, key)] = seen[key]
            result[key] = self.build(value_node, (*path, key))
        if not merged:
            return result
        # Keys written in the mapping itself override merged ones, as YAML's `<<` says.
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def merge_into(self, merged: dict[str, Any], node: yaml.Node, path: YamlPath) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _error(self.source, source, "`<<` merges only mappings (or a list of them)")
            for key, value in self.mapping(source, path).items():
                merged.setdefault(key, value)

    def key(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise _error(
                self.source, node, "mapping keys must be plain text, not lists or mappings"
            )
        if node.tag not in (STR, INT, FLOAT, BOOL, NULL):
            raise self.refuse_tag(node)
        # Keys are names: `1:` or `yes:` mean the text the user typed.
        return str(node.value)
