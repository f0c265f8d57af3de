"""The conversation driver: multi-turn cases, simulated users and the tool loop.

The runner hands it every trial whose case has `turns:` or a `user:`, or whose target
offers tools. Each user turn is sent with the conversation so far (`request.steps`,
natively for the chat SDKs; `request.messages`, its text view, for python, http and
command targets); while the model asks for tools, they are run and their results sent
back, up to the target's `max_steps` model calls per turn. Every model call goes
through the engine's limiter, timeout and retries, and through the response cache under
its own key, so rerunning an unchanged conversation makes no call at all. The result's
`steps` is the whole trajectory; graders of one turn judge the reply of that turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from evalkit.engine.simulated_user import UserModel
from evalkit.graders.aggregate import combine, grade_output
from evalkit.graders.base import BoundGrader, bind
from evalkit.records import (
    Case,
    ErrorKind,
    Grade,
    Message,
    Status,
    Step,
    TargetFailure,
    TargetOutput,
    TargetRequest,
    ToolCall,
    Usage,
)
from evalkit.targets.base import Target, TargetCallError
from evalkit.targets.limits import TargetLimits, request_hash
from evalkit.targets.toolbox import DEFAULT_MAX_STEPS, ToolBox

CallFn = Callable[[Target, TargetRequest, TargetLimits], Awaitable[TargetOutput]]
LookupFn = Callable[[Iterable[str]], dict[str, TargetOutput]]
SaveFn = Callable[[str, str, TargetOutput], None]


class _Engine(Protocol):
    """What the driver uses of the engine (kept narrow so the two stay apart)."""

    cache_lookup: LookupFn | None

    async def call_target(
        self, target: Target, request: TargetRequest, limits: TargetLimits
    ) -> TargetOutput: ...


def toolbox_of(target: Target) -> ToolBox | None:
    """The tools a target offers (set by `build_targets`), if any."""
    found = getattr(target, "toolbox", None)
    return found if isinstance(found, ToolBox) else None


def needs_driver(case: Case, target: Target) -> bool:
    """Whether a trial is a conversation or a tool loop rather than one call."""
    return case.turns is not None or case.user is not None or toolbox_of(target) is not None


@dataclasses.dataclass(slots=True)
class _Tally:
    """What the calls of one conversation add up to."""

    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_ms: float = 0.0
    has_usage: bool = False

    def add(self, output: TargetOutput) -> None:
        self.calls += 1
        self.cached += output.cached
        self.latency_ms += output.latency_ms
        if output.usage is not None and not output.cached:
            self.has_usage = True
            self.input_tokens += output.usage.input_tokens
            self.output_tokens += output.usage.output_tokens
        if output.cost_usd is None:
            self.cost_usd = None
        elif self.cost_usd is not None:
            self.cost_usd += output.cost_usd


class ConversationDriver:
    """Runs conversation and agent trials for one engine."""

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.save: SaveFn | None = None  # the writer's response-cache entry point
        self.user_model: UserModel | None = None  # plays cases' `user:`
        self._turn_graders: dict[int, list[BoundGrader]] = {}
        self._batcher: _LookupBatcher | None = None

    async def produce(
        self, target: Target, case: Case, epoch: int, limits: TargetLimits
    ) -> TargetOutput:
        """Run the whole conversation; the output's `steps` is its trajectory."""
        try:
            return await _Conversation(self, target, case, epoch, limits).run()
        except TargetCallError as exc:
            failure = TargetFailure(exc.kind, exc.message, exc.status_code, exc.retry_after)
            return TargetOutput(error=failure, attempts=0)

    async def cached_call(
        self, target: Target, request: TargetRequest, limits: TargetLimits
    ) -> TargetOutput:
        """One model call, from the response cache under its own key when it is there."""
        fingerprint = target.fingerprint(request)
        key = None if fingerprint is None else request_hash(fingerprint)
        if key is not None and self.engine.cache_lookup is not None:
            if self._batcher is None:
                self._batcher = _LookupBatcher(self.engine.cache_lookup)
            hit = await self._batcher.get(key)
            if hit is not None:
                hit.tool_calls = [ToolCall(*c) for c in hit.metadata.pop("tool_calls", [])]
                return hit
        output = await self.engine.call_target(target, request, limits)
        if key is not None and output.error is None and self.save is not None:
            calls = [[c.id, c.name, c.arguments] for c in output.tool_calls]
            stored = dataclasses.replace(output, metadata={**output.metadata, "tool_calls": calls})
            self.save(key, target.provider, stored)
        return output

    async def grade(
        self, whole: list[BoundGrader], case: Case, output: TargetOutput
    ) -> tuple[list[Grade], Status, float | None]:
        """Grades of each turn's reply (metadata `turn`), then of the whole conversation."""
        grades, status, score = await grade_output(whole, case, output)
        if output.error is not None or not case.turns:
            return grades, status, score
        replies = turn_replies(output.steps or [])
        per_turn: list[Grade] = []
        for number, turn in enumerate(case.turns, start=1):
            bound = self._bound_turn(turn.graders)
            if not bound:
                continue
            reply = replies.get(number)
            for grader in bound:
                if reply is None:
                    grade = _missing_turn(grader, number)
                else:
                    grade = await grader.grade(case, reply)
                grade.metadata = {**grade.metadata, "turn": number}
                if grader.config.metric is None:
                    grade.metric = f"turn{number}/{grade.metric}"
                per_turn.append(grade)
        every = [*per_turn, *grades]
        status, score = combine(every, case.threshold)
        return every, status, score

    def _bound_turn(self, configs: list[Any]) -> list[BoundGrader]:
        key = id(configs)
        if key not in self._turn_graders:
            self._turn_graders[key] = [bind(c) for c in configs]
        return self._turn_graders[key]


