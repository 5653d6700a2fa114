"""One JSON object per line: level, time, logger, message, trace id, context.

structlog renders both our own loggers and the standard library's (uvicorn,
asyncpg, the Dapr SDK), so every line has the same shape. Values under keys
that look secret are replaced before rendering, whatever logged them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
import structlog.tracebacks
from opentelemetry import trace

# The W3C traceparent of the request being served, for when no OpenTelemetry
# span is active (tracing off): logged as trace_id and passed to the sidecar.
request_traceparent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_traceparent", default=None
)

_SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|api[-_]?key|totp|otp|credential|cookie|dsn",
    re.IGNORECASE,
)
REDACTED = "[REDACTED]"


def _redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event":
            event[key] = _redact(event[key], key)
    return event


# Secrets by their shape, for text no key names: exception messages, tracebacks.
_SECRET_TEXT = re.compile(
    r"(?i:bearer)\s+\S+"  # an Authorization value
    r"|[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT
    r"|[0-9a-fA-F-]{36}\.[A-Za-z0-9_-]{20,}"  # our one-time tokens: <customer id>.<random>
)


def scrub_text(text: str) -> str:
    return _SECRET_TEXT.sub(REDACTED, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_exceptions(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Exception text can quote whatever the failing code held: scrub it."""
    for key in ("exception", "exc_info", "error"):
        if key in event:
            event[key] = _scrub(event[key])
    return event


# Tracebacks as data, without frame locals: those hold requests, tokens, keys.
render_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


def add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    elif (trace_id := trace_id_from_traceparent(request_traceparent.get())) is not None:
        event["trace_id"] = trace_id
    return event


def outgoing_traceparent() -> str | None:
    """The traceparent to pass on, unless OpenTelemetry injects its own."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return request_traceparent.get()


# W3C Trace Context, version 00 (the only one defined; ``ff`` is forbidden): a header
# of any other version is not passed on, and a new trace is started instead.
_TRACEPARENT = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")


def current_traceparent() -> str:
    """The W3C traceparent of the work being done, never empty: the active span's,
    else the request's (tracing off), else a new trace of its own. Events carry
    it (the outbox would publish an empty one)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        flags = "01" if context.trace_flags.sampled else "00"
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags}"
    header = (request_traceparent.get() or "").strip().lower()
    if _TRACEPARENT.match(header):
        return header
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_from_traceparent(header: str | None) -> str | None:
    """``00-<32 hex trace id>-<16 hex span id>-<flags>`` -> the trace id."""
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    return parts[1].lower()


def configure_logging(level: str) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        add_trace_id,
        redact_secrets,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            render_tracebacks,
            scrub_exceptions,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.EventRenamer("message"),
            render_tracebacks,
            scrub_exceptions,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; route them through ours instead. Its
    # access lines are not wanted: the service's own say more (service/middleware.py).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = name != "uvicorn.access"


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
