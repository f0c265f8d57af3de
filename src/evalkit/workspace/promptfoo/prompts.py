"""promptfoo `prompts:` -> evalkit prompt variants (inline, files, chat JSON/YAML).

promptfoo templates are Nunjucks; evalkit renders Jinja2, which reads the same
`{{ var }}`, `{% if %}` and `{% for %}`. Filters that exist only in Nunjucks or in
promptfoo (`load`, `dump`, ...) are listed as unconverted and that prompt is left out:
it would not compile.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2

from evalkit.workspace.promptfoo.model import Context, Source, file_ref, slug, unique
from evalkit.workspace.yamlfile import YamlPath, load_yaml

_TEXT_SUFFIXES = {".txt", ".md", ".j2", ".jinja", ".jinja2", ".njk", ".prompt", ""}
_CODE_SUFFIXES = {".py", ".js", ".ts", ".mjs", ".cjs"}
_ROLES = {"system", "user", "assistant"}
_FILTER = re.compile(r"\|\s*([A-Za-z_]\w*)")
_JINJA_FILTERS = frozenset(jinja2.Environment().filters)
_SEPARATOR = re.compile(r"^---$", re.M)


def convert_prompts(raw: Any, ctx: Context, source: Source) -> list[dict[str, Any]]:
    """The config's prompts as evalkit `PromptSpec` mappings, ids unique."""
    if raw is None:
        return [{"id": "prompt", "template": "{{ prompt }}"}]
    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, dict) and not {"raw", "id", "messages", "label"} & set(raw):
        # the mapping form: {"file://path": "label", ...}
        items = [{"id": key, "label": label} for key, label in raw.items()]
    taken: set[str] = set()
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        path: YamlPath = ("prompts", i) if isinstance(raw, list) else ("prompts",)
        for prompt, label in _one(item, ctx, source, path):
            if _foreign_filter(prompt, ctx, source, path):
                continue
            prompt["id"] = unique(slug(label or "", f"prompt-{len(out) + 1}"), taken)
            out.append(prompt)
    return out


def _one(
    item: Any, ctx: Context, source: Source, path: YamlPath
) -> list[tuple[dict[str, Any], str | None]]:
    if isinstance(item, str):
        return _from_reference(item, None, ctx, source, path)
    if isinstance(item, list):
        messages = _messages(item, ctx, source, path)
        return [({"messages": messages}, None)] if messages else []
    if not isinstance(item, dict):
        ctx.skip(source, path, f"a prompt should be text, a file or a mapping, not {item!r}")
        return []
    label = item.get("label")
    if "messages" in item:
        messages = _messages(item["messages"], ctx, source, (*path, "messages"))
        return [({"messages": messages}, label)] if messages else []
    body = item.get("raw", item.get("id"))
    if not isinstance(body, str):
        ctx.skip(source, path, "a prompt mapping needs `raw`, `id` (a file) or `messages`")
        return []
    if "raw" in item:
        return [(_text_prompt(body), label)]
    return _from_reference(body, label, ctx, source, path)


def _from_reference(
    text: str, label: str | None, ctx: Context, source: Source, path: YamlPath
) -> list[tuple[dict[str, Any], str | None]]:
    reference = file_ref(text)
    bare = Path(text.split(":", 1)[0]) if reference is None else None
    if reference is None and not (bare and "\n" not in text and (ctx.base / text).is_file()):
        return [(_text_prompt(text), label)]  # an inline template
    relative = reference if reference is not None else text
    files = sorted(ctx.base.glob(relative)) if any(c in relative for c in "*?[") else []
    if not files:
        files = [ctx.base / relative.split(":", 1)[0]]
    found: list[tuple[dict[str, Any], str | None]] = []
    for file in files:
        found += _from_file(file, label, ctx, source, path)
    return found


