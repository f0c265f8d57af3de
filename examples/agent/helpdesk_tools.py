"""The helpdesk's tools, as workspace functions: the offline agent calls them directly,
and the Claude target's tool loop calls them through evalkit (`tools:` in the plan).

A tiny in-memory directory and ticket system stand in for the real ones, so every run
is deterministic and nothing outside this folder is touched.
"""

from __future__ import annotations

from typing import Any

DIRECTORY = {
    "ana@example.com": {"employee_id": "E-1001", "name": "Ana Lima"},
    "bo@example.com": {"employee_id": "E-1002", "name": "Bo Chen"},
    "cy@example.com": {"employee_id": "E-1003", "name": "Cy Park"},
}
TICKETS = {
    "T-1042": {
        "status": "in progress",
        "subject": "VPN drops every hour",
        "owner": "ana@example.com",
    },
    "T-1077": {
        "status": "waiting for parts",
        "subject": "Laptop screen flickers",
        "owner": "cy@example.com",
    },
}


def lookup_ticket(ticket_id: str) -> dict[str, Any]:
    """A ticket's status and subject."""
    ticket = TICKETS.get(ticket_id.strip().upper())
    if ticket is None:
        raise KeyError(f"no ticket {ticket_id}")
    return {"ticket_id": ticket_id, **ticket}


def verify_identity(email: str, employee_id: str) -> dict[str, Any]:
    """Whether the email and the employee id belong to the same person."""
    person = DIRECTORY.get(email.strip().lower())
    return {"verified": bool(person and person["employee_id"] == employee_id.strip().upper())}


def reset_password(email: str) -> dict[str, Any]:
    """Reset a password; a temporary one goes to the user's phone."""
    if email.strip().lower() not in DIRECTORY:
        raise KeyError(f"no user {email}")
    return {"reset": True, "delivery": "sms"}


def create_ticket(email: str, summary: str) -> dict[str, Any]:
    """File a new ticket for the user; returns its id (stable for the same request)."""
    number = 2000 + sum(map(ord, email + summary)) % 1000
    return {"ticket_id": f"T-{number}", "status": "new"}


TOOLS = {
    "lookup_ticket": lookup_ticket,
    "verify_identity": verify_identity,
    "reset_password": reset_password,
    "create_ticket": create_ticket,
}
