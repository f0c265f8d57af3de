"""promptfoo `assert:` entries -> evalkit graders (with `not-`, weight, threshold, metric).

A type evalkit's grader registry knows is kept by name; a few are renamed; promptfoo's
Python assertions (inline or `file://`) run through a generated grader module. JavaScript,
embeddings and the like have no evalkit counterpart and are listed with the reason.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from evalkit.workspace.promptfoo.model import Context, Source, file_ref
from evalkit.workspace.yamlfile import YamlPath

RENAMED = {
    "model-graded-closedqa": "closed-qa",
    "model-graded-factuality": "factuality",
    "context-faithfulness": "faithfulness",
    "answer-relevance": "answer-relevance",
    "context-relevance": "context-relevance",
    "icontains-all": "icontains-all",
    "starts-with": "starts-with",
    "is-json": "is-json",
    "grade": "llm-rubric",
}
WHY = {
    "javascript": "evalkit runs no JavaScript; write the check as a python grader",
    "similar": "embedding similarity is not built in (evalkit's `similarity` compares "
    "characters); use a python grader or llm-rubric",
    "select-best": "choosing the best of several outputs is not a per-trial grade",
    "assert-set": "nested assertion sets are not converted; list the graders directly",
    "webhook": "webhook assertions are not converted; call the service from a python grader",
    "moderation": "moderation APIs are not built in",
    "perplexity": "token logprobs are not kept for graders",
    "perplexity-score": "token logprobs are not kept for graders",
    "is-valid-openai-tools-call": "tool calls are not graded by this importer",
    "is-valid-openai-function-call": "tool calls are not graded by this importer",
    "classifier": "HuggingFace classifiers are not built in",
    "rouge-n": "ROUGE is not built in",
    "bleu": "BLEU is not built in",
}
# promptfoo types whose limit is `threshold` where evalkit's is `value`
_LIMIT_IN_THRESHOLD = {"latency", "cost"}
_SETTINGS = {"type", "value", "weight", "threshold", "metric", "transform", "provider", "config"}
_FIELD = re.compile(r"^\s*(?:JSON\.parse\(output\)|output)((?:\.\w+|\[\d+\])+)\s*$")


def known_graders() -> set[str]:
    """Every grader name evalkit has registered (built-in rule and model graders)."""
    import evalkit.graders
    import evalkit.graders.judge  # noqa: F401  (registers the model graders)
    from evalkit.graders.base import registry

    return set(registry())


def convert_assert(
    item: Any,
    ctx: Context,
    source: Source,
    path: YamlPath,
    templates: dict[str, Any],
    parsed_json: bool = False,
) -> dict[str, Any] | None:
    """One assertion as an evalkit grader mapping, or None (and a listed reason)."""
    if isinstance(item, dict) and "$ref" in item:
        name = str(item["$ref"]).rsplit("/", 1)[-1]
        if name not in templates:
            ctx.skip(source, path, f"$ref '{item['$ref']}' names no assertionTemplates entry")
            return None
        item = {**templates[name], **{k: v for k, v in item.items() if k != "$ref"}}
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        ctx.skip(source, path, "an assertion needs a `type`")
        return None
    raw_type: str = item["type"]
    negated = raw_type.startswith("not-")
    base = raw_type.removeprefix("not-")
    kind = RENAMED.get(base, base)
    if base in WHY:
        ctx.skip(source, path, f"'{raw_type}': {WHY[base]}")
        return None
    for key in sorted(set(item) - _SETTINGS):
        ctx.skip(source, (*path, key), f"assertion key '{key}' is not converted")
    if "provider" in item:
        ctx.skip(
            source,
            (*path, "provider"),
            "a per-assertion grading model is not converted "
            "(the plan's `judge:` grades every model-graded grader)",
        )
    if kind == "python":
        grader = _python(item, ctx, source, path)
    elif kind not in known_graders():
        ctx.skip(source, path, f"'{raw_type}' has no evalkit grader")
        return None
    else:
        grader = {"type": kind}
        if "value" in item:
            grader["value"] = item["value"]
    if grader is None:
        return None
    if "transform" in item:
        grader = _transformed(grader, str(item["transform"]), ctx, source, (*path, "transform"))
        if grader is None:
            return None
    if negated:
        grader["type"] = f"not-{grader['type']}"
    for key in ("weight", "metric"):
        if key in item:
            grader[key] = item[key]
    if "threshold" in item:
        if kind in _LIMIT_IN_THRESHOLD:
            grader["value"] = item["threshold"]
        else:
            grader["threshold"] = item["threshold"]
    del parsed_json  # evalkit's JSON graders parse the output themselves
    return grader


def _transformed(
    grader: dict[str, Any], transform: str, ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any] | None:
    """`output.a.b` (after JSON.parse) with equals/contains is a json-field grader."""
    found = _FIELD.match(transform)
    if found and grader["type"] in ("equals", "contains", "icontains"):
        dotted = re.sub(r"\[(\d+)\]", r".\1", found[1]).lstrip(".")
        check = "equals" if grader["type"] == "equals" else "contains"
        return {"type": "json-field", "path": dotted, check: grader.get("value")}
    ctx.skip(
        source,
        path,
        f"transform '{transform}' cannot be expressed for "
        f"'{grader['type']}' (only output.a.b with equals/contains is)",
    )
    return None


def _python(
    item: dict[str, Any], ctx: Context, source: Source, path: YamlPath
) -> dict[str, Any] | None:
    value = item.get("value")
    if not isinstance(value, str) or not value.strip():
        ctx.skip(source, path, "a python assertion needs a `value`")
        return None
    module = f"graders/{ctx.name}_promptfoo.py"
    text = ctx.files.get(module, _GRADERS_HEAD)
    name = f"assert_{text.count(chr(10) + 'def assert_') + 1}"
    reference = file_ref(value)
    scored = "threshold" in item
    if reference is not None:
        script, _, function = reference.partition(":")
        file = ctx.base / script
        if not file.is_file():
            ctx.skip(source, path, f"python assertion file {ctx.label(file)} not found")
            return None
        check = f"_load({ctx.relative(file)!r}, {function or 'get_assert'!r})"
        body = f"return _verdict({check}(output, context), {scored})"
    elif "\n" in value.strip():
        inner = textwrap.indent(textwrap.dedent(value).strip(), "        ")
        body = (
            f"def body(output, context):\n{inner}\n\n"
            f"    return _verdict(body(output, context), {scored})"
        )
    else:
        body = f"return _verdict({value.strip()}, {scored})"
    ctx.files[module] = text + _GRADER_FUNCTION.format(name=name, body=body)
    return {"type": "python", "value": f"{module}:{name}"}


_GRADERS_HEAD = '''"""promptfoo python assertions, graded the way promptfoo grades them.

Written by `evalkit import promptfoo`. Each function gets the output text and a
promptfoo-style context ({"vars": ...}); a bool is the verdict, a number the score, a
{"pass", "score", "reason"} mapping both.
"""

import importlib.util
from pathlib import Path

from evalkit import Score

ROOT = Path(__file__).resolve().parents[1]


def _load(path, function):
    spec = importlib.util.spec_from_file_location("promptfoo_assert", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function)


def _verdict(result, scored):
    if isinstance(result, dict):
        passed = bool(result.get("pass", True))
        score = float(result.get("score", 1.0 if passed else 0.0))
        reason = str(result.get("reason", ""))
        return Score(score=min(max(score, 0.0), 1.0), passed=passed, reason=reason)
    if isinstance(result, bool):
        return result
    score = float(result)
    # a bare number passes when above zero, or by the assertion's threshold when it has one
    return Score(score=min(max(score, 0.0), 1.0), passed=None if scored else score > 0)
'''

_GRADER_FUNCTION = """

def {name}(output, case, args):
    context = {{"vars": dict(case.vars), "config": args}}
    output = output.text
    {body}
"""
