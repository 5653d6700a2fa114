"""Ground truth, read behind the service's back, and the checks against it.

- Stored documents: the Dapr state table in Postgres (``dapr_state``, key
  ``customer-service||customer:<id>``): the version and the JSON.
- Events: the Redis stream ``customer-events`` read with XRANGE. daprd's Redis
  pub/sub writes each message as a stream entry with a ``data`` field (the
  CloudEvent JSON) and sometimes ``metadata``; the entry id's first part is
  the time Redis appended it (ms).
- The read model: ``customers`` (id, version).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from domain.events import CUSTOMER_RESYNCED, EVENT_TYPES
from tests.chaos.load import ACKED, ADDRESS, CREATE, PATCH, REFUSED, Write
from tests.support.redis_wire import RedisWire

EVENTS_STREAM = "customer-events"
SEGMENTS_CHANGED = "customer.segments.changed"
DOCUMENT_PREFIX = "customer-service||customer:"
KINDS = (("SHIPPING", "default_shipping_address_id"), ("BILLING", "default_billing_address_id"))


@dataclasses.dataclass(frozen=True, slots=True)
class StreamEvent:
    entry_id: str
    appended_at: float  # seconds since the epoch (Redis' clock)
    type: str
    customer_id: str | None
    version: int | None
    occurred_at: float | None
    data: dict[str, Any]

    @property
    def change(self) -> bool:
        """A committed change's own event (published by the outbox)."""
        return self.type in EVENT_TYPES


def _cloud_event_data(event: dict[str, Any]) -> dict[str, Any]:
    data: Any = event.get("data")
    if data is None and "data_base64" in event:
        data = base64.b64decode(event["data_base64"])
    if isinstance(data, bytes | str):
        data = json.loads(data)
    return data if isinstance(data, dict) else {}


def _moment(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text).timestamp()


async def stream_events(redis_address: str, password: str) -> list[StreamEvent]:
    async with await RedisWire.connect(redis_address, password) as redis:
        entries = await redis.stream_entries(EVENTS_STREAM)
    events = []
    for entry_id, fields in entries:
        cloud_event = json.loads(fields["data"])
        data = _cloud_event_data(cloud_event)
        version = data.get("version")
        events.append(
            StreamEvent(
                entry_id=entry_id,
                appended_at=int(entry_id.split("-", 1)[0]) / 1000,
                type=str(cloud_event.get("type", "")),
                customer_id=data.get("customer_id"),
                version=int(version) if isinstance(version, int | float) else None,
                occurred_at=_moment(data.get("occurred_at")),
                data=data,
            )
        )
    return events


async def stored_documents(dsn: str) -> dict[str, dict[str, Any]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT key, convert_from(value, 'UTF8') AS doc FROM dapr_state WHERE key LIKE $1",
            DOCUMENT_PREFIX + "%",
        )
    finally:
        await connection.close()
    return {row["key"][len(DOCUMENT_PREFIX) :]: json.loads(row["doc"]) for row in rows}


async def outbox_markers(dsn: str) -> int:
    """Markers left in the state table. The outbox deletes a transaction's marker
    after publishing its event: one that stays is an event it discarded (or one
    whose marker it could not delete)."""
    connection = await asyncpg.connect(dsn)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM dapr_state WHERE key LIKE 'outbox-%'"
        )
    finally:
        await connection.close()
    return int(count)


