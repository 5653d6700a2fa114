"""What every call to the sidecar's HTTP API shares."""

from __future__ import annotations

import asyncio

import aiohttp

JSON_HEADERS = {"content-type": "application/json"}
# A call that raised one of these may or may not have reached the sidecar.
TRANSPORT_FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)
