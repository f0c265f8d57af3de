"""A recorded run as OpenTelemetry traces, following the GenAI semantic conventions.

One trace per run: a root span for the run, one span per trial under it, and under
each trial a `chat MODEL` span for the model call (gen_ai.system, gen_ai.request.model,
gen_ai.usage.input_tokens / output_tokens) and one span per grade carrying the verdict
as attributes and as a `gen_ai.evaluation.result` event. Spans keep the trials' real
start and end times, so a trace sent after the run looks like one sent live.

Sent with opentelemetry-sdk's OTLP/HTTP (protobuf) exporter, an optional extra:
`pip install 'evalkit-cli[otel]'`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from evalkit.errors import UsageError

SERVICE = "evalkit"
# evalkit provider -> gen_ai.system (the GenAI conventions' names for the big vendors)
SYSTEMS = {"anthropic": "anthropic", "openai": "openai"}


def export_trace(
    header: dict[str, Any], trials: Iterable[dict[str, Any]], endpoint: str | None
) -> int:
    """Send the run as one trace to the OTLP/HTTP `endpoint` (None: the OTEL_* env vars).

    Returns the number of trial spans sent.
    """
    provider = _provider(endpoint)
    tracer = provider.get_tracer("evalkit")
    sent = 0
    try:
        sent = _emit(tracer, header, trials)
    finally:
        provider.force_flush()
        provider.shutdown()
    return sent


def _provider(endpoint: str | None) -> Any:
    """A tracer provider batching spans to the OTLP/HTTP endpoint."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise UsageError(
            "OpenTelemetry export needs the `otel` extra",
            hint="pip install 'evalkit-cli[otel]' (opentelemetry-sdk and its OTLP exporter)",
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class LiveTrace:
    """`evalkit run --otel`: each trial's spans leave as the trial finishes.

    An engine observer (`trial_finished`); `targets` maps a target id to its provider and
    model. The run's span is opened when the run starts and closed by `finish`.
    """

    def __init__(self, plan: str, targets: dict[str, tuple[str, str | None]]) -> None:
        from opentelemetry import trace

        self._provider = _provider(None)
        self._tracer = self._provider.get_tracer("evalkit")
        self._targets = targets
        self._run = self._tracer.start_span(
            f"evalkit run {plan}", attributes={"evalkit.plan": plan}
        )
        self._parent = trace.set_span_in_context(self._run)
        self.sent = 0

    def trial_finished(self, result: Any) -> None:
        """Send one finished trial (a records.TrialResult) with its call and grades."""
        _trial(self._tracer, _result_row(result, self._targets), self._parent)
        self.sent += 1

    def finish(self, run_id: str, status: str) -> None:
        """Close the run's span and send what is left."""
        self._run.set_attribute("evalkit.run_id", run_id)
        self._run.set_attribute("evalkit.run.status", status)
        self._run.end()
        self._provider.force_flush()
        self._provider.shutdown()


