"""Claims on unique keys, kept as plain state entries beside the documents.

Single-key saves, not the transaction API: the outbox publishes every upsert
of a transaction, and a claim is not an event. Each write is ETag-guarded (or
insert-only), so even two activations of one claim actor during a placement
change cannot both win.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from actors.document_store import ConcurrencyConflict, Loaded, StoreError, load_entry
from actors.sidecar_http import JSON_HEADERS, TRANSPORT_FAILURES


class ClaimStore:
    def __init__(self, sidecar: aiohttp.ClientSession, store_name: str) -> None:
        self._sidecar = sidecar
        self._base = f"/v1.0/state/{store_name}"

    @staticmethod
    def state_key(key: str) -> str:
        return f"claim:{key}"

    async def load(self, key: str) -> Loaded:
        return await load_entry(self._sidecar, f"{self._base}/{self.state_key(key)}")

    async def save(self, key: str, claim: dict[str, Any], etag: str | None) -> None:
        """Insert (``etag=None``) or replace the claim the caller loaded."""
        entry: dict[str, Any] = {
            "key": self.state_key(key),
            "value": claim,
            "options": {"concurrency": "first-write", "consistency": "strong"},
        }
        if etag is not None:
            entry["etag"] = etag
        data = json.dumps([entry], separators=(",", ":")).encode()
        try:
            async with self._sidecar.post(self._base, data=data, headers=JSON_HEADERS) as response:
                status, answer = response.status, await response.read()
        except TRANSPORT_FAILURES as exc:
            raise StoreError(f"claim save failed: {type(exc).__name__}") from exc
        _raise_for(status, answer)

    async def delete(self, key: str, etag: str) -> None:
        url = f"{self._base}/{self.state_key(key)}"
        headers = {"If-Match": etag}
        try:
            async with self._sidecar.delete(
                url, headers=headers, params={"concurrency": "first-write"}
            ) as response:
                status, answer = response.status, await response.read()
        except TRANSPORT_FAILURES as exc:
            raise StoreError(f"claim delete failed: {type(exc).__name__}") from exc
        _raise_for(status, answer)


def _raise_for(status: int, answer: bytes) -> None:
    if status in (200, 204):
        return
    # 409 for a stale ETag; an insert over an existing row says "no item was updated".
    if status == 409 or b"no item was updated" in answer:
        raise ConcurrencyConflict("the claim changed since it was loaded")
    raise StoreError(f"claim write answered {status}: {answer[:200].decode(errors='replace')}")
