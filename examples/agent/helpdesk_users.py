"""The offline simulated user: plays a case's `user:` deterministically, from the facts
in the case's vars, so the simulated-user cases run without a key (the plan's
`simulated_user:`). A model can play it instead: `simulated_user: anthropic:claude-...`.
"""

from __future__ import annotations

from typing import Any


def helpdesk_user(case: Any, request: Any) -> str:
    """The user's next line, answering what the assistant last asked."""
    facts = case.vars
    # the user sees the assistant's replies as its "user" messages
    heard = request.messages[-1].content.lower() if request.messages else ""
    if "has been reset" in heard or "filed ticket" in heard:
        return "RESOLVED, thank you!"
    if "email" in heard and "employee id" in heard:
        return f"Sure: {facts['email']}, employee id {facts['employee_id']}."
    if "email" in heard:
        return f"It's {facts['email']}."
    if "employee id" in heard:
        return f"{facts['employee_id']}."
    if "could not verify" in heard:
        return "That's strange, those are my details. GIVE UP"
    return str(facts.get("opening", "Hi, I need help."))
