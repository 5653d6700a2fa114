"""The worker's parts, built once in order, run until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import aiohttp
import asyncpg

from accounts import janitor
from actors.client import ActorClient
from actors.customer_protocol import CUSTOMER, ERASE_IF_DUE
from actors.invoker import ActorInvoker, InvalidActorAddress, SidecarUnavailable
from actors.protocol import Refused
from domain.commands import EraseIfDue
from domain.errors import Refusal
from observability.logging import get_logger
from observability.metrics import process_exited
from readmodel.pool import open_pool
from readmodel.projector import Projector
from service.publisher import Publisher
from service.settings import Settings
from service.sidecar import make_sidecar_session
from worker.deliveries import Deliveries
from worker.heartbeat import Heartbeat
from worker.pacing import repeat
from worker.reconciler import Reconciler
from worker.segments import SegmentWork
from worker.status import StatusReport
from worker.streaming import Handler, TopicStream

log = get_logger(__name__)

SEGMENTS_CHANGED = "customer.segments.changed"
# How often expired sessions, refresh tokens and throttle counters are deleted.
JANITOR_SECONDS = 60.0


async def run(settings: Settings, stop: asyncio.Event) -> None:
    sidecar = make_sidecar_session(settings)
    pool = await open_pool(settings.database_url, settings.database_pool_size, 10)
    try:
        await _run(settings, stop, sidecar, pool)
    finally:
        await pool.close()
        await sidecar.close()
        process_exited()


async def _run(
    settings: Settings, stop: asyncio.Event, sidecar: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    event_keys = settings.mac_keyring("event")
    publisher = Publisher(sidecar, settings.pubsub, event_keys, settings.app_id)

    async def announce(
        customer_id: str, version: int, added: list[str], removed: list[str]
    ) -> None:
        await publisher.publish(
            settings.events_topic,
            SEGMENTS_CHANGED,
            customer_id,
            {"customer_id": customer_id, "version": version, "added": added, "removed": removed},
        )

    projector = Projector(pool, event_keys, announce)
    customers = ActorClient(ActorInvoker(sidecar, settings.mac_keyring("command")), CUSTOMER)
    deliveries = Deliveries(projector, customers, publisher, settings.dead_letter_topic)
    heartbeat = Heartbeat(
        publisher, settings.heartbeat_topic, settings.replica_id, settings.heartbeat_seconds
    )
    token = settings.dapr_api_token.get_secret_value() if settings.dapr_api_token else None

    def stream(pubsub: str, topic: str, handler: Handler) -> TopicStream:
        address = settings.sidecar_grpc_address
        return TopicStream(address, token, pubsub, topic, handler, settings.worker_concurrency)

    streams = [
        stream(settings.pubsub, settings.events_topic, deliveries.customer_event),
        stream(settings.order_pubsub, settings.order_events_topic, deliveries.order_event),
        stream(settings.pubsub, settings.heartbeat_topic, heartbeat.on_delivery),
    ]
    reconciler = Reconciler(
        pool,
        projector,
        publisher,
        settings.events_topic,
        settings.reconcile_batch,
        settings.reconcile_pause_seconds,
        timedelta(seconds=settings.reconcile_grace_seconds),
        erase=lambda customer_id: erase_if_due(customers, customer_id),
        retention=timedelta(days=settings.deleted_retention_days),
        erasure_lag=timedelta(seconds=settings.erasure_sweep_lag_seconds),
    )
    status = StatusReport(
        pool,
        settings.replica_id,
        heartbeat,
        streams,
        reconciler,
        projector.lags.value,
        settings.outbox_marker_max_age_seconds,
        settings.status_seconds,
    )
    segments = SegmentWork(pool, publisher, settings.events_topic)

    async def sweep() -> None:
        await janitor.sweep(pool)

    parts = [
        *(s.run(stop) for s in streams),
        heartbeat.run(stop),
        reconciler.run(stop),
        status.run(stop),
        segments.run(stop),
        repeat(stop, JANITOR_SECONDS, sweep, "sign-in state cleanup failed"),
    ]
    log.info("customer-service worker ready", replica=settings.replica_id)
    await asyncio.gather(*parts)


async def erase_if_due(customers: ActorClient[Refusal], customer_id: str) -> None:
    """The sweep found an erasure due: the customer's actor decides and erases."""
    try:
        reply = await customers.call(customer_id, ERASE_IF_DUE, EraseIfDue())
    except (SidecarUnavailable, InvalidActorAddress) as exc:
        log.warning("a due erasure waits for the next sweep", error=type(exc).__name__)
        return
    if isinstance(reply, Refused):
        log.warning("a due erasure was refused", customer_id=customer_id, code=str(reply.code))
    elif reply.committed:
        log.info("a due erasure was made by the sweep", customer_id=customer_id)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
