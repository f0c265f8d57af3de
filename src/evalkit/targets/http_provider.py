"""The `http` provider: any JSON endpoint, with a templated body and a path to the answer."""

from __future__ import annotations

import json
import re
import time
from typing import Any, ClassVar, Literal

import httpx
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict

from evalkit.errors import TargetError
from evalkit.records import Case, ErrorKind, TargetOutput, TargetRequest
from evalkit.targets.base import TargetCallError, TargetContext, TargetUnavailable, register
from evalkit.targets.chat import sdk_timeout
from evalkit.targets.failures import shorten, status_error
from evalkit.targets.prompt import PromptRenderer, compile_template, render_template, template_vars
from evalkit.workspace.models import PromptSpec, TargetSpec
from evalkit.workspace.secrets import remember_env

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _json_value(value: Any) -> str:
    # Every {{ expression }} in a JSON body becomes a JSON literal, so quotes, newlines
    # and backslashes in case text can't break the document (or inject fields into it).
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False, default=str)


JSON_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, finalize=_json_value)

JsonBody = str | dict[str, Any] | list[Any]


class HttpOptions(BaseModel):
    """A plan target's keys for `provider: http`."""

    model_config = ConfigDict(extra="forbid")

    url: str
    method: Literal["GET", "POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = {}  # values may use ${ENV_VAR}
    # A string is a JSON document template whose {{ expressions }} are JSON-encoded
    # (write `"q": {{ question }}`, no quotes); a mapping's string leaves are text templates.
    body: JsonBody | None = None
    output_path: str | None = None  # "choices.0.message.content"; None: the whole body


def resolve_env_refs(value: str, where: str) -> str:
    """Replace every ${NAME} in `value` with the env var; TargetUnavailable if one is unset."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        found = remember_env(name)  # redacted by value wherever it shows up
        if found is None:
            raise TargetUnavailable(f"{name} is not set (used in {where})")
        return found

    return _ENV_REF.sub(lookup, value)


def extract_path(document: Any, path: str) -> Any:
    """Follow a dot path ("data.items.0.text") into parsed JSON; KeyError when it breaks."""
    current = document
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            raise KeyError(".".join(walked))
    return current


class _BodyTemplate:
    """A compiled request body: a JSON text template, or a structure of text templates."""

    def __init__(self, body: JsonBody, where: str) -> None:
        self._where = where
        self._text: Template | None = None
        self._tree: Any = None
        if isinstance(body, str):
            try:
                self._text = JSON_ENVIRONMENT.from_string(body)
            except TemplateSyntaxError as exc:
                raise TargetError(
                    f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
                ) from exc
        else:
            self._tree = self._compile_tree(body)

    def render(self, values: dict[str, Any], case: Case) -> Any:
        if self._text is not None:
            rendered = render_template(self._text, values, self._where, case)
            try:
                return json.loads(rendered)
            except ValueError as exc:
                raise TargetCallError(
                    ErrorKind.CONFIG,
                    f"{self._where}: the rendered body is not JSON ({exc}); write "
                    "{{ var }} without quotes around it, values are JSON-encoded",
                ) from exc
        return self._render_tree(self._tree, values, case)

    def _compile_tree(self, node: Any) -> Any:
        if isinstance(node, str):
            return compile_template(node, self._where)
        if isinstance(node, dict):
            return {k: self._compile_tree(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._compile_tree(v) for v in node]
        return node

    def _render_tree(self, node: Any, values: dict[str, Any], case: Case) -> Any:
        if isinstance(node, Template):
            return render_template(node, values, self._where, case)
        if isinstance(node, dict):
            return {k: self._render_tree(v, values, case) for k, v in node.items()}
        if isinstance(node, list):
            return [self._render_tree(v, values, case) for v in node]
        return node


@register("http")
class HttpTarget:
    """A JSON-over-HTTP system under test."""

    provider: ClassVar[str] = "http"
    Options: ClassVar[type[HttpOptions]] = HttpOptions

    def __init__(
        self, spec: TargetSpec, options: HttpOptions, prompt: PromptSpec | None, ctx: TargetContext
    ) -> None:
        self.id = spec.id
        self.prompt_id = prompt.id if prompt else None
        self._options = options
        where = f"target '{spec.id}' body"
        self._renderer = PromptRenderer(spec.id, prompt, ctx, require_prompt=False)
        self._body = _BodyTemplate(options.body, where) if options.body is not None else None
        headers = {
            name: resolve_env_refs(value, f"header '{name}' of target '{spec.id}'")
            for name, value in options.headers.items()
        }
        self._client = httpx.AsyncClient(headers=headers, timeout=sdk_timeout(spec, ctx))

    def render(self, case: Case, epoch: int) -> TargetRequest:
        """Render the prompt (if any); the body is rendered per call from the same vars."""
        return self._renderer.render(case, epoch)

    def fingerprint(self, request: TargetRequest) -> dict[str, Any] | None:
        """URL, method, rendered body and output path; never headers (they hold keys).

        None (not cached) when the body can't render: `generate` raises the same error,
        and the trial records it as its own error.
        """
        try:
            body = self._render_body(request)
        except TargetCallError:
            return None
        return {
            "provider": self.provider,
            "base_url": self._options.url,
            "method": self._options.method,
            "body": body,
            "output_path": self._options.output_path,
            "epoch": request.epoch,
        }

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """Send the request and pull the answer out of the JSON response."""
        body = self._render_body(request)
        url = self._options.url
        started = time.perf_counter()
        try:
            response = await self._client.request(
                self._options.method, url, json=body if body is not None else None
            )
        except httpx.TimeoutException:
            raise TargetCallError(ErrorKind.CONNECTION, f"{url} timed out") from None
        except httpx.TransportError as exc:
            raise TargetCallError(
                ErrorKind.CONNECTION, f"{url} unreachable ({type(exc).__name__})"
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise status_error(
                response.status_code,
                f"{url} returned HTTP {response.status_code}: {shorten(response.text)}",
                response.headers,
            )
        text, data = self._answer(response, url)
        return TargetOutput(
            text=text,
            data=data,
            latency_ms=latency_ms,
            metadata={"status_code": response.status_code, "url": url},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _render_body(self, request: TargetRequest) -> Any:
        if self._body is None:
            return None
        values = template_vars(request.case)
        values.setdefault("prompt", request.prompt)
        values.setdefault("system", request.system)
        values.setdefault(
            "messages", [{"role": m.role, "content": m.content} for m in request.messages or []]
        )
        return self._body.render(values, request.case)

    def _answer(self, response: httpx.Response, url: str) -> tuple[str, Any]:
        path = self._options.output_path
        try:
            document = response.json()
        except ValueError:
            if path is None:
                return response.text, None
            # A success whose body is cut off or empty is the endpoint's fault, retried
            # like a 5xx (the same rule as the SDK providers' `protocol` errors).
            raise TargetCallError(
                ErrorKind.PROTOCOL,
                f"{url} answered with non-JSON ({shorten(response.text, 80)!r}), "
                f"so output_path '{path}' can't apply",
            ) from None
        if path is None:
            return response.text, document
        try:
            value = extract_path(document, path)
        except KeyError as exc:
            raise TargetCallError(
                ErrorKind.CLIENT,
                f"output_path '{path}': '{exc.args[0]}' not in the response "
                f"{shorten(json.dumps(document), 200)}",
            ) from None
        if isinstance(value, str):
            return value, None
        return json.dumps(value, ensure_ascii=False), value