def _from_file(
    file: Path, label: str | None, ctx: Context, source: Source, path: YamlPath
) -> list[tuple[dict[str, Any], str | None]]:
    suffix = file.suffix.lower()
    name = label or file.stem
    if suffix in _CODE_SUFFIXES:
        ctx.skip(
            source,
            path,
            f"prompt function {ctx.label(file)}: evalkit renders templates "
            "only; write the prompt as a template or messages",
        )
        return []
    if not file.is_file():
        ctx.skip(source, path, f"prompt file {ctx.label(file)} not found")
        return []
    text = file.read_text(encoding="utf-8")
    if suffix == ".json":
        return _chat_or_text(text, name, ctx, Source.whole(ctx.label(file)))
    if suffix in (".yaml", ".yml"):
        doc = load_yaml(file, ctx.label(file))
        data = doc.data
        inner: YamlPath = ("messages",) if isinstance(data, dict) else ()
        messages = data.get("messages") if isinstance(data, dict) else data
        if isinstance(messages, list):
            found = _messages(messages, ctx, Source.of_yaml(doc), inner)
            return [({"messages": found}, name)] if found else []
        return [(_text_prompt(text), name)]
    if suffix == ".jsonl":
        lines = [line for line in text.splitlines() if line.strip()]
        return [
            pair
            for n, line in enumerate(lines, 1)
            for pair in _chat_or_text(line, f"{name}-{n}", ctx, Source.whole(ctx.label(file), n))
        ]
    if suffix not in _TEXT_SUFFIXES:
        ctx.skip(source, path, f"prompt file type '{suffix}' is read as plain text")
    parts = [p.strip("\n") for p in _SEPARATOR.split(text)] if suffix == ".txt" else [text]
    parts = [p for p in parts if p.strip()]
    if len(parts) == 1:
        return [(_text_prompt(parts[0]), name)]
    return [(_text_prompt(p), f"{name}-{n}") for n, p in enumerate(parts, 1)]


def _chat_or_text(
    text: str, name: str, ctx: Context, source: Source
) -> list[tuple[dict[str, Any], str | None]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [(_text_prompt(text), name)]
    if isinstance(data, list):
        found = _messages(data, ctx, source, ())
        return [({"messages": found}, name)] if found else []
    return [(_text_prompt(text), name)]


def _text_prompt(text: str) -> dict[str, Any]:
    """An inline template; one that is a JSON chat (`[{"role": ...}]`) becomes messages."""
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list) and data and all(_is_message(m) for m in data):
            return {"messages": [{"role": m["role"], "content": m["content"]} for m in data]}
    return {"template": text}


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("role") in _ROLES
        and isinstance(value.get("content"), str)
    )


def _messages(items: Any, ctx: Context, source: Source, path: YamlPath) -> list[dict[str, str]]:
    if not isinstance(items, list):
        ctx.skip(source, path, "messages should be a list of {role, content}")
        return []
    out: list[dict[str, str]] = []
    for j, message in enumerate(items):
        where = (*path, j)
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            ctx.skip(source, where, "a message needs a role of system, user or assistant")
            continue
        content = _content(message.get("content"), ctx, source, (*where, "content"))
        if content is not None:
            out.append({"role": message["role"], "content": content})
    return out


def _content(value: Any, ctx: Context, source: Source, path: YamlPath) -> str | None:
    reference = file_ref(value)
    if reference is not None:
        file = ctx.base / reference
        if file.suffix.lower() in _CODE_SUFFIXES:
            ctx.skip(source, path, f"{ctx.label(file)} is code; only templates are converted")
            return None
        if not file.is_file():
            ctx.skip(source, path, f"message file {ctx.label(file)} not found")
            return None
        return file.read_text(encoding="utf-8")
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: [{type: text, text: ...}, ...]
        texts: list[str] = []
        for k, part in enumerate(value):
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
                if "cache_control" in part:
                    ctx.skip(
                        source,
                        (*path, k, "cache_control"),
                        "prompt caching hints are not sent (the text is kept)",
                    )
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                ctx.skip(source, (*path, k), f"content part '{kind}' (evalkit sends text only)")
        return "\n".join(texts) if texts else None
    ctx.skip(source, path, "message content should be text, a file:// or text parts")
    return None


def _foreign_filter(prompt: dict[str, Any], ctx: Context, source: Source, path: YamlPath) -> bool:
    """Whether the prompt uses a filter Jinja2 lacks (then it is listed and left out)."""
    texts = [prompt.get("template") or ""] + [m["content"] for m in prompt.get("messages") or []]
    for text in texts:
        for expression in re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", text, re.S):
            for name in _FILTER.findall(" ".join(expression)):
                if name not in _JINJA_FILTERS:
                    ctx.skip(
                        source,
                        path,
                        f"Nunjucks filter '{name}' has no Jinja2 equivalent "
                        "(the prompt is left out: rewrite that expression)",
                    )
                    return True
    return False
