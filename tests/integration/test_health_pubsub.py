"""Health's ``pubsub`` check is a real publish: with Redis gone it says so.

The worker publishes a heartbeat through the sidecar to ``customer-pubsub``
every CUSTOMER_HEARTBEAT_SECONDS; the check reports the last attempt's failure.
A stack of its own: Redis is stopped here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import App, Infrastructure
from tests.support.polling import eventually
from tests.support.stacks import own_stack

HEALTH = "/api/v1/customers/health"


@pytest.fixture(scope="module")
def pubsub_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Infrastructure, App]]:
    with own_stack(Path(tmp_path_factory.mktemp("pubsub"))) as stack:
        yield stack


async def test_pubsub_is_down_when_redis_is(pubsub_stack: tuple[Infrastructure, App]) -> None:
    infra, app = pubsub_stack
    async with httpx.AsyncClient(base_url=app.app_url, timeout=30) as client:

        async def checks(status: str) -> dict[str, Any] | None:
            found: dict[str, Any] = (await client.get(HEALTH)).json()["checks"]
            pubsub = found.get("pubsub")
            return found if pubsub is not None and pubsub["status"] == status else None

        await eventually(lambda: checks("up"), within=30, what="pubsub up")
        [redis] = [p for p in infra.processes if "redis" in p.name]
        redis.stop()
        down = await eventually(lambda: checks("down"), within=60, what="pubsub down")
        assert down["pubsub"]["detail"].startswith("publishing failed")
        assert (await client.get(HEALTH)).status_code == 503
        assert down["postgres"] == {"status": "up"}
