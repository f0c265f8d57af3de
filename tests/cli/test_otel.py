"""OpenTelemetry export: `evalkit export RUN --otlp URL` and `evalkit run --otel`, received
by a real OTLP/HTTP endpoint started here and decoded from protobuf."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.cli.conftest import PYTHON_TARGET, Workspace, openai_target

Cli = Callable[..., tuple[int, str]]


class Receiver:
    """An OTLP/HTTP trace endpoint: keeps every span it is sent, with its attributes."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.paths: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                received.paths.append(self.path)
                for resource in request.resource_spans:
                    service = {a.key: _value(a.value) for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            received.spans.append(_span(span, service))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def named(self, prefix: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["name"].startswith(prefix)]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _span(span: Any, service: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent": span.parent_span_id.hex(),
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "attributes": {a.key: _value(a.value) for a in span.attributes},
        "events": [(e.name, {a.key: _value(a.value) for a in e.attributes}) for e in span.events],
        "service": service.get("service.name"),
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()


def test_export_sends_one_span_per_trial_with_model_calls_and_grades(
    workspace: Workspace, cli: Cli, receiver: Receiver
) -> None:
    workspace.plan(openai_target(workspace.server) + PYTHON_TARGET)
    assert cli("run")[0] == 1
    code, out = cli("export", "latest", "--otlp", receiver.url)
    assert code == 0, out
    assert "6 trial spans" in out
    assert set(receiver.paths) == {"/v1/traces"}
    (run,) = receiver.named("evalkit run support")
    trials = receiver.named("evalkit trial ")
    assert len(trials) == 6
    assert {s["trace_id"] for s in receiver.spans} == {run["trace_id"]}
    assert {s["parent"] for s in trials} == {run["span_id"]}
    assert {s["service"] for s in receiver.spans} == {"evalkit"}
    gpt = next(s for s in trials if s["attributes"]["evalkit.trial_id"] == "support/refund@gpt#0")
    assert gpt["attributes"]["gen_ai.system"] == "openai"
    assert gpt["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert gpt["attributes"]["gen_ai.usage.input_tokens"] > 0
    assert gpt["attributes"]["evalkit.status"] == "pass"
    children = [s for s in receiver.spans if s["parent"] == gpt["span_id"]]
    (call,) = [s for s in children if s["name"].startswith("chat ")]
    assert call["attributes"]["gen_ai.operation.name"] == "chat"
    assert call["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert gpt["start"] <= call["start"] <= call["end"] <= gpt["end"]
    (grade,) = [s for s in children if s["name"] == "grade icontains"]
    assert grade["attributes"]["gen_ai.evaluation.score.label"] == "pass"
    assert grade["events"][0][0] == "gen_ai.evaluation.result"
    failed = next(
        s for s in trials if s["attributes"]["evalkit.trial_id"] == "support/shipping@local#0"
    )
    (failing,) = [
        s for s in receiver.spans if s["parent"] == failed["span_id"] and "grade" in s["name"]
    ]
    assert failing["attributes"]["gen_ai.evaluation.score.label"] == "fail"
    assert "not found" in failing["attributes"]["gen_ai.evaluation.explanation"]


def test_run_otel_sends_trials_as_they_finish(
    workspace: Workspace, cli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
    workspace.plan(openai_target(workspace.server) + PYTHON_TARGET)
    code, out = cli("run", "--otel")
    assert code == 1, out
    assert "sent 6 trial spans to OpenTelemetry" in out
    (run,) = receiver.named("evalkit run support")
    run_id = workspace.sql("SELECT run_id FROM runs")[0][0]
    assert run["attributes"]["evalkit.run_id"] == run_id
    assert run["attributes"]["evalkit.run.status"] == "completed"
    trials = receiver.named("evalkit trial ")
    assert len(trials) == 6 and {s["parent"] for s in trials} == {run["span_id"]}
    gpt = next(s for s in trials if s["attributes"]["evalkit.trial_id"] == "support/refund@gpt#0")
    assert gpt["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert gpt["attributes"]["gen_ai.usage.input_tokens"] > 0
    children = {s["name"] for s in receiver.spans if s["parent"] == gpt["span_id"]}
    assert children == {"chat gpt-4o-mini", "grade icontains"}
    # the live spans say what the stored run says
    stored = dict(workspace.sql("SELECT trial_id, status FROM results"))
    assert {
        s["attributes"]["evalkit.trial_id"]: s["attributes"]["evalkit.status"] for s in trials
    } == stored