class _LookupBatcher:
    """Cache lookups of the conversations in flight, made as one query per loop turn.

    A conversation's later calls depend on its earlier answers, so they can't be looked
    up before the run like one-shot trials; one query per call cost ~9 ms of a blocked
    event loop on the 2-core dev box, which made a cached rerun of 300 two-call tool
    loops take 19 s.
    """

    def __init__(self, lookup: LookupFn) -> None:
        self.lookup = lookup
        self.waiting: dict[str, list[asyncio.Future[TargetOutput | None]]] = {}

    async def get(self, key: str) -> TargetOutput | None:
        """The cached output for `key` (a copy of its own), or None."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TargetOutput | None] = loop.create_future()
        if not self.waiting:
            loop.call_soon(self._flush)  # after every task ready now has asked
        self.waiting.setdefault(key, []).append(future)
        return await future

    def _flush(self) -> None:
        waiting, self.waiting = self.waiting, {}
        try:
            found = self.lookup(list(waiting))
        except Exception as exc:  # a store failure reaches every waiting call
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for key, futures in waiting.items():
            hit = found.get(key)
            for future in futures:
                if not future.done():
                    copy = (
                        None
                        if hit is None
                        else dataclasses.replace(hit, metadata=dict(hit.metadata))
                    )
                    future.set_result(copy)


def turn_replies(steps: list[Step]) -> dict[int, TargetOutput]:
    """Each turn's final assistant reply as an output of its own (with the steps so far)."""
    replies: dict[int, TargetOutput] = {}
    for i, step in enumerate(steps):
        if step.role == "assistant" and step.turn > 0:
            replies[step.turn] = TargetOutput(text=step.content or "", steps=steps[: i + 1])
    return replies


def _missing_turn(grader: BoundGrader, turn: int) -> Grade:
    cfg = grader.config
    return Grade(
        grader=cfg.name,
        metric=cfg.metric_name,
        status=Status.FAIL,
        score=0.0,
        passed=False,
        reason=f"the conversation ended before turn {turn}",
        weight=cfg.weight,
        threshold=cfg.threshold,
    )


def text_view(steps: list[Step]) -> list[Message]:
    """The conversation as plain chat messages (tool steps left out)."""
    return [
        Message(s.role, s.content or "")
        for s in steps
        if s.role in ("user", "assistant") and (s.content or s.role == "user")
    ]


