"""Prometheus series: the seed's names, plus actors, events and commits.

Seed names kept as they were: customer_requests_total,
customer_request_duration_seconds, customer_created_total,
customer_errors_total (customer_addresses_total and
customer_segments_assigned_total arrive with addresses and segments).
"""

from __future__ import annotations

import glob
import os
import secrets
import sys
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
    values,
)

# No `*_created` timestamp series beside every counter: noise on a dashboard.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)

# The API and worker processes of a replica share one scrape: with
# PROMETHEUS_MULTIPROC_DIR set (devstack and the image set it), each process
# writes its series there and /metrics adds them up.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def _program() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec.name if spec else "python").removesuffix(".__main__").replace(".", "-")


# Which process of the replica this is: its files must not collide with the
# other's (in a pod both containers' processes are PID 1), nor with those of
# an earlier incarnation of itself (a container restarted after a kill is PID 1
# again), whose live gauges are forgotten at start.
_INCARNATION = f"{_program()}-{os.getpid()}-{secrets.token_hex(4)}"


def _process_name() -> str:
    return _INCARNATION


def _forget_earlier_incarnations(folder: str) -> None:
    prefix = _INCARNATION.rsplit("-", 1)[0]
    for path in glob.glob(os.path.join(folder, f"gauge_live*_{prefix}-*.db")):
        if not path.endswith(f"_{_INCARNATION}.db"):
            os.remove(path)


if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)
    _forget_earlier_incarnations(MULTIPROCESS_DIR)
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_name)  # type: ignore[no-untyped-call]


def exposition_registry() -> CollectorRegistry:
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def process_exited() -> None:
    """Forget this process's live gauges (call on shutdown)."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(_process_name())  # type: ignore[no-untyped-call]


def endpoint_label(scope: Mapping[str, Any]) -> str:
    """The matched route's template (bounded cardinality), never the raw path."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_LAG_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "customer_requests",
    "HTTP requests served, by route template, method and status code.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "customer_request_duration_seconds",
    "HTTP request duration, by route template and method.",
    ["endpoint", "method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "customer_errors",
    "Requests answered with a problem document, by problem type and route.",
    ["type", "endpoint"],
    registry=REGISTRY,
)
CUSTOMERS_CREATED = Counter("customer_created", "Customers created (committed).", registry=REGISTRY)
ADDRESSES_CREATED = Counter(
    "customer_addresses", "Addresses added to customers (committed).", registry=REGISTRY
)
ACTOR_CALLS = Counter(
    "customer_actor_calls",
    "Actor method calls served by this process, by actor type and method.",
    ["actor_type", "method"],
    registry=REGISTRY,
)
EVENTS_COMMITTED = Counter(
    "customer_events_committed",
    "Events committed to the outbox with their state transaction, by event type.",
    ["type"],
    registry=REGISTRY,
)
COMMIT_DURATION = Histogram(
    "customer_state_commit_duration_seconds",
    "Duration of the state transaction (document + outbox event) through the sidecar.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
EVENTS_RECEIVED = Counter(
    "customer_events_received",
    "Customer events delivered back to this service by its subscription, by event type.",
    ["type"],
    registry=REGISTRY,
)
OUTBOX_LAG = Histogram(
    "customer_outbox_lag_seconds",
    "From an event's occurred_at (its commit) to its delivery on customer-events.",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
PROJECTION_LAG = Histogram(
    "customer_projection_lag_seconds",
    "From an event's occurred_at (its commit) to its projection in the read model.",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
PROJECTED = Counter(
    "customer_projection_events",
    "Customer events offered to the read model, by outcome (applied, stale).",
    ["outcome"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "customer_dead_letters",
    "Events sent to the dead-letter topic because they cannot be applied, by topic.",
    ["topic"],
    registry=REGISTRY,
)
SEGMENTS_ASSIGNED = Counter(
    "customer_segments_assigned",
    "Customers added to a segment.",
    registry=REGISTRY,
)
RECONCILE_DRIFT = Counter(
    "customer_reconcile_drift",
    "Customers whose committed version was missing from the read model, repaired.",
    registry=REGISTRY,
)
RECONCILE_UNREPAIRABLE = Counter(
    "customer_reconcile_unrepairable",
    "Stored customers the reconciler could not project (unreadable or impossible); logged.",
    registry=REGISTRY,
)
RECONCILE_SWEEPS = Counter(
    "customer_reconcile_sweeps",
    "Complete sweeps of the stored documents by the reconciler.",
    registry=REGISTRY,
)
STALE_OUTBOX_MARKERS = Gauge(
    "customer_outbox_stale_markers",
    "Outbox markers older than the configured age: events committed but not published.",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
HEARTBEAT_AGE = Gauge(
    "customer_event_heartbeat_age_seconds",
    "Seconds since a heartbeat event last came back through this replica's subscription.",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
THROTTLED = Counter(
    "customer_throttled",
    "Sign-in steps refused by a throttle, by what refused them (a rate limit per action, a lock).",
    ["throttle"],
    registry=REGISTRY,
)
SESSIONS_ENDED = Counter(
    "customer_sessions_ended",
    "Sessions ended by this process, by reason (logout, revoke, reuse, the event that ended them).",
    ["reason"],
    registry=REGISTRY,
)
