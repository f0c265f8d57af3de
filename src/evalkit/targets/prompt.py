"""Rendering a case into a TargetRequest with a target's prompt templates.

Templates are compiled once per target variant, when it is built; rendering a case is
then one `Template.render` per message, which keeps the engine fast. Templates run in
Jinja's sandbox with StrictUndefined: a suite is shared text, and a typo in a variable
name must fail loudly rather than send an empty prompt to a paid model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from evalkit.errors import TargetError
from evalkit.records import Case, ErrorKind, Message, TargetRequest
from evalkit.targets.base import TargetCallError, TargetContext
from evalkit.targets.canary import canary_for
from evalkit.workspace.models import PromptSpec
from evalkit.workspace.root import inside

# The vars a case is asked with when no prompt is given, in order of preference.
DEFAULT_PROMPT_VARS = ("input", "question", "prompt")

ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False)


def compile_template(source: str, where: str) -> Template:
    """Compile a Jinja2 template, turning syntax errors into a TargetError."""
    try:
        return ENVIRONMENT.from_string(source)
    except TemplateSyntaxError as exc:
        raise TargetError(
            f"{where}: template syntax error on line {exc.lineno}: {exc.message}",
            hint="see https://jinja.palletsprojects.com/en/stable/templates/",
        ) from exc


def template_vars(case: Case) -> dict[str, Any]:
    """What a template sees: `case`, `context` (passages joined), then the case's vars.

    A case var of the same name wins: the suite author chose it deliberately.
    """
    return {
        "case": {
            "id": case.id,
            "suite": case.suite,
            "expected": case.expected,
            "context": case.context,
            "tags": case.tags,
            "metadata": case.metadata,
        },
        "context": "\n\n".join(case.context),
        **case.vars,
    }


def render_template(template: Template, values: dict[str, Any], where: str, case: Case) -> str:
    """Render one compiled template, mapping template failures to a CONFIG call error."""
    try:
        return template.render(values)
    except UndefinedError as exc:
        names = ", ".join(sorted(case.vars)) or "none"
        raise TargetCallError(
            ErrorKind.CONFIG, f"{where}: {exc.message} (case vars: {names})"
        ) from exc
    except (TemplateError, TypeError, ValueError, AttributeError) as exc:
        raise TargetCallError(
            ErrorKind.CONFIG, f"{where}: template failed for case '{case.id}': {exc}"
        ) from exc


# Variables every trial's templates get without a case providing them: a canary token
# per trial (security testing) that a case var of the same name overrides.
TRIAL_VARS = frozenset({"canary"})


@dataclass(slots=True)
class _MessageTemplate:
    role: str
    template: Template


class PromptRenderer:
    """One target variant's compiled prompt: cases in, rendered TargetRequests out."""

    def __init__(
        self,
        target_id: str,
        prompt: PromptSpec | None,
        ctx: TargetContext,
        *,
        default_system: str | None = None,
        require_prompt: bool = True,
    ) -> None:
        self.prompt_id = prompt.id if prompt else None
        self._target_id = target_id
        self._where = f"prompt '{prompt.id}'" if prompt else f"target '{target_id}' prompt"
        self._messages: list[_MessageTemplate] | None = None
        # Model targets need a user turn; python/command/http targets can do without one.
        self._require_prompt = require_prompt
        system_source = prompt.system if prompt and prompt.system is not None else default_system
        self._system = (
            compile_template(system_source, f"{self._where} system")
            if system_source is not None
            else None
        )
        if prompt is not None:
            # a prompt with only `system:` leaves the user turn to the case (None), rather
            # than sending a conversation with no user message at all
            self._messages = self._compile_prompt(prompt, ctx) or None

    def render(self, case: Case, epoch: int) -> TargetRequest:
        """The request for one case: rendered messages, system prompt and prompt text."""
        values: dict[str, Any] | None = None
        system: str | None = None
        if self._system is not None:
            values = self._values(case, epoch)
            system = render_template(self._system, values, f"{self._where} system", case)
        if self._messages is not None:
            values = values if values is not None else self._values(case, epoch)
            rendered = [
                Message(m.role, render_template(m.template, values, self._where, case))
                for m in self._messages
            ]
        elif case.messages:
            rendered = list(case.messages)
        else:
            text = self._default_text(case)
            rendered = [Message("user", text)] if text is not None else []
        # System messages travel apart: Anthropic takes them as a separate field.
        chat = [m for m in rendered if m.role != "system"]
        inline_system = [m.content for m in rendered if m.role == "system"]
        if inline_system:
            system = "\n\n".join([*([system] if system else []), *inline_system])
        prompt_text = next((m.content for m in reversed(chat) if m.role == "user"), None)
        return TargetRequest(
            case=case,
            epoch=epoch,
            prompt_id=self.prompt_id,
            messages=chat,
            prompt=prompt_text,
            system=system,
        )

    def _values(self, case: Case, epoch: int) -> dict[str, Any]:
        """The template vars plus this trial's `canary` (a case var of that name wins)."""
        values = template_vars(case)
        if "canary" not in values:
            values["canary"] = canary_for(case.suite, case.id, self._target_id, epoch)
        return values

    def _compile_prompt(self, prompt: PromptSpec, ctx: TargetContext) -> list[_MessageTemplate]:
        given = [k for k in ("template", "file", "messages") if getattr(prompt, k) is not None]
        if len(given) > 1:
            raise TargetError(
                f"{self._where}: give only one of template, file or messages (got "
                f"{' and '.join(given)})"
            )
        if prompt.template is not None:
            return [_MessageTemplate("user", compile_template(prompt.template, self._where))]
        if prompt.file is not None:
            source = _read_template_file(prompt.file, ctx, self._where)
            where = f"{self._where} ({prompt.file})"
            return [_MessageTemplate("user", compile_template(source, where))]
        if prompt.messages is not None:
            return [
                _MessageTemplate(
                    m.role, compile_template(m.content, f"{self._where} messages[{i}]")
                )
                for i, m in enumerate(prompt.messages)
            ]
        return []  # only a system prompt

    def _default_text(self, case: Case) -> str | None:
        for name in DEFAULT_PROMPT_VARS:
            if name in case.vars:
                return str(case.vars[name])
        if len(case.vars) == 1:
            return str(next(iter(case.vars.values())))
        if not self._require_prompt:
            return None
        names = ", ".join(sorted(case.vars)) or "none"
        raise TargetCallError(
            ErrorKind.CONFIG,
            f"{self._where}: case '{case.id}' has no messages and no var named "
            f"{', '.join(DEFAULT_PROMPT_VARS)} (case vars: {names}); give the target a "
            "`prompts:` template",
        )


def _read_template_file(relative: str, ctx: TargetContext, where: str) -> str:
    path = inside(ctx.root, relative, base=ctx.plan_dir, what=f"{where} file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TargetError(
            f"{where}: template file '{relative}' not found (looked at {path})",
            hint="paths in a plan are relative to the plan file's folder",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"{where}: cannot read template file '{relative}': {exc}") from exc
