"""Judge prompt templates: YAML files with Jinja prompts and the verdict's JSON schema.

The package ships one per model-graded grader (`evalkit/graders/templates/<name>.yaml`).
A workspace's `graders/templates/<name>.yaml` wins over the package's, so a team can
reword a judge, or write a new rubric grader (`type: classify, template: tone`), in YAML.

A template has `system` and `prompt` (Jinja2, strict undefined variables), `verdict` (a
JSON schema for the judge's answer), and may carry grader-specific keys (`choices`,
`scores`). Untrusted inputs reach the prompt already fenced (see `untrusted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jsonschema
import yaml
from jinja2.sandbox import SandboxedEnvironment

from evalkit.errors import GraderError
from evalkit.graders.modules import workspace_root
from evalkit.workspace.root import GRADER_DIR

TEMPLATE_DIR = "templates"  # inside the workspace's graders/ and inside this package

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


@dataclass(frozen=True, slots=True)
class JudgeTemplate:
    """A loaded template, its Jinja compiled."""

    name: str
    source: str  # where it came from, for messages: a path or "package"
    system: jinja2.Template
    prompt: jinja2.Template
    verdict: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the file's content: part of the judge's cache key

    def render(self, variables: dict[str, Any]) -> tuple[str, str]:
        """The system prompt and the user prompt for these variables."""
        try:
            return self.system.render(variables).strip(), self.prompt.render(variables).strip()
        except jinja2.TemplateError as exc:
            raise GraderError(
                f"{self.source}: judge template '{self.name}' could not render: {exc}",
                hint=f"variables available: {', '.join(sorted(variables))}",
            ) from None


_cache: dict[tuple[str, str], JudgeTemplate] = {}


def workspace_template(name: str) -> Path | None:
    """The workspace's own template file for `name`, when it has one."""
    try:
        root = workspace_root()
    except Exception:  # no workspace around: the package's templates only
        return None
    path = root / GRADER_DIR / TEMPLATE_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def load_template(name: str) -> JudgeTemplate:
    """The template `name`: the workspace's if it has one, else the package's."""
    path = workspace_template(name)
    if path is not None:
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        packaged = resources.files("evalkit.graders").joinpath(TEMPLATE_DIR, f"{name}.yaml")
        if not packaged.is_file():
            raise GraderError(
                f"no judge template '{name}'",
                hint=f"create {GRADER_DIR}/{TEMPLATE_DIR}/{name}.yaml in the workspace "
                "(copy one of evalkit's own templates to start from)",
            )
        text, source = packaged.read_text(encoding="utf-8"), f"evalkit template {name}.yaml"
    cached = _cache.get((source, text))
    if cached is None:
        cached = _cache[(source, text)] = _parse(name, source, text)
    return cached


def _parse(name: str, source: str, text: str) -> JudgeTemplate:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise GraderError(f"{where}: judge template is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise GraderError(f"{source}: a judge template is a mapping with system, prompt, verdict")
    missing = [key for key in ("system", "prompt", "verdict") if key not in raw]
    if missing:
        raise GraderError(
            f"{source}: judge template lacks {', '.join(missing)}",
            hint="a template has `system` and `prompt` (Jinja) and `verdict` (a JSON schema)",
        )
    verdict = raw["verdict"]
    try:
        jsonschema.Draft202012Validator.check_schema(verdict)
    except jsonschema.SchemaError as exc:
        raise GraderError(
            f"{source}: `verdict` is not a valid JSON schema: {exc.message}"
        ) from None
    try:
        system, prompt = _ENV.from_string(str(raw["system"])), _ENV.from_string(str(raw["prompt"]))
    except jinja2.TemplateSyntaxError as exc:
        raise GraderError(f"{source}: Jinja syntax error in the template: {exc.message}") from None
    extra = {k: v for k, v in raw.items() if k not in ("system", "prompt", "verdict")}
    return JudgeTemplate(name, source, system, prompt, verdict, extra, text)
