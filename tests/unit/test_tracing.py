"""With tracing on, the service continues the caller's W3C trace."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from observability.tracing import configure_tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


def test_request_spans_continue_the_incoming_traceparent() -> None:
    app = FastAPI()

    @app.get("/api/v1/customers/{customer_id}")
    async def read(customer_id: str) -> dict[str, str]:
        return {"id": customer_id}

    @app.get("/livez")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    exporter = InMemorySpanExporter()
    provider = configure_tracing(app, "test", exporter=exporter)
    client = TestClient(app)

    client.get(
        "/api/v1/customers/c-1", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"}
    )
    client.get("/livez")
    provider.force_flush()

    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind.name == "SERVER"]
    assert len(server) == 1  # probes are not traced
    (span,) = server
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    assert span.resource.attributes["service.name"] == "customer-service"
