"""promptfoo `providers:` -> evalkit targets (openai, anthropic, http, python, exec).

Model options map onto the evalkit provider's keys; an option with no counterpart is
listed as unconverted (the target is kept without it). promptfoo's Python providers
(`call_api(prompt, options, context)`) run through a small generated bridge module, and
`exec:` commands through the `command` provider with the rendered prompt as their first
argument, as promptfoo passes it.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from evalkit.workspace.promptfoo.model import Context, Source, file_ref, slug, unique
from evalkit.workspace.yamlfile import YamlPath

# promptfoo config key -> evalkit option, per provider family
_CHAT_OPTIONS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
    "max_completion_tokens": "max_completion_tokens",
    "apiBaseUrl": "base_url",
    "apiHost": "base_url",
    "apiKeyEnvar": "api_key_env",
}
_ANTHROPIC_ONLY = {"seed", "max_completion_tokens"}
_OLLAMA_URL = "http://localhost:11434/v1"


def convert_providers(raw: Any, ctx: Context, source: Source) -> list[dict[str, Any]]:
    """The config's providers as evalkit `TargetSpec` mappings, ids unique."""
    items = raw if isinstance(raw, list) else [raw]
    taken: set[str] = set()
    targets: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        path: YamlPath = ("providers", i) if isinstance(raw, list) else ("providers",)
        target = _one(item, ctx, source, path, len(targets) + 1)
        if target is not None:
            target["id"] = unique(target["id"], taken)
            targets.append(target)
    return targets


def _one(item: Any, ctx: Context, source: Source, path: YamlPath, n: int) -> dict[str, Any] | None:
    config: dict[str, Any] = {}
    label: str | None = None
    if isinstance(item, str):
        ident = item
    elif isinstance(item, dict) and "exec" in item and len(item) == 1:
        ident = f"exec:{item['exec']}"
    elif isinstance(item, dict):
        ident = item.get("id") or item.get("model") or ""
        config = item.get("config") or {}
        label = item.get("label")
        for key in sorted(set(item) - {"id", "model", "config", "label"}):
            ctx.skip(source, (*path, key), f"provider key '{key}' is not converted")
    else:
        ctx.skip(source, path, f"a provider should be text or a mapping, not {item!r}")
        return None
    if not isinstance(ident, str) or not ident:
        ctx.skip(source, path, "a provider needs an `id`")
        return None
    target = _by_id(ident.strip(), config, ctx, source, path)
    if target is None:
        return None
    readable = re.sub(r"^https?://", "", ident).replace("/", "-")
    head = {"id": slug(label or readable, f"target-{n}")}
    if label:
        head["description"] = label
    return {**head, **target}


def _by_id(
    ident: str, config: dict[str, Any], ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any] | None:
    family, _, rest = ident.partition(":")
    if ident.startswith(("http://", "https://")):
        return _http(ident, config, ctx, source, path)
    if family == "exec":
        # promptfoo runs the command in the config's folder, the prompt as its first argument
        folder = ctx.relative(ctx.base)
        where = f"cd {shlex.quote(folder)} && " if folder != "." else ""
        return {"provider": "command", "command": f'{where}{rest.strip()} "$(cat)"'}
    if ident == "echo":
        return {"provider": "command", "command": "cat"}
    if family == "python" or (file_ref(ident) or "").split(":")[0].endswith(".py"):
        return _python(ident, config, ctx, source, path)
    if family == "openai":
        return _chat("openai", _model(rest, ("chat",)), config, ctx, source, path)
    if family == "anthropic":
        return _chat("anthropic", _model(rest, ("messages",)), config, ctx, source, path)
    if family == "ollama":
        target = _chat("openai", _model(rest, ("chat",)), config, ctx, source, path)
        target.setdefault("base_url", _OLLAMA_URL)
        target["api_key_env"] = None
        return target
    if family in ("azure", "azureopenai"):
        target = _chat("openai", _model(rest, ("chat",)), config, ctx, source, path)
        target["platform"] = "azure"
        return target
    if family in ("bedrock", "vertex") and "claude" in rest:
        model = _model(rest, ("chat", "messages", "converse"))
        target = _chat("anthropic", model, config, ctx, source, path)
        target["platform"] = family
        return target
    ctx.skip(
        source,
        path,
        f"provider '{ident}' has no evalkit equivalent (evalkit calls "
        "openai, anthropic, http, python and command targets)",
    )
    return None


def _model(rest: str, kinds: tuple[str, ...]) -> str:
    kind, sep, model = rest.partition(":")
    return model if sep and kind in kinds else rest


