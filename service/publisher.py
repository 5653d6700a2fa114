"""Publishing CloudEvents through the sidecar, for what is not a state change
of a customer (those go out through the outbox): segment membership changes
and dead letters. Each carries this service's event signature."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from actors.sidecar_http import TRANSPORT_FAILURES
from domain.events import dataschema
from domain.model import timestamp
from observability.logging import current_traceparent
from security import event_signature
from security.macs import MacKeyring

_CLOUDEVENT = {"content-type": "application/cloudevents+json"}


class PublishFailed(Exception):
    pass


class Publisher:
    def __init__(
        self, sidecar: aiohttp.ClientSession, pubsub: str, keys: MacKeyring, source: str
    ) -> None:
        self._sidecar = sidecar
        self._pubsub = pubsub
        self._keys = keys
        self._source = source

    async def publish(
        self, topic: str, event_type: str, subject: str, data: dict[str, Any]
    ) -> None:
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": self._source,
            "type": event_type,
            "subject": subject,
            "partitionkey": subject,
            "time": timestamp(datetime.now(UTC)),
            "datacontenttype": "application/json",
            "dataschema": dataschema(event_type),
            "traceparent": current_traceparent(),
            "data": event_signature.signed(self._keys, event_type, data),
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        try:
            async with self._sidecar.post(
                f"/v1.0/publish/{self._pubsub}/{topic}", data=body, headers=_CLOUDEVENT
            ) as response:
                status = response.status
                await response.read()
        except TRANSPORT_FAILURES as exc:
            raise PublishFailed(type(exc).__name__) from exc
        if status not in (200, 204):
            raise PublishFailed(f"publish answered {status}")
