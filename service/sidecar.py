"""The app's one pooled HTTP session to its Dapr sidecar."""

from __future__ import annotations

import aiohttp

from service.settings import Settings


def make_sidecar_session(settings: Settings) -> aiohttp.ClientSession:
    """Call inside the running event loop (the app's lifespan)."""
    headers = {}
    if settings.dapr_api_token is not None:
        headers["dapr-api-token"] = settings.dapr_api_token.get_secret_value()
    return aiohttp.ClientSession(
        base_url=settings.sidecar_url,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=settings.dapr_timeout_seconds),
        connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=30),
        raise_for_status=False,
    )