def _result_row(result: Any, targets: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    """A finished trial in the shape the store's trace rows have."""
    output = result.output
    usage = output.usage
    provider, model = targets.get(result.target_id, ("unknown", None))
    return {
        "trial_id": result.trial_id,
        "suite": result.case.suite,
        "case_id": result.case.id,
        "target_id": result.target_id,
        "prompt_id": result.prompt_id,
        "epoch": result.epoch,
        "status": str(result.status),
        "score": result.score,
        "error_kind": str(output.error.kind) if output.error else None,
        "error": output.error.message if output.error else None,
        "latency_ms": output.latency_ms if not output.error else None,
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cost_usd": output.cost_usd,
        "cached": output.cached,
        "attempts": output.attempts,
        "started_at": datetime.fromtimestamp(result.started_at, UTC) if result.started_at else None,
        "finished_at": datetime.fromtimestamp(result.finished_at, UTC)
        if result.finished_at
        else None,
        "response_model": output.metadata.get("model"),
        "provider": provider,
        "model": model,
        "grades": [
            {
                "metric": g.metric,
                "grader": g.grader,
                "status": str(g.status),
                "score": g.score,
                "passed": g.passed,
                "reason": g.reason,
                "weight": g.weight,
                "threshold": g.threshold,
            }
            for g in result.grades
        ],
    }


def _emit(tracer: Any, header: dict[str, Any], trials: Iterable[dict[str, Any]]) -> int:
    from opentelemetry import trace

    started = _ns(header.get("started_at"))
    run = tracer.start_span(
        f"evalkit run {header.get('plan')}",
        start_time=started,
        attributes=_clean(
            {
                "evalkit.run_id": header.get("run_id"),
                "evalkit.plan": header.get("plan"),
                "evalkit.run.status": header.get("status"),
                "vcs.ref.head.revision": header.get("git_sha"),
            }
        ),
    )
    sent = 0
    ends: list[int] = []
    parent = trace.set_span_in_context(run)
    for trial in trials:
        if (end := _trial(tracer, trial, parent)) is not None:
            ends.append(end)
        sent += 1
    run.end(end_time=_ns(header.get("finished_at")) or max(ends, default=started))
    return sent


def _trial(tracer: Any, row: dict[str, Any], parent: Any) -> int | None:
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode

    start, end = _ns(row["started_at"]), _ns(row["finished_at"])
    model = row.get("response_model") or row.get("model")
    system = SYSTEMS.get(str(row.get("provider")), str(row.get("provider") or "unknown"))
    span = tracer.start_span(
        f"evalkit trial {row['trial_id']}",
        context=parent,
        start_time=start,
        attributes=_clean(
            {
                "evalkit.trial_id": row["trial_id"],
                "evalkit.suite": row["suite"],
                "evalkit.case_id": row["case_id"],
                "evalkit.target_id": row["target_id"],
                "evalkit.prompt_id": row["prompt_id"],
                "evalkit.epoch": row["epoch"],
                "evalkit.status": row["status"],
                "evalkit.score": row["score"],
                "evalkit.cached": row["cached"],
                "gen_ai.system": system,
                "gen_ai.request.model": row.get("model"),
                "gen_ai.usage.input_tokens": row["input_tokens"],
                "gen_ai.usage.output_tokens": row["output_tokens"],
            }
        ),
    )
    inner = trace.set_span_in_context(span)
    _model_call(tracer, row, inner, system, model, start, end)
    for grade in row["grades"]:
        _grade(tracer, grade, inner, end)
    if row["status"] == "error":
        span.set_status(Status(StatusCode.ERROR, str(row.get("error") or "")[:500]))
    elif row["status"] == "fail":
        span.set_status(Status(StatusCode.ERROR, "the trial failed its graders"))
    span.end(end_time=end)
    return end


def _model_call(
    tracer: Any,
    row: dict[str, Any],
    parent: Any,
    system: str,
    model: str | None,
    start: int | None,
    end: int | None,
) -> None:
    """The call to the target, timed by its latency (ending where the answer arrived)."""
    if row.get("latency_ms") is None and row.get("error") is None:
        return  # nothing was called (e.g. a skipped trial)
    call_end: int | None = end
    if start is not None and row.get("latency_ms") is not None:
        call_end = start + int(float(row["latency_ms"]) * 1_000_000)
    span = tracer.start_span(
        f"chat {model}" if model else f"call {row['target_id']}",
        context=parent,
        start_time=start,
        attributes=_clean(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": system,
                "gen_ai.request.model": row.get("model"),
                "gen_ai.response.model": row.get("response_model"),
                "gen_ai.usage.input_tokens": row["input_tokens"],
                "gen_ai.usage.output_tokens": row["output_tokens"],
                "evalkit.cost_usd": row["cost_usd"],
                "evalkit.attempts": row["attempts"],
                "evalkit.cached": row["cached"],
                "error.type": row.get("error_kind"),
            }
        ),
    )
    span.end(end_time=call_end)


def _grade(tracer: Any, grade: dict[str, Any], parent: Any, when: int | None) -> None:
    attributes = _clean(
        {
            "gen_ai.evaluation.name": grade["metric"],
            "gen_ai.evaluation.score.value": grade["score"],
            "gen_ai.evaluation.score.label": grade["status"],
            "gen_ai.evaluation.explanation": grade["reason"],
            "evalkit.grader": grade["grader"],
            "evalkit.grade.passed": grade["passed"],
            "evalkit.grade.weight": grade["weight"],
            "evalkit.grade.threshold": grade["threshold"],
        }
    )
    span = tracer.start_span(
        f"grade {grade['metric']}", context=parent, start_time=when, attributes=attributes
    )
    span.add_event("gen_ai.evaluation.result", attributes=attributes, timestamp=when)
    span.end(end_time=when)


def _ns(value: Any) -> int | None:
    """A stored timestamp as OpenTelemetry's nanoseconds since the epoch."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000_000)
    return None


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    """OpenTelemetry attributes take no None; other values pass as they are."""
    return {k: v for k, v in attributes.items() if v is not None}