async def read_model_versions(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT id::text AS id, version FROM customers")
    finally:
        await connection.close()
    return {row["id"]: int(row["version"]) for row in rows}


def public(document: dict[str, Any]) -> dict[str, Any]:
    """The stored document as a snapshot shows it (without the internal part)."""
    return {key: value for key, value in document.items() if key != "internal"}


def normalized_email(email: str) -> str:
    """As the service compares emails (README: NFC of the case-folded text)."""
    return unicodedata.normalize("NFC", email.casefold())


# -- the checks ------------------------------------------------------------------------


@dataclasses.dataclass
class Findings:
    """What one check found: a count and the first few cases, for the report."""

    count: int = 0
    cases: list[str] = dataclasses.field(default_factory=list)

    def add(self, case: str, count: int = 1) -> None:
        self.count += count
        if len(self.cases) < 12:
            self.cases.append(case)

    def merge(self, other: Findings) -> Findings:
        merged = Findings(self.count + other.count, self.cases[:])
        merged.cases += other.cases[: 12 - len(merged.cases)]
        return merged


def lost_writes(writes: Iterable[Write], documents: dict[str, dict[str, Any]]) -> Findings:
    """Acknowledged writes the stored documents do not reflect."""
    found = Findings()
    by_customer: dict[str, list[Write]] = defaultdict(list)
    for write in writes:
        by_customer[write.customer_id].append(write)
    for customer_id, history in by_customer.items():
        document = documents.get(customer_id)
        for write in history:
            if write.outcome != ACKED:
                continue
            assert write.version is not None
            what = f"{write.kind} {customer_id} v{write.version}"
            if document is None:
                found.add(f"{what}: no stored document")
                continue
            if int(document["version"]) < write.version:
                found.add(f"{what}: stored version is {document['version']}")
                continue
            if write.kind == ADDRESS and not any(
                a["id"] == write.address_id for a in document.get("addresses") or []
            ):
                found.add(f"{what}: address {write.address_id} not stored")
            if write.kind == PATCH:
                # Its chaos_seq, or that of a later PATCH that may have landed.
                allowed = {
                    w.seq
                    for w in history
                    if w.kind == PATCH and w.outcome != REFUSED and (w.seq or 0) >= (write.seq or 0)
                }
                stored = (document.get("metadata") or {}).get("chaos_seq")
                if stored not in allowed:
                    found.add(f"{what}: chaos_seq {stored}, acknowledged {write.seq}")
    return found


def refused_writes_that_landed(
    writes: Iterable[Write], documents: dict[str, dict[str, Any]]
) -> Findings:
    """A refusal must leave nothing behind."""
    found = Findings()
    for write in writes:
        if write.outcome != REFUSED:
            continue
        document = documents.get(write.customer_id)
        what = f"refused {write.kind} {write.customer_id} ({write.problem})"
        if write.kind == CREATE and document is not None:
            # Its id comes from its own key: no other write could have made it.
            found.add(f"{what}: the customer exists")
        elif write.kind == PATCH and document is not None:
            if (document.get("metadata") or {}).get("chaos_seq") == write.seq:
                found.add(f"{what}: its chaos_seq {write.seq} is stored")
        elif (
            write.kind == ADDRESS
            and document is not None
            and any(a["id"] == write.address_id for a in document.get("addresses") or [])
        ):
            found.add(f"{what}: its address is stored")
    return found


def default_address_violations(documents: dict[str, dict[str, Any]]) -> Findings:
    """Whenever a kind has addresses, exactly one of them is its default."""
    found = Findings()
    for customer_id, document in documents.items():
        addresses = document.get("addresses") or []
        for kind, field in KINDS:
            serving = {a["id"] for a in addresses if a["type"] in (kind, "BOTH")}
            default = document.get(field)
            if serving and default not in serving:
                found.add(f"{customer_id} v{document['version']}: {field}={default} not a {kind}")
            if not serving and default is not None:
                found.add(f"{customer_id} v{document['version']}: {field}={default}, no {kind}")
    return found


def duplicate_customers(documents: dict[str, dict[str, Any]]) -> Findings:
    """More than one live customer (deleted_at null) for one normalized email."""
    found = Findings()
    holders: dict[str, list[str]] = defaultdict(list)
    for customer_id, document in documents.items():
        if document.get("deleted_at") is None and not document.get("erased_at"):
            holders[normalized_email(document["email"])].append(customer_id)
    for email, ids in holders.items():
        if len(ids) > 1:
            found.add(f"{email}: {', '.join(sorted(ids))}", len(ids) - 1)
    return found


def phantom_events(events: Iterable[StreamEvent], documents: dict[str, dict[str, Any]]) -> Findings:
    """Events whose (customer, version) was never committed.

    A change event or a resynced snapshot must name a stored customer at a
    version it reached; one at the stored version must carry the stored
    snapshot; all events of one (customer, version) must carry one snapshot
    (two would mean one of them was never committed). A segments event is
    derived: its customer must exist at that version or later.
    """
    found = Findings()
    snapshots: dict[tuple[str, int], dict[str, list[str]]] = defaultdict(dict)
    for event in events:
        if not (event.change or event.type in (CUSTOMER_RESYNCED, SEGMENTS_CHANGED)):
            continue
        what = f"{event.type} {event.customer_id} v{event.version} ({event.entry_id})"
        document = documents.get(event.customer_id or "")
        if document is None or event.version is None:
            found.add(f"{what}: no such customer stored")
            continue
        stored_version = int(document["version"])
        if event.version > stored_version:
            found.add(f"{what}: stored version is only {stored_version}")
            continue
        if event.type == SEGMENTS_CHANGED:
            continue
        if "snapshot" not in event.data:
            continue  # an event that changed nothing of the snapshot carries none
        snapshot = event.data.get("snapshot")
        if event.version == stored_version and snapshot != public(document):
            found.add(f"{what}: snapshot differs from the stored document")
            continue
        key = json.dumps(snapshot, sort_keys=True)
        snapshots[(event.customer_id or "", event.version)].setdefault(key, []).append(what)
    for (customer_id, version), variants in snapshots.items():
        if len(variants) > 1:
            found.add(
                f"{customer_id} v{version}: {len(variants)} different snapshots "
                f"({'; '.join(v[0] for v in variants.values())})",
                len(variants) - 1,
            )
    return found


@dataclasses.dataclass
class Coverage:
    missing: Findings
    resync_covered: Findings  # versions whose only event is the reconciler's snapshot
    duplicates: int  # change events beyond the first of a (customer, version)


def event_coverage(
    events: Iterable[StreamEvent], documents: dict[str, dict[str, Any]], customers: Iterable[str]
) -> Coverage:
    """Every committed version 1..N of each customer has at least one event."""
    changes: dict[str, list[int]] = defaultdict(list)
    resynced: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.customer_id is None or event.version is None:
            continue
        if event.change:
            changes[event.customer_id].append(event.version)
        elif event.type == CUSTOMER_RESYNCED:
            resynced[event.customer_id].add(event.version)
    missing, covered, duplicates = Findings(), Findings(), 0
    for customer_id in sorted(customers):
        document = documents.get(customer_id)
        if document is None:
            continue
        seen = changes.get(customer_id, [])
        duplicates += len(seen) - len(set(seen))
        for version in range(1, int(document["version"]) + 1):
            if version in seen:
                continue
            if version in resynced.get(customer_id, set()):
                covered.add(f"{customer_id} v{version}")
            else:
                missing.add(f"{customer_id} v{version}")
    return Coverage(missing, covered, duplicates)


def read_model_lagging(
    versions: dict[str, int], documents: dict[str, dict[str, Any]], customers: Iterable[str]
) -> list[str]:
    """Stored customers whose read-model row is absent or at another version."""
    lagging = []
    for customer_id in sorted(customers):
        document = documents.get(customer_id)
        if document is None:
            continue
        if versions.get(customer_id) != int(document["version"]):
            lagging.append(
                f"{customer_id}: stored v{document['version']}, "
                f"read model v{versions.get(customer_id)}"
            )
    return lagging


def first_publications(events: Iterable[StreamEvent]) -> list[StreamEvent]:
    """Each change event's first appearance in the stream (duplicates left out)."""
    first: dict[tuple[str, int, str], StreamEvent] = {}
    for event in events:
        if not event.change or event.occurred_at is None or event.customer_id is None:
            continue
        key = (event.customer_id, event.version or 0, event.type)
        if key not in first or event.appended_at < first[key].appended_at:
            first[key] = event
    return sorted(first.values(), key=lambda e: e.appended_at)


def publish_delay(event: StreamEvent) -> float:
    """Stream append time minus ``occurred_at``."""
    assert event.occurred_at is not None
    return event.appended_at - event.occurred_at


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