class _Conversation:
    """One trial's conversation, from the first user message to the final answer."""

    def __init__(
        self,
        driver: ConversationDriver,
        target: Target,
        case: Case,
        epoch: int,
        limits: TargetLimits,
    ) -> None:
        self.driver = driver
        self.target = target
        self.case = case
        self.epoch = epoch
        self.limits = limits
        self.toolbox = toolbox_of(target)
        self.steps: list[Step] = []
        self.tally = _Tally()
        self.last: TargetOutput | None = None
        self.stopped_by = ""

    async def run(self) -> TargetOutput:
        case = self.case
        first_turn = case.turns[0].content if case.turns else None
        # Rendered once for the system prompt (and a case's own `messages:` as history).
        if case.turns is not None or case.user is not None:
            # a case's own system messages still count; its chat messages come first
            system = [m for m in case.messages or [] if m.role == "system"]
            shown = dataclasses.replace(case, messages=[*system, Message("user", first_turn or "")])
            base = self.target.render(shown, self.epoch)
            self.steps = [
                Step(m.role, 0, m.content) for m in case.messages or [] if m.role != "system"
            ]
        else:
            base = self.target.render(case, self.epoch)
            self.steps = [Step(m.role, 1, m.content) for m in base.messages or []]
        self.base = base
        self.tools = await self.toolbox.tool_specs() if self.toolbox else None
        if case.turns is not None:
            for number, turn in enumerate(case.turns, start=1):
                self.steps.append(Step("user", number, turn.content))
                if failure := await self.answer(number):
                    return failure
        elif case.user is not None:
            if failure := await self.simulate():
                return failure
        elif failure := await self.answer(1):
            return failure
        return self.result()

    async def answer(self, turn: int) -> TargetOutput | None:
        """The target's reply to the last user message, running tools it asks for."""
        limit = self.case.max_steps or (self.toolbox.max_steps if self.toolbox else None)
        limit = limit or DEFAULT_MAX_STEPS
        for _ in range(limit):
            output = await self.driver.cached_call(self.target, self.request(), self.limits)
            if output.error is not None:
                return self.failed(output)
            self.tally.add(output)
            self.last = output
            usage = output.usage
            self.steps.append(
                Step(
                    role="assistant", turn=turn, content=output.text or "",
                    latency_ms=output.latency_ms,
                    input_tokens=None if usage is None else usage.input_tokens,
                    output_tokens=None if usage is None else usage.output_tokens,
                    cached=output.cached,
                )
            )  # fmt: skip
            if output.steps:  # an agent target reported its own trajectory
                self.steps[-1:-1] = [dataclasses.replace(s, turn=turn) for s in output.steps]
            if not output.tool_calls or self.toolbox is None:
                return None
            for call in output.tool_calls:
                self.steps.append(await self.toolbox.run(call, self.case.tool_results, turn))
        self.stopped_by = "max_steps"
        return None

    async def simulate(self) -> TargetOutput | None:
        """Turns with a simulated user until its goal, a stop marker or `max_turns`."""
        user = self.case.user
        assert user is not None
        model = self.driver.user_model
        if model is None:
            raise TargetCallError(
                ErrorKind.CONFIG,
                f"case '{self.case.id}' has a simulated `user:` but the plan has no "
                "`simulated_user:` that can run here",
            )
        for number in range(1, user.max_turns + 1):
            if number == 1 and user.first is not None:
                said = user.first
            else:
                reply = await model.next_message(self.case, self.steps, self.epoch, self)
                if reply.error is not None:
                    return self.failed(reply)
                said = reply.text or ""
            if model.says_stop(user, said):
                self.stopped_by = "user"
                return None
            self.steps.append(Step("user", number, said))
            if failure := await self.answer(number):
                return failure
            if ended := await model.assistant_done(user, self.case, self.steps):
                self.stopped_by = ended
                return None
        self.stopped_by = "max_turns"
        return None

    def request(self) -> TargetRequest:
        chat = text_view(self.steps)
        last_user = next((m.content for m in reversed(chat) if m.role == "user"), None)
        return dataclasses.replace(
            self.base,
            messages=chat,
            prompt=last_user,
            steps=list(self.steps),
            tools=self.tools or None,
        )

    def failed(self, output: TargetOutput) -> TargetOutput:
        """The conversation stopped on a failed call: the error, with the steps so far."""
        output.steps = self.steps
        return output

    def result(self) -> TargetOutput:
        tally = self.tally
        last = self.last or TargetOutput(text="")
        usage = Usage(tally.input_tokens, tally.output_tokens) if tally.has_usage else None
        metadata = {
            **{k: v for k, v in last.metadata.items() if k != "tool_calls"},
            "model_calls": tally.calls,
            "cached_calls": tally.cached,
            "turns": max((s.turn for s in self.steps), default=0),
            "tool_calls": sum(1 for s in self.steps if s.role == "tool"),
        }
        if self.stopped_by:
            metadata["stopped_by"] = self.stopped_by
        return TargetOutput(
            text=last.text,
            data=last.data,
            usage=usage,
            latency_ms=tally.latency_ms,
            cost_usd=tally.cost_usd,
            metadata=metadata,
            cached=tally.calls > 0 and tally.cached == tally.calls,
            steps=self.steps,
        )
