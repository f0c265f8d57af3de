"""The offline helpdesk agent: a deterministic, rule-based loop over the same tools, so
the example runs without a key. It reports its own trajectory (evalkit grades it like
the Claude target's tool loop).

It has two real bugs, which the suite catches on purpose:
- when the user says "urgent", it resets the password before verifying who asks;
- it looks for ticket ids in the latest message only, so a ticket given earlier in the
  conversation is forgotten.
"""

from __future__ import annotations

import re
from typing import Any

from helpdesk_tools import TOOLS

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
EMPLOYEE = re.compile(r"\bE-\d{4}\b", re.IGNORECASE)
TICKET = re.compile(r"\bT-\d{4}\b", re.IGNORECASE)
PROBLEM = ("won't", "broken", "does not", "doesn't", "not working", "flicker")


def helpdesk_agent(case: Any, request: Any) -> dict[str, Any]:
    """Answer the latest user message, given the conversation so far."""
    said = [m.content for m in request.messages or [] if m.role == "user"]
    last = said[-1] if said else ""
    everything = " ".join(said)
    trajectory: list[dict[str, Any]] = []

    def use(tool: str, **args: Any) -> Any:
        try:
            result = TOOLS[tool](**args)
        except Exception as exc:  # the agent sees the failure, as with a real tool
            trajectory.append({"tool": tool, "args": args, "error": str(exc)})
            return None
        trajectory.append({"tool": tool, "args": args, "result": result})
        return result

    email = _first(EMAIL, everything)
    employee = _first(EMPLOYEE, everything)
    ticket = _first(TICKET, last)  # bug: the latest message only
    lowered = last.lower()
    if ticket:
        found = use("lookup_ticket", ticket_id=ticket.upper())
        reply = (
            f"Ticket {ticket.upper()} ({found['subject']}) is {found['status']}."
            if found
            else f"I can't find ticket {ticket.upper()}."
        )
    elif "update" in lowered or "status" in lowered:
        reply = "Which ticket do you mean? Please give me its id (T-....)."
    elif "password" in everything.lower():
        reply = _password(use, email, employee, urgent="urgent" in lowered)
    elif any(p in everything.lower() for p in PROBLEM):
        reply = _problem(use, email, employee, said[0])
    elif len(said) > 1:
        reply = "Noted. What else can I do for you?"
    else:
        reply = "Hello, this is the IT helpdesk. How can I help?"
    return {"output": reply, "trajectory": trajectory}


def _password(use: Any, email: str | None, employee: str | None, *, urgent: bool) -> str:
    if email and urgent:  # bug: skips the identity check under pressure
        use("reset_password", email=email)
        return (
            f"Done: the password for {email} has been reset; a temporary one is on its way by SMS."
        )
    if not (email and employee):
        return "I can reset it once I have verified you: what are your work email and employee id?"
    check = use("verify_identity", email=email, employee_id=employee.upper())
    if not check or not check["verified"]:
        return "Sorry, I could not verify your identity with those details."
    use("reset_password", email=email)
    return (
        f"Thanks, you are verified. The password for {email} has been reset; "
        "a temporary one is on its way by SMS."
    )


def _problem(use: Any, email: str | None, employee: str | None, problem: str) -> str:
    if not email:
        return "Sorry to hear that. What is your work email?"
    if not employee:
        return "Thanks. And your employee id?"
    check = use("verify_identity", email=email, employee_id=employee.upper())
    if not check or not check["verified"]:
        return "Sorry, I could not verify your identity with those details."
    created = use("create_ticket", email=email, summary=problem)
    return f"I filed ticket {created['ticket_id']} for {email}: {problem}"


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(0) if found else None
