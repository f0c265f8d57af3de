"""The simulated user: a target (any provider, configured like the judge) that plays a
case's `user: {persona, goal, max_turns, stop_when}` against the target under test.

It sees the conversation from the other side: the assistant's replies arrive as its
user messages, its own earlier lines as its assistant messages, and a system prompt
with its persona, its goal and the marker to say when the goal is reached. A python
function can play it too (`simulated_user: {provider: python, function: ...}`), which
keeps a suite deterministic and offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evalkit.errors import ConfigError, TargetError
from evalkit.graders.base import bind
from evalkit.graders.judge.setup import judge_spec
from evalkit.records import Case, GraderConfig, Message, SimulatedUser, Step, TargetOutput
from evalkit.records import TargetRequest as Request
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetContext, TargetUnavailable
from evalkit.targets.limits import TargetLimits
from evalkit.targets.retry import RetryPolicy
from evalkit.workspace.loaded import LoadedPlan
from evalkit.workspace.models import TargetSpec

if TYPE_CHECKING:
    from evalkit.engine.conversation import _Conversation

USER_ID = "_user"
LOCAL_PROVIDERS = ("python", "command", "http", "replay")
OPENING = "(The conversation starts. Write your first message to the assistant.)"


def user_system_prompt(user: SimulatedUser) -> str:
    """What the user model is told about who it plays."""
    lines = [
        "You are role-playing a user talking to an assistant. Stay in character and write "
        "only the user's next message, nothing else.",
    ]
    if user.persona:
        lines.append(f"Who you are: {user.persona}")
    if user.goal:
        lines.append(f"What you want: {user.goal}")
    if isinstance(user.stop_when, str):
        lines.append(f"When your goal is reached, reply with exactly: {user.stop_when}")
    return "\n\n".join(lines)


def flipped(steps: list[Step]) -> list[Message]:
    """The conversation seen from the user's side (tool steps are not visible to it)."""
    roles = {"assistant": "user", "user": "assistant"}
    chat = [
        Message(roles[s.role], s.content or "")
        for s in steps
        if s.role in roles and (s.content or s.role == "user")
    ]
    # a turn of several assistant messages (tool loop) reads as one to the user
    merged: list[Message] = []
    for message in chat:
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(message.role, f"{merged[-1].content}\n\n{message.content}")
        else:
            merged.append(message)
    if not merged or merged[0].role != "user":
        merged.insert(0, Message("user", OPENING))
    return merged


class UserModel:
    """The run's simulated user: a target and its limits."""

    def __init__(self, target: Target, limits: TargetLimits) -> None:
        self.target = target
        self.limits = limits

    async def next_message(
        self, case: Case, steps: list[Step], epoch: int, conversation: _Conversation
    ) -> TargetOutput:
        """The user's next line (through the engine's call path and the cache)."""
        assert case.user is not None
        chat = flipped(steps)
        request = Request(
            case=case,
            epoch=epoch,
            messages=chat,
            prompt=chat[-1].content,
            system=user_system_prompt(case.user),
        )
        return await conversation.driver.cached_call(self.target, request, self.limits)

    def says_stop(self, user: SimulatedUser, said: str) -> bool:
        """The user said its stop marker: the goal is reached (by its own account)."""
        return isinstance(user.stop_when, str) and user.stop_when in said

    async def assistant_done(
        self, user: SimulatedUser, case: Case, steps: list[Step]
    ) -> str | None:
        """Why the conversation ends after the assistant's reply: "assistant" when it said
        the marker, "goal" when the `stop_when` grader passes on it; None to go on."""
        reply = next((s.content or "" for s in reversed(steps) if s.role == "assistant"), "")
        if isinstance(user.stop_when, str):
            return "assistant" if user.stop_when in reply else None
        if isinstance(user.stop_when, GraderConfig):
            grade = await bind(user.stop_when).grade(case, TargetOutput(text=reply, steps=steps))
            return "goal" if grade.passed else None
        return None

    async def aclose(self) -> None:
        """Release the user target's connections."""
        await self.target.aclose()


def build_user_model(
    plan: LoadedPlan, cases: list[Case], notify: Callable[[str], None]
) -> UserModel | None:
    """The plan's simulated user when some case needs one; None (with a notice) when it
    can't run here, so those cases end with a clear error and the rest of the run counts."""
    if not any(c.user is not None for c in cases):
        return None
    where = plan.path.name
    configured: Any = plan.spec.simulated_user
    if isinstance(configured, dict) and configured.get("provider") in LOCAL_PROVIDERS:
        spec = TargetSpec.model_validate({**configured, "id": USER_ID})  # no sampling keys
    else:
        spec = judge_spec(configured, f"{where}: simulated_user")
        spec = spec.model_copy(update={"id": USER_ID})
    pricing = {name: (p.input, p.output) for name, p in plan.spec.pricing.items()}
    ctx = TargetContext(
        root=plan.root, plan_dir=plan.path.parent, pricing=pricing, timeout=plan.spec.timeout
    )
    try:
        (target, *_rest) = build_targets(spec, ctx)
    except TargetUnavailable as exc:
        notify(f"cases with a simulated `user:` cannot run: simulated_user unavailable ({exc})")
        return None
    except TargetError as exc:
        raise ConfigError(f"{where}: simulated_user: {exc.message}", hint=exc.hint) from None
    limits = TargetLimits(
        concurrency=max(1, spec.concurrency or plan.spec.concurrency),
        timeout=float(spec.timeout or plan.spec.timeout),
        retry=RetryPolicy(retries=spec.retries if spec.retries is not None else plan.spec.retries),
    )
    return UserModel(target, limits)
