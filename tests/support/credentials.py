"""The secrets the test stack runs with, and what a test makes with them.

test_observability checks that no log line carries any of them. Postgres
trusts loopback, so the database password is never checked.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from security import command_signature
from security.access_tokens import Session, TokenIssuer
from security.keyring import Keyring
from security.macs import MacKeyring


def _ring(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


JWT_SECRET = "jwt-" + secrets.token_hex(24)
DATABASE_PASSWORD = "pg-" + secrets.token_hex(12)
# As in production: the sidecar's API and the app's actor routes both need a token.
APP_API_TOKEN = "app-" + secrets.token_hex(16)
DAPR_API_TOKEN = "dapr-" + secrets.token_hex(16)
TOTP_KEY = secrets.token_bytes(32)
NOTIFICATION_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
NOTIFICATION_KEYS = Keyring.parse(f"n1:{NOTIFICATION_KEY}")
COMMAND_KEYRING = _ring("c1")
EVENT_KEYRING = _ring("e1")
COMMAND_KEYS = MacKeyring.parse(COMMAND_KEYRING)
EVENT_KEYS = MacKeyring.parse(EVENT_KEYRING)
ISSUER = TokenIssuer(
    secret=JWT_SECRET, issuer="customer-service", audience="shop", lifetime=timedelta(minutes=15)
)
# The Dapr app ids the test stack lets call through service invocation.
SERVICE_CALLERS = "api-gateway=forward,order-service=read,crm=admin"


def admin_token() -> str:
    return ISSUER.issue("ops@example.com", ["admin"], datetime.now(UTC))


def customer_token(customer_id: str, epoch: int = 0) -> str:
    """As a login issues one, of a session of its own (never stored, so no
    logout or revocation can reach it; a change that ends every session can)."""
    session = Session(str(uuid.uuid4()), epoch)
    return ISSUER.issue(customer_id, ["customer"], datetime.now(UTC), session)


def signed_actor_call(
    actor_type: str, actor_id: str, method: str, payload: Any = None
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of an actor call as this service makes it."""
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    signature = command_signature.sign(
        COMMAND_KEYS, actor_type, actor_id, method, body, time.time()
    )
    headers = {"content-type": "application/json", command_signature.HEADER: signature}
    return body, headers


async def call_actor(
    sidecar: httpx.AsyncClient, actor_type: str, actor_id: str, method: str, payload: Any = None
) -> httpx.Response:
    """A signed call through the sidecar's actor API (what the routes do)."""
    body, headers = signed_actor_call(actor_type, actor_id, method, payload)
    return await sidecar.post(
        f"/v1.0/actors/{actor_type}/{actor_id}/method/{method}", content=body, headers=headers
    )
