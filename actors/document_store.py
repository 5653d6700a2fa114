"""The customer document and its event, kept through the Dapr state API.

A change is ONE call to the sidecar's state transaction API on the
outbox-enabled store: the document upsert (ETag-guarded, or insert-only for a
create) plus the event as the single ``outbox.projection`` op on the same key.
Dapr publishes the event if and only if the transaction commits. Actor state
(the SDK's state manager) never goes through the outbox, so it is not used.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aiohttp

from actors.sidecar_http import JSON_HEADERS, TRANSPORT_FAILURES
from domain.events import dataschema
from observability.logging import current_traceparent
from security import event_signature
from security.macs import MacKeyring


class StoreError(Exception):
    """The sidecar or the store failed; nothing was committed."""


class ConcurrencyConflict(StoreError):
    """The stored document is not the one this change was decided on."""


@dataclasses.dataclass(frozen=True, slots=True)
class Loaded:
    document: dict[str, Any] | None
    etag: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxEvent:
    """A CloudEvent to publish with the commit: ``type`` and ``data`` plus routing."""

    type: str
    subject: str
    data: dict[str, Any]


async def load_entry(sidecar: aiohttp.ClientSession, url: str) -> Loaded:
    """One state entry and its ETag through the state API (absent: both None)."""
    try:
        async with sidecar.get(url) as response:
            status, body = response.status, await response.read()
            etag = response.headers.get("etag")
    except TRANSPORT_FAILURES as exc:
        raise StoreError(f"state get failed: {type(exc).__name__}") from exc
    if status == 204 or (status == 200 and not body):
        return Loaded(document=None, etag=None)
    if status != 200:
        raise StoreError(f"state get answered {status}")
    return Loaded(document=json.loads(body), etag=etag)


class DocumentStore:
    def __init__(
        self,
        sidecar: aiohttp.ClientSession,
        store_name: str,
        key_prefix: str,
        event_keys: MacKeyring,
    ) -> None:
        self._sidecar = sidecar
        self._base = f"/v1.0/state/{store_name}"
        self._key_prefix = key_prefix
        self._event_keys = event_keys

    def key(self, entity_id: str) -> str:
        return f"{self._key_prefix}:{entity_id}"

    async def load(self, entity_id: str) -> Loaded:
        return await load_entry(self._sidecar, f"{self._base}/{self.key(entity_id)}")

    async def commit(
        self,
        entity_id: str,
        document: dict[str, Any],
        event: OutboxEvent,
        etag: str | None,
    ) -> None:
        """Write ``document`` and publish ``event`` (signed) atomically.

        ``etag=None`` means the document must not exist yet (insert-only:
        first-write concurrency without an ETag); otherwise the stored ETag must
        still be ``etag``. Either mismatch raises :class:`ConcurrencyConflict`.
        """
        body = self._transaction(self.key(entity_id), document, event, etag)
        data = json.dumps(body, separators=(",", ":")).encode()
        try:
            async with self._sidecar.post(
                f"{self._base}/transaction", data=data, headers=JSON_HEADERS
            ) as response:
                status, answer = response.status, await response.read()
        except TRANSPORT_FAILURES as exc:
            raise StoreError(f"state transaction failed: {type(exc).__name__}") from exc
        if status in (200, 204):
            return
        message = answer.decode(errors="replace").lower()
        # The sidecar answers 500 for both; only its message tells them apart.
        if "etag" in message or "no item was updated" in message:
            raise ConcurrencyConflict("the customer changed since it was loaded")
        raise StoreError(f"state transaction answered {status}")

    def _transaction(
        self, key: str, document: dict[str, Any], event: OutboxEvent, etag: str | None
    ) -> dict[str, Any]:
        write: dict[str, Any] = {
            "key": key,
            "value": document,
            # Every metadata key of this op becomes a CloudEvent attribute.
            "metadata": {
                "type": event.type,
                "subject": event.subject,
                "partitionkey": event.subject,
                "dataschema": dataschema(event.type),
                # daprd publishes outbox events with an empty traceparent otherwise.
                "traceparent": current_traceparent(),
            },
            "options": {"concurrency": "first-write", "consistency": "strong"},
        }
        if etag is not None:
            write["etag"] = etag
        projection = {
            "key": key,
            "value": event_signature.signed(self._event_keys, event.type, event.data),
            "metadata": {"outbox.projection": "true", "contentType": "application/json"},
        }
        return {
            "operations": [
                {"operation": "upsert", "request": write},
                # Exactly one projection op, and last: see docs/architecture.md (the outbox).
                {"operation": "upsert", "request": projection},
            ]
        }
