"""OpenTelemetry: spans for FastAPI, asyncpg and calls to the sidecar.

Enabled by CUSTOMER_TRACING_ENABLED; spans go by OTLP/HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT (the SDK's own variable, default
http://localhost:4318). Incoming W3C ``traceparent`` headers (the sidecar
passes them on) are continued, and outgoing calls to the sidecar carry ours.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

# Probes and scrapes would drown the useful spans.
_UNTRACED = "livez,readyz,healthz,metrics,api/v1/customers/health"


def configure_tracing(
    app: FastAPI, service_version: str, exporter: SpanExporter | None = None
) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "customer-service", "service.version": service_version}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=_UNTRACED)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    return provider