def _chat(
    provider: str, model: str, config: dict[str, Any], ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any]:
    target: dict[str, Any] = {"provider": provider, "model": model}
    if model.startswith("completion:"):
        ctx.skip(source, path, "completion (non-chat) models are called as chat models")
        target["model"] = model.split(":", 1)[1]
    for key, value in config.items():
        option = _CHAT_OPTIONS.get(key)
        if option is None or (provider == "anthropic" and key in _ANTHROPIC_ONLY):
            ctx.skip(
                source,
                (*path, "config", key),
                f"option '{key}' has no evalkit {provider} equivalent",
            )
            continue
        target[option] = [value] if key == "stop" and isinstance(value, str) else value
    if provider == "openai" and config.get("response_format", {}) == {"type": "json_object"}:
        target["response_format"] = "json"
    return target


def _http(
    url: str, config: dict[str, Any], ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any]:
    target: dict[str, Any] = {"provider": "http", "url": config.get("url", url)}
    for key, value in config.items():
        where = (*path, "config", key)
        if key == "method":
            target["method"] = str(value).upper()
        elif key == "headers" and isinstance(value, dict):
            target["headers"] = {str(k): _env_refs(str(v)) for k, v in value.items()}
        elif key == "body":
            target["body"] = _body(value)
        elif key == "transformResponse" and isinstance(value, str) and _json_path(value):
            target["output_path"] = _json_path(value)
        elif key != "url":
            ctx.skip(
                source,
                where,
                f"http option '{key}' is not converted"
                + (" (only `json.a.b[0].c` paths are)" if key == "transformResponse" else ""),
            )
    return target


def _body(value: Any) -> Any:
    """A JSON body whose string leaves are templates (as in evalkit's http provider)."""
    if isinstance(value, str):
        try:
            return _body(json.loads(value))
        except json.JSONDecodeError:
            return value
    return value


def _env_refs(value: str) -> str:
    """promptfoo's `{{env.NAME}}` in a header is evalkit's `${NAME}`."""
    return re.sub(r"\{\{\s*env\.(\w+)\s*\}\}", r"${\1}", value)


def _json_path(expression: str) -> str | None:
    """`json.choices[0].message.content` -> `choices.0.message.content`; else None."""
    found = re.fullmatch(r"\s*json((?:\.\w+|\[\d+\])*)\s*", expression)
    if not found or not found[1]:
        return None
    return re.sub(r"\[(\d+)\]", r".\1", found[1]).lstrip(".")


def _python(
    ident: str, config: dict[str, Any], ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any] | None:
    reference = file_ref(ident) or ident.split(":", 1)[1]
    script, _, function = reference.partition(":")
    file = ctx.base / script
    if not file.is_file():
        ctx.skip(source, path, f"python provider file {ctx.label(file)} not found")
        return None
    bridge = f"evals/{ctx.name}_providers.py"
    number = sum(1 for line in ctx.files.get(bridge, "").splitlines() if line.startswith("def "))
    name = f"provider_{number + 1}"
    ctx.files[bridge] = ctx.files.get(bridge, _BRIDGE_HEAD) + _BRIDGE_FUNCTION.format(
        name=name,
        script=repr(ctx.relative(file)),
        function=repr(function or "call_api"),
        config=repr(config),
    )
    return {"provider": "python", "function": f"{bridge}:{name}"}


_BRIDGE_HEAD = '''"""promptfoo Python providers, called the way promptfoo calls them.

Written by `evalkit import promptfoo`: each function below loads a promptfoo provider
script and calls `call_api(prompt, options, context)` with the rendered prompt.
"""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _call(script, function, request, config, case):
    path = Path(script) if Path(script).is_absolute() else ROOT / script
    spec = importlib.util.spec_from_file_location(f"promptfoo_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    chat = [{"role": m.role, "content": m.content} for m in request.messages or []]
    if request.system:
        chat.insert(0, {"role": "system", "content": request.system})
    # promptfoo passes a chat prompt as its JSON text, a plain one as the text itself
    prompt = request.prompt if len(chat) == 1 else json.dumps(chat)
    result = getattr(module, function)(prompt, {"config": config}, {"vars": dict(case.vars)})
    if isinstance(result, dict) and result.get("error"):
        raise RuntimeError(result["error"])
    return result
'''

_BRIDGE_FUNCTION = """

def {name}(case, request):
    return _call({script}, {function}, request, {config}, case)
"""
