"""A whole promptfoo config -> one evalkit plan and one suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.workspace.promptfoo.model import Context, Conversion, Source, slug
from evalkit.workspace.promptfoo.prompts import convert_prompts
from evalkit.workspace.promptfoo.providers import convert_providers
from evalkit.workspace.promptfoo.tests import TestConverter
from evalkit.workspace.yamlfile import load_yaml

_CONVERTED = {"description", "prompts", "providers", "tests", "defaultTest", "assertionTemplates"}
_IGNORED_WHY = {
    "outputPath": "evalkit records every run in DuckDB; use `evalkit export` for a file",
    "sharing": "results are not shared to a hosted service",
    "env": "set environment variables outside the plan (evalkit never stores secrets)",
    "nunjucksFilters": "custom Nunjucks filters are JavaScript",
    "scenarios": "scenarios are not converted; write one case per combination",
    "redteam": "red-team configs are not converted",
    "extensions": "extension hooks are JavaScript or Python hooks promptfoo runs itself",
    "derivedMetrics": "derived metrics are not converted",
}


def convert(config: Path, root: Path, name: str | None = None) -> Conversion:
    """Convert `config` (a promptfooconfig.yaml) for the workspace at `root`."""
    doc = load_yaml(config, config.name)
    source = Source.of_yaml(doc)
    data: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
    description = data.get("description")
    chosen = name or slug(str(description or config.parent.name), "promptfoo")
    ctx = Context(base=config.parent, root=root, name=chosen.replace("-", "_").replace(".", "_"))
    for key in sorted(set(data) - _CONVERTED):
        if key == "evaluateOptions" and isinstance(data[key], dict):
            continue
        why = _IGNORED_WHY.get(key, "this top-level key is not converted")
        ctx.skip(source, (key,), why)
    prompts = convert_prompts(data.get("prompts"), ctx, source)
    targets = convert_providers(data.get("providers") or [], ctx, source)
    for target in targets:
        target["prompts"] = prompts
    tests = TestConverter(ctx, data.get("assertionTemplates") or {})
    defaults = tests.defaults(data.get("defaultTest"), source)
    tests.add(data.get("tests"), source)
    plan: dict[str, Any] = {"name": chosen}
    if description:
        plan["description"] = str(description)
    plan["suites"] = [f"suites/{chosen}.yaml"]
    plan.update(_evaluate_options(data.get("evaluateOptions"), ctx, source))
    plan["targets"] = targets
    suite: dict[str, Any] = {"name": chosen}
    if description:
        suite["description"] = f"Imported from promptfoo: {description}"
    if defaults:
        suite["defaults"] = defaults
    suite["cases"] = tests.cases
    return Conversion(chosen, plan, suite, dict(ctx.files), ctx.problems)


def _evaluate_options(raw: Any, ctx: Context, source: Source) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(raw, dict):
        return out
    for key, value in raw.items():
        if key == "maxConcurrency":
            out["concurrency"] = value
        elif key == "repeat":
            out["epochs"] = value
        elif key == "cache" and isinstance(value, bool):
            out["cache"] = value
        else:
            ctx.skip(source, ("evaluateOptions", key), f"evaluateOptions.{key} is not converted")
    return out
