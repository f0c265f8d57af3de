"""The `openai` provider: OpenAI and any OpenAI-compatible server (vLLM, Ollama,
llama.cpp) through the official async SDK."""

from __future__ import annotations

import json
import os
import time
from typing import Any, ClassVar, Literal

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import StrictInt

from evalkit.records import ErrorKind, Message, TargetOutput, TargetRequest, ToolCall, Usage
from evalkit.targets.base import TargetCallError, TargetContext, TargetUnavailable, register
from evalkit.targets.chat import ChatOptions, ChatTarget, read_api_key, sdk_timeout
from evalkit.targets.failures import PROTOCOL_FAULTS, protocol_error, sdk_error
from evalkit.targets.pricing import cost
from evalkit.targets.wire import openai_messages, openai_tools
from evalkit.workspace.models import PromptSpec, TargetSpec

# Local servers ignore the key, but the SDK insists on having one.
PLACEHOLDER_KEY = "evalkit-no-key"


class OpenAIOptions(ChatOptions):
    """A plan target's keys for `provider: openai`."""

    max_tokens: StrictInt | None = None
    max_completion_tokens: StrictInt | None = None  # what o-series and gpt-5 models accept
    seed: StrictInt | None = None
    response_format: Literal["text", "json"] | None = None
    api_key_env: str | None = "OPENAI_API_KEY"  # null: a local server that needs no key
    # `azure`: Azure OpenAI through the SDK's AzureOpenAI client; `base_url` is the
    # resource endpoint (https://NAME.openai.azure.com), `model` the deployment name
    platform: Literal["openai", "azure"] = "openai"
    api_version: str = "2024-10-21"  # azure only


def _client(options: OpenAIOptions, timeout: float) -> openai.AsyncOpenAI:
    """The SDK client; the engine retries, with its own backoff, so the SDK never does."""
    env = options.api_key_env
    if options.platform == "azure":
        env = "AZURE_OPENAI_API_KEY" if env == "OPENAI_API_KEY" else env
        endpoint = options.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise TargetUnavailable("platform azure needs `base_url` (or $AZURE_OPENAI_ENDPOINT)")
        return openai.AsyncAzureOpenAI(
            api_key=read_api_key(env) if env else PLACEHOLDER_KEY,
            azure_endpoint=endpoint,
            api_version=options.api_version,
            max_retries=0,
            timeout=timeout,
        )
    return openai.AsyncOpenAI(
        api_key=read_api_key(env) if env else PLACEHOLDER_KEY,
        base_url=options.base_url,  # None: OPENAI_BASE_URL, else the SDK default
        max_retries=0,
        timeout=timeout,
    )


@register("openai")
class OpenAITarget(ChatTarget):
    """Chat Completions against api.openai.com or a compatible `base_url`."""

    provider: ClassVar[str] = "openai"
    Options: ClassVar[type[OpenAIOptions]] = OpenAIOptions

    def __init__(
        self,
        spec: TargetSpec,
        options: OpenAIOptions,
        prompt: PromptSpec | None,
        ctx: TargetContext,
    ) -> None:
        super().__init__(spec, options, prompt, ctx)
        self._options = options
        self.credential_name = options.api_key_env  # named when the key is rejected
        self._client = _client(options, sdk_timeout(spec, ctx))
        self._base_url = str(self._client.base_url)

    def sampling(self) -> dict[str, Any]:
        """Whichever sampling parameters are set (max tokens, temperature, seed, ...)."""
        params: dict[str, Any] = {}
        for name in (
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "top_p",
            "stop",
            "seed",
            "response_format",
        ):
            value = getattr(self._options, name)
            if value is not None:
                params[name] = value
        return params

    async def generate(self, request: TargetRequest) -> TargetOutput:
        """Send the rendered chat; map SDK failures to TargetCallError kinds."""
        try:
            return await self._generate(request)
        except PROTOCOL_FAULTS as exc:
            raise protocol_error("openai", exc) from None

    async def _generate(self, request: TargetRequest) -> TargetOutput:
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        if request.steps is not None:
            messages.extend(openai_messages(request.steps))  # type: ignore[arg-type]
        else:
            messages.extend(_message_param(m) for m in request.messages or [])
        params = self.sampling()
        if request.tools:
            params["tools"] = openai_tools(request.tools)
        if "response_format" in params:
            kind = "json_object" if params["response_format"] == "json" else "text"
            params["response_format"] = {"type": kind}
        if request.response_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.response_schema},
            }
        if request.top_logprobs:
            params.update(logprobs=True, top_logprobs=request.top_logprobs)
        started = time.perf_counter()
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                **params,
            )
        except openai.OpenAIError as exc:
            raise sdk_error(
                "openai",
                exc,
                self._base_url,
                status=openai.APIStatusError,
                connection=openai.APIConnectionError,
                timeout=openai.APITimeoutError,
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000
        if not completion.choices:
            raise TargetCallError(ErrorKind.PROTOCOL, "openai API returned no choices")
        choice = completion.choices[0]
        text = choice.message.content or ""
        usage = None
        if completion.usage is not None:
            usage = Usage(
                input_tokens=completion.usage.prompt_tokens,
                output_tokens=completion.usage.completion_tokens,
            )
        calls = [
            ToolCall(c.id, c.function.name, _arguments(c.function.arguments))
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        structured = self._options.response_format == "json" or request.response_schema
        data = _parse_json(text) if structured else None
        metadata: dict[str, Any] = {
            "model": completion.model,
            "stop_reason": choice.finish_reason,
            "response_id": completion.id,
        }
        if choice.logprobs is not None and choice.logprobs.content:
            # [token, logprob, {alternative: logprob}] per generated token, for g-eval
            metadata["logprobs"] = [
                [t.token, t.logprob, {a.token: a.logprob for a in t.top_logprobs}]
                for t in choice.logprobs.content
            ]
        return TargetOutput(
            text=text,
            data=data,
            usage=usage,
            latency_ms=latency_ms,
            cost_usd=cost(completion.model or self.model, usage, self._pricing),
            metadata=metadata,
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._client.close()


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _arguments(text: str) -> dict[str, Any]:
    """A tool call's arguments; JSON that is not an object is kept under `_raw`."""
    parsed = _parse_json(text)
    return parsed if isinstance(parsed, dict) else {"_raw": text}


def _parse_json(text: str) -> Any:
    # A json-mode answer that isn't JSON stays text only; graders report it, we don't fail.
    try:
        return json.loads(text)
    except ValueError:
        return None
