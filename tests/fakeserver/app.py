"""The fake model server's aiohttp application: wire formats, scripting, failures, log.

It speaks just enough of the Anthropic Messages API and OpenAI Chat Completions for the
real SDKs to accept its answers, so tests exercise our targets end to end over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakeserver.judge import openai_logprobs, scripted_verdict, tool_use_content
from tests.fakeserver.tools import (
    anthropic_content,
    is_tool_result_only,
    openai_message,
    scripted_step,
    step_text,
)

HANG_SECONDS = 3600.0  # "hang" means: longer than any test is willing to wait

# status -> (Anthropic error type, OpenAI error type)
_ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("authentication_error", "invalid_request_error"),
    403: ("permission_error", "insufficient_permissions"),
    404: ("not_found_error", "invalid_request_error"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("api_error", "server_error"),
    503: ("api_error", "server_error"),
    529: ("overloaded_error", "server_error"),
}


@dataclass(slots=True)
class Rule:
    """Reply `reply` when `match` occurs in the last user message (empty matches all)."""

    match: str
    reply: str
    stop_reason: str = "end_turn"
    latency_ms: float | None = None
    judge: dict[str, Any] | None = None  # a scripted judge instead of `reply` (see judge.py)
    top_logprobs: dict[str, float] | None = None  # OpenAI logprobs for one token of the reply
    replies: list[str] | None = None  # answered in turn, one per request (sampled judges)
    steps: list[dict[str, Any]] | None = None  # a scripted agent turn (see tools.py)
    served: int = 0


# 200 answers a broken provider or proxy sends: cut-off JSON, nothing, or JSON that
# is not a message at all.
BROKEN_BODIES = {"malformed": '{"id": "msg_cut", "type": "mess', "empty": "", "null": "null"}


@dataclass(slots=True)
class Failure:
    """The next `count` model requests fail this way."""

    status: int | None  # None with hang=True (never answer) or a broken 200 body
    count: int
    retry_after: str | None = None
    hang: bool = False
    broken: str | None = None  # a key of BROKEN_BODIES: answer 200 with that body


@dataclass
class ServerState:
    """Everything a test can script; reset between tests."""

    latency_ms: float = 0.0
    rules: list[Rule] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self, latency_ms: float) -> None:
        """Forget scripts, failures and the request log."""
        self.latency_ms = latency_ms
        self.rules.clear()
        self.failures.clear()
        self.log.clear()

    def take_failure(self) -> Failure | None:
        """The failure to inject into this request, if any is queued."""
        while self.failures:
            head = self.failures[0]
            if head.count <= 0:
                self.failures.pop(0)
                continue
            head.count -= 1
            return head
        return None


def _text_of(content: Any) -> str:
    # Both APIs allow content as a string or a list of typed blocks.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and not is_tool_result_only(message):
            return _text_of(message.get("content"))
    return ""


def _count_tokens(text: str) -> int:
    # Whitespace words: deterministic, and close enough for cost arithmetic in tests.
    return len(text.split())


def default_reply(last_user: str) -> str:
    """The deterministic answer when no rule matches."""
    return f"Reply to: {last_user}"


class FakeModel:
    """Request handlers over one ServerState."""

    def __init__(self, base_latency_ms: float = 0.0) -> None:
        self.base_latency_ms = base_latency_ms
        self.state = ServerState(latency_ms=base_latency_ms)

    def app(self) -> web.Application:
        """The aiohttp application with model, echo and control routes."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/messages", self.anthropic_messages)
        app.router.add_post("/v1/chat/completions", self.openai_chat)
        # the same wire formats behind the cloud platforms' paths: Claude on Amazon Bedrock
        # and Google Vertex AI, and Azure OpenAI deployments
        app.router.add_post("/model/{model}/invoke", self.anthropic_messages)
        app.router.add_post(
            "/projects/{project}/locations/{region}/publishers/anthropic/models/{action}",
            self.anthropic_messages,
        )
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self.openai_chat)
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/_control/health", self.health)
        app.router.add_get("/_control/requests", self.requests)
        app.router.add_post("/_control/reset", self.reset)
        app.router.add_post("/_control/script", self.script)
        app.router.add_post("/_control/fail", self.fail)
        app.router.add_post("/_control/latency", self.latency)
        return app

    # -- model routes -------------------------------------------------------------

    async def anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/messages in the Anthropic wire format."""
        body = await request.json()
        messages = body.get("messages") or []
        system = _text_of(body.get("system") or "")
        last = _last_user(messages)
        self._record(request, "anthropic", body, last, system)
        failure = await self._prelude("anthropic", request)
        if failure is not None:
            return failure
        rule = self._rule_for(last)
        reply = _reply(rule, last)
        await self._delay(rule)
        prompt_text = system + " " + " ".join(_text_of(m.get("content")) for m in messages)
        content: list[dict[str, Any]] = [{"type": "text", "text": reply}]
        stop_reason = rule.stop_reason if rule else "end_turn"
        forced = (body.get("tool_choice") or {}).get("name")
        if forced and (tool_use := tool_use_content(reply, forced)):
            content = tool_use  # a forced tool call: the reply is the tool's input
        if rule is not None and rule.steps:
            step = scripted_step(rule.steps, messages)
            content, stop_reason = anthropic_content(step, self.state.ids)
            reply = step_text(step)
        return web.json_response(
            {
                "id": f"msg_fake{next(self.state.ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "unknown"),
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": _count_tokens(prompt_text),
                    "output_tokens": _count_tokens(reply),
                },
            },
            headers={"request-id": "req_fake"},
        )

    async def openai_chat(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/chat/completions in the OpenAI wire format."""
        body = await request.json()
        messages = body.get("messages") or []
        system = " ".join(_text_of(m.get("content")) for m in messages if m.get("role") == "system")
        last = _last_user(messages)
        self._record(request, "openai", body, last, system)
        failure = await self._prelude("openai", request)
        if failure is not None:
            return failure
        rule = self._rule_for(last)
        reply = _reply(rule, last)
        await self._delay(rule)
        logprobs = None
        if body.get("logprobs"):
            logprobs = openai_logprobs(reply, rule.top_logprobs if rule else None)
        prompt_tokens = sum(_count_tokens(_text_of(m.get("content"))) for m in messages)
        finish = "stop" if rule is None or rule.stop_reason == "end_turn" else rule.stop_reason
        message: dict[str, Any] = {"role": "assistant", "content": reply, "refusal": None}
        if rule is not None and rule.steps:
            step = scripted_step(rule.steps, messages)
            message, finish = openai_message(step, self.state.ids)
            reply = step_text(step)
        completion_tokens = _count_tokens(reply)
        return web.json_response(
            {
                "id": f"chatcmpl-fake{next(self.state.ids):06d}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "unknown"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": finish,
                        "logprobs": logprobs,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def echo(self, request: web.Request) -> web.StreamResponse:
        """Any method on /echo: answer {"json": <request body>, "method": ..., "answer": ...}."""
        raw = await request.text()
        try:
            payload: Any = await request.json() if raw else None
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        last = payload.get("prompt", "") if isinstance(payload, dict) else ""
        self._record(request, "echo", payload, str(last), "")
        failure = await self._prelude("openai", request)
        if failure is not None:
            return failure
        rule = self._rule_for(str(last))
        await self._delay(rule)
        answer = rule.reply if rule else default_reply(str(last))
        return web.json_response(
            {"json": payload, "method": request.method, "data": {"answer": answer}}
        )

    # -- control routes -----------------------------------------------------------

    async def health(self, request: web.Request) -> web.StreamResponse:
        """GET /_control/health."""
        return web.json_response({"ok": True})

    async def requests(self, request: web.Request) -> web.StreamResponse:
        """GET /_control/requests: the log of model/echo requests since the last reset."""
        return web.json_response({"count": len(self.state.log), "requests": self.state.log})

    async def reset(self, request: web.Request) -> web.StreamResponse:
        """POST /_control/reset: back to the start-up behaviour."""
        self.state.reset(self.base_latency_ms)
        return web.json_response({"ok": True})

    async def script(self, request: web.Request) -> web.StreamResponse:
        """POST /_control/script {"rules": [{"match", "reply", "stop_reason", "latency_ms"}]}."""
        body = await request.json()
        self.state.rules = [
            Rule(
                match=str(r.get("match") or ""),
                reply=str(r.get("reply", "")),
                stop_reason=str(r.get("stop_reason") or "end_turn"),
                latency_ms=r.get("latency_ms"),
                judge=r.get("judge"),
                top_logprobs=r.get("top_logprobs"),
                replies=r.get("replies"),
                steps=r.get("steps"),
            )
            for r in body.get("rules", [])
        ]
        return web.json_response({"ok": True, "rules": len(self.state.rules)})

    async def fail(self, request: web.Request) -> web.StreamResponse:
        """POST /_control/fail {"status": 429|500|400|401|"hang"|"malformed"|"empty"|"null",
        "count", "retry_after"}."""
        body = await request.json()
        status = body.get("status")
        hang = status == "hang"
        broken = status if status in BROKEN_BODIES else None
        retry_after = body.get("retry_after")
        self.state.failures.append(
            Failure(
                status=None if hang or broken else int(status),
                count=int(body.get("count", 1)),
                retry_after=None if retry_after is None else str(retry_after),
                hang=hang,
                broken=broken,
            )
        )
        return web.json_response({"ok": True})

    async def latency(self, request: web.Request) -> web.StreamResponse:
        """POST /_control/latency {"ms": 50}."""
        body = await request.json()
        self.state.latency_ms = float(body["ms"])
        return web.json_response({"ok": True})

    # -- helpers ------------------------------------------------------------------

    def _record(
        self, request: web.Request, api: str, body: Any, last_user: str, system: str
    ) -> None:
        model = body.get("model") if isinstance(body, dict) else None
        self.state.log.append(
            {
                "api": api,
                "path": request.path,
                "method": request.method,
                "model": model,
                "last_user": last_user,
                "system": system,
                "body": body,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "at": time.time(),
            }
        )

    def _rule_for(self, last_user: str) -> Rule | None:
        for rule in self.state.rules:
            if rule.match in last_user:
                return rule
        return None

    async def _delay(self, rule: Rule | None) -> None:
        ms = rule.latency_ms if rule and rule.latency_ms is not None else self.state.latency_ms
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    async def _prelude(self, api: str, request: web.Request) -> web.StreamResponse | None:
        failure = self.state.take_failure()
        if failure is None:
            return None
        if failure.hang:
            await asyncio.sleep(HANG_SECONDS)
            return web.json_response({"error": "hung"}, status=504)
        if failure.broken is not None:
            return web.Response(
                text=BROKEN_BODIES[failure.broken], status=200, content_type="application/json"
            )
        assert failure.status is not None
        presented = _presented_key(request) if failure.status == 401 else None
        return error_response(api, failure.status, failure.retry_after, presented)


def _reply(rule: Rule | None, last_user: str) -> str:
    if rule is None:
        return default_reply(last_user)
    if rule.replies:
        rule.served += 1
        return rule.replies[(rule.served - 1) % len(rule.replies)]
    return scripted_verdict(rule.judge, last_user) if rule.judge else rule.reply


def _presented_key(request: web.Request) -> str:
    """The credential a request carried, as some real providers echo it in a 401 body."""
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    return request.headers.get("x-api-key") or request.query.get("api_key") or bearer


def error_response(
    api: str, status: int, retry_after: str | None, presented: str | None = None
) -> web.Response:
    """An error body in the given API's format, with Retry-After when asked."""
    anthropic_type, openai_type = _ERROR_TYPES.get(status, ("api_error", "server_error"))
    message = f"fake server: injected HTTP {status}"
    if presented:
        message += f": incorrect API key provided: {presented}"
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    if api == "anthropic":
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": anthropic_type, "message": message},
        }
        headers["request-id"] = "req_fake_error"
    else:
        body = {"error": {"message": message, "type": openai_type, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=headers)
