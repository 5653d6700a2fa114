"""The baseline: a bare ASGI app doing one Postgres point read per request.

``python -m bench.baseline_app <port> <dsn>``. No framework, no sidecar, no
auth: what this machine gives a Python process that reads one row, to compare
the service's reads with.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import asyncpg
import uvicorn

_pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(sys.argv[2], min_size=4, max_size=16)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _pool is not None:
                    await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert _pool is not None
    key = scope["path"].rsplit("/", 1)[-1]
    row = await _pool.fetchrow("SELECT key, value FROM dapr_state WHERE key = $1", key)
    body = json.dumps({"found": row is not None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
