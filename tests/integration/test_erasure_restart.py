"""Erasure deadlines are reminders in the Dapr scheduler, not anything a process
keeps: one survives a restart of the sidecar between the request and the
deadline, and a soft delete's retention ends in an erasure unless a restore
comes first. On a stack of its own, whose sweep would act only an hour late, so
only the reminders can erase here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import App, Infrastructure
from tests.support.credentials import admin_token, call_actor
from tests.support.polling import eventually
from tests.support.stacks import own_stack
from tests.support.values import customer_body

CUSTOMERS = "/api/v1/customers"
GRACE_SECONDS = 25
RETENTION_SECONDS = 8


@pytest.fixture(scope="module")
def erasure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Infrastructure, App]]:
    env = {
        "CUSTOMER_ERASURE_GRACE_DAYS": repr(GRACE_SECONDS / 86400),
        "CUSTOMER_DELETED_RETENTION_DAYS": repr(RETENTION_SECONDS / 86400),
        # No backup by the sweep within this test: only the reminder can erase.
        "CUSTOMER_ERASURE_SWEEP_LAG_SECONDS": "3600",
    }
    with own_stack(Path(tmp_path_factory.mktemp("erasure")), env) as stack:
        yield stack


@pytest.fixture
async def api(erasure_stack: tuple[Infrastructure, App]) -> AsyncIterator[httpx.AsyncClient]:
    _, app = erasure_stack
    headers = {"authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(base_url=app.app_url, headers=headers, timeout=30) as client:
        yield client


async def test_a_restart_between_request_and_deadline_still_erases(
    erasure_stack: tuple[Infrastructure, App], api: httpx.AsyncClient
) -> None:
    _, app = erasure_stack
    created = await api.post(CUSTOMERS, json=customer_body())
    assert created.status_code == 201
    customer_id = created.json()["customer"]["id"]
    asked = await api.post(f"{CUSTOMERS}/{customer_id}/erasure", json={})
    assert asked.status_code == 202
    started = time.monotonic()

    await asyncio.to_thread(app.restart_sidecar)
    assert time.monotonic() - started < GRACE_SECONDS, "the restart outlasted the grace"

    async def erased() -> bool | None:
        response = await api.get(f"{CUSTOMERS}/{customer_id}")
        if response.status_code == 410:
            return True
        if response.status_code == 503:
            return None  # the sidecar is still recovering: asked again until the deadline
        assert response.status_code == 200, response.text  # not erased early
        return None

    await eventually(erased, within=GRACE_SECONDS + 30, what="the erasure after the restart")
    assert time.monotonic() - started >= GRACE_SECONDS - 1


async def test_a_soft_deleted_customer_is_erased_after_the_retention_unless_restored(
    api: httpx.AsyncClient,
) -> None:
    ids = []
    for _ in range(2):
        created = await api.post(CUSTOMERS, json=customer_body())
        assert created.status_code == 201
        ids.append(created.json()["customer"]["id"])
        assert (await api.delete(f"{CUSTOMERS}/{ids[-1]}")).status_code == 204
        deleted_at = time.monotonic()
    deleted, restored = ids
    assert (await api.post(f"{CUSTOMERS}/{restored}/restore")).status_code == 200

    async def erased() -> bool | None:
        response = await api.get(f"{CUSTOMERS}/{deleted}", params={"include_deleted": "true"})
        return True if response.status_code == 410 else None

    await eventually(erased, within=RETENTION_SECONDS + 30, what="the erasure at retention")
    # The restored one's reminder, had it stayed, would have fired by then.
    await still_there_until(api, restored, deleted_at + RETENTION_SECONDS + 2)


async def test_a_deadline_without_its_reminder_gets_it_back_from_the_sweeps_call(
    erasure_stack: tuple[Infrastructure, App], api: httpx.AsyncClient
) -> None:
    """As a customer soft-deleted before reminders existed: the first sweep after a
    start asks its actor, which sets the reminder again; one not asked stays."""
    _, app = erasure_stack
    token = app.sidecar_spec.env["DAPR_API_TOKEN"]
    async with httpx.AsyncClient(
        base_url=app.sidecar_url, headers={"dapr-api-token": token}, timeout=30
    ) as sidecar:
        ids = []
        for _ in range(2):
            created = await api.post(CUSTOMERS, json=customer_body())
            ids.append(created.json()["customer"]["id"])
            assert (await api.delete(f"{CUSTOMERS}/{ids[-1]}")).status_code == 204
            forgot = await sidecar.delete(f"/v1.0/actors/Customer/{ids[-1]}/reminders/erasure-due")
            assert forgot.status_code in (200, 204), forgot.text
            deleted_at = time.monotonic()
        reminded, forgotten = ids
        answer = await call_actor(sidecar, "Customer", reminded, "erase_if_due", {})
        assert answer.status_code == 200, answer.text
        assert answer.json()["erased"] is False  # not due yet: its reminder is set again

    async def erased() -> bool | None:
        response = await api.get(f"{CUSTOMERS}/{reminded}", params={"include_deleted": "true"})
        return True if response.status_code == 410 else None

    await eventually(erased, within=RETENTION_SECONDS + 30, what="the erasure by the new reminder")
    # Had its reminder stayed, it would have fired by then; nothing else erases it.
    await still_there_until(api, forgotten, deleted_at + RETENTION_SECONDS + 2)


async def still_there_until(api: httpx.AsyncClient, customer_id: str, moment: float) -> None:
    """The customer (soft-deleted or not) is there at every look until ``moment``
    (this process's monotonic clock) has passed."""

    async def past() -> bool | None:
        response = await api.get(f"{CUSTOMERS}/{customer_id}", params={"include_deleted": "true"})
        assert response.status_code == 200, response.text
        return True if time.monotonic() > moment else None

    await eventually(past, within=moment - time.monotonic() + 10, what="the deadline passing")
