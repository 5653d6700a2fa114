"""The baseline: a bare ASGI app doing one Postgres point read per request.

``python -m bench.baseline_app <port> <dsn> <processes>``. No framework, no
sidecar, no auth: what this machine gives Python processes that read one row,
to compare the service's reads with. It runs as many processes as the service
(``HTTP_WORKERS``) and pools its connections as the service does (no reset
query on release): the service's figure is compared with the best this
machine does, not with a handicapped one.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import asyncpg
import uvicorn

from readmodel.pool import keep_session

_pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(
                    os.environ["BASELINE_DSN"], min_size=4, max_size=16, reset=keep_session
                )
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
    os.environ["BASELINE_DSN"] = sys.argv[2]
    uvicorn.run(
        "bench.baseline_app:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        workers=int(sys.argv[3]),
        log_level="warning",
        access_log=False,
    )
