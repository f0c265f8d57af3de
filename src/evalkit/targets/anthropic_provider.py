"""The `anthropic` provider: Claude models through the official async SDK."""

from __future__ import annotations

import json
import os
import time
from typing import Any, ClassVar, Literal

import anthropic
from anthropic.types import MessageParam
from pydantic import StrictInt

from evalkit.records import Message, TargetOutput, TargetRequest, ToolCall, Usage
from evalkit.targets.base import TargetContext, TargetUnavailable, register
from evalkit.targets.chat import ChatOptions, ChatTarget, read_api_key, sdk_timeout
from evalkit.targets.failures import PROTOCOL_FAULTS, protocol_error, sdk_error
from evalkit.targets.pricing import cost
from evalkit.targets.wire import anthropic_messages, anthropic_tools
from evalkit.workspace.models import PromptSpec, TargetSpec


class AnthropicOptions(ChatOptions):
    """A plan target's keys for `provider: anthropic`.

    `platform: bedrock` calls Claude on Amazon Bedrock (AWS credentials from the usual
    chain, `region`), `platform: vertex` on Google Vertex AI (`region`, `project_id`;
    a token from `access_token_env` or Google's default credentials), each through the
    anthropic SDK's own client; `api_key_env` is then not used.
    """

    max_tokens: StrictInt = 1024
    api_key_env: str = "ANTHROPIC_API_KEY"
    platform: Literal["anthropic", "bedrock", "vertex"] = "anthropic"
    region: str | None = None
    project_id: str | None = None  # vertex
    access_token_env: str | None = None  # vertex: an env var holding an OAuth access token


def _message_param(message: Message) -> MessageParam:
    # System turns were moved to `system` by the renderer; only user/assistant remain.
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _forced_tool(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Tool-use arguments that make Claude answer with one object following `schema`."""
    if schema is None:
        return {}
    tool = {"name": STRUCTURED_TOOL, "description": "Record your answer.", "input_schema": schema}
    return {"tools": [tool], "tool_choice": {"type": "tool", "name": STRUCTURED_TOOL}}


STRUCTURED_TOOL = "record_answer"


Client = anthropic.AsyncAnthropic | anthropic.AsyncAnthropicBedrock | anthropic.AsyncAnthropicVertex


def _client(options: AnthropicOptions, timeout: float) -> Client:
    """The SDK client for the platform; the engine retries, so the SDK never does."""
    if options.platform == "bedrock":
        return anthropic.AsyncAnthropicBedrock(
            aws_region=options.region,
            base_url=options.base_url,
            max_retries=0,
            timeout=timeout,
        )
    if options.platform == "vertex":
        token = read_api_key(options.access_token_env) if options.access_token_env else None
        if not (options.region or os.environ.get("CLOUD_ML_REGION")):
            raise TargetUnavailable("platform vertex needs `region` (or $CLOUD_ML_REGION)")
        return anthropic.AsyncAnthropicVertex(
            region=options.region or os.environ["CLOUD_ML_REGION"],
            project_id=options.project_id or anthropic.NOT_GIVEN,
            access_token=token,
            base_url=options.base_url,
            max_retries=0,
            timeout=timeout,
        )
    return anthropic.AsyncAnthropic(
        api_key=read_api_key(options.api_key_env),
        base_url=options.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
        max_retries=0,
        timeout=timeout,
    )


@register("anthropic")
class AnthropicTarget(ChatTarget):
    """Claude via the Messages API."""

    provider: ClassVar[str] = "anthropic"
    Options: ClassVar[type[AnthropicOptions]] = AnthropicOptions

    def __init__(
        self,
        spec: TargetSpec,
        options: AnthropicOptions,
        prompt: PromptSpec | None,
        ctx: TargetContext,
    ) -> None:
        super().__init__(spec, options, prompt, ctx)
        self._options = options
        self.credential_name: str | None = options.api_key_env  # named when it is rejected
        self._client = _client(options, sdk_timeout(spec, ctx))
        self._base_url = str(self._client.base_url)

    def sampling(self) -> dict[str, Any]:
        """max_tokens plus whichever of temperature, top_p, stop are set."""
        params: dict[str, Any] = {"max_tokens": self._options.max_tokens}
        for name in ("temperature", "top_p", "stop"):
            value = getattr(self._options, name)
            if value is not None:
                params[name] = value
        return params

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """Send the rendered messages; map SDK failures to TargetCallError kinds."""
        try:
            return await self._generate(request)
        except PROTOCOL_FAULTS as exc:
            raise protocol_error("anthropic", exc) from None

    async def _generate(self, request: TargetRequest) -> TargetOutput:
        params = self.sampling()
        # This SDK version has no typed sampling arguments; the API still takes them.
        extra_body = {k: params[k] for k in ("temperature", "top_p") if k in params}
        messages: Any = (
            anthropic_messages(request.steps)
            if request.steps is not None
            else [_message_param(m) for m in request.messages or []]
        )
        tools: dict[str, Any] = _forced_tool(request.response_schema)
        if request.tools and not tools:
            tools = {"tools": anthropic_tools(request.tools)}
        started = time.perf_counter()
        try:
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=params["max_tokens"],
                messages=messages,
                system=request.system or anthropic.omit,
                stop_sequences=params.get("stop", anthropic.omit),
                extra_body=extra_body or None,
                **tools,
            )
        except anthropic.APIError as exc:
            raise sdk_error(
                "anthropic",
                exc,
                self._base_url,
                status=anthropic.APIStatusError,
                connection=anthropic.APIConnectionError,
                timeout=anthropic.APITimeoutError,
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000
        text = "".join(block.text for block in message.content if block.type == "text")
        calls: list[ToolCall] = []
        data = None
        if request.tools and request.response_schema is None:  # the tool loop asks
            calls = [
                ToolCall(b.id, b.name, dict(b.input) if isinstance(b.input, dict) else {})
                for b in message.content
                if b.type == "tool_use"
            ]
        else:  # a structured answer arrives as the forced tool's input: data and text
            data = next((b.input for b in message.content if b.type == "tool_use"), None)
        if data is not None and not text:
            text = json.dumps(data, ensure_ascii=False)
        usage = Usage(
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            cache_read_tokens=message.usage.cache_read_input_tokens or 0,
            cache_write_tokens=message.usage.cache_creation_input_tokens or 0,
        )
        return TargetOutput(
            text=text,
            data=data,
            usage=usage,
            latency_ms=latency_ms,
            cost_usd=cost(message.model or self.model, usage, self._pricing),
            metadata={
                "model": message.model,
                "stop_reason": message.stop_reason,
                "response_id": message.id,
            },
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._client.close()
