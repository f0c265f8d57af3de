"""The degradation alert as a Slack-compatible incoming-webhook payload, and posting it.

Slack, Mattermost, Rocket.Chat and most chat bridges accept `{"text": ...}`; Slack also
renders the `blocks`. The webhook URL is a secret: it is never printed or stored, and
errors name only its host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from evalkit.analysis.trend import TrendSeries
from evalkit.errors import EvalkitError, UsageError

TIMEOUT_SECONDS = 10.0


def _value(metric: str, value: float) -> str:
    return f"{value:.1%}" if metric == "pass rate" else f"{value:.3f}"


def degradation_payload(all_series: list[TrendSeries], report: str | None = None) -> dict[str, Any]:
    """A Slack-compatible message listing every degraded series."""
    flagged = [s for s in all_series if s.degradations]
    lines = []
    for s in flagged:
        latest = s.points[-1]
        for d in s.degradations:
            note = " (target config changed)" if d.config_changed else ""
            lines.append(
                f"• {s.key}: {d.metric} {_value(d.metric, d.latest)} vs "
                f"{_value(d.metric, d.baseline)} before (p={d.p_value:.2g}), "
                f"run {latest.run_id}{note}"
            )
    title = f"evalkit: {len(flagged)} of {len(all_series)} suite x target series degraded"
    body = "\n".join(lines)
    if report:
        body += f"\nReport: {report}"
    return {
        "text": f"{title}\n{body}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},
        ],
    }


def post(url: str, payload: dict[str, Any]) -> None:
    """POST the payload as JSON; a refused or failed delivery is an EvalkitError (exit 3)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            "the webhook URL must be an http(s) URL",
            hint="pass --webhook URL or set EVALKIT_WEBHOOK_URL",
        )
    host = parts.hostname or "?"
    try:
        response = httpx.post(url, json=payload, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise EvalkitError(
            f"could not deliver the degradation alert to the webhook at {host}: "
            f"{type(exc).__name__}"
        ) from None  # the exception text may carry the secret URL
    if response.status_code >= 300:
        raise EvalkitError(
            f"the webhook at {host} refused the degradation alert: HTTP {response.status_code}"
        )
